#pragma once
// The job life cycle (DESIGN.md §2), stored as TEXT with a CHECK in jobs.state.
//
//  queued ─▶ submitting ─▶ processing ─▶ downloading ─▶ succeeded
//     ▲          │              │               │
//     └─ retry ──┘              └──▶ failed ◀───┘          any non-terminal ─▶ cancelled
//                                    failed / cancelled ──operator retry──▶ queued

#include <optional>
#include <string_view>

namespace vidq {

enum class job_state {
  queued,       // waiting for a slot (and for not_before)
  submitting,   // claimed, request_id committed, POST under way: holds a provider slot
  processing,   // the provider has a task id: holds a slot until our poll sees it finish
  downloading,  // the provider finished; fetching video + cover
  succeeded,    // files on disk, verified
  failed,       // terminal until an operator retries; error_code says why
  cancelled,    // by an operator; terminal until retried
};

inline constexpr job_state all_job_states[] = {
    job_state::queued,    job_state::submitting, job_state::processing, job_state::downloading,
    job_state::succeeded, job_state::failed,     job_state::cancelled};

std::string_view to_string(job_state s) noexcept;
std::optional<job_state> parse_job_state(std::string_view text) noexcept;

bool is_terminal(job_state s) noexcept;
// Whether the job holds a provider concurrency slot in this state.
bool holds_slot(job_state s) noexcept;
// The one place that says which transitions exist.
bool is_legal_transition(job_state from, job_state to) noexcept;

}  // namespace vidq
