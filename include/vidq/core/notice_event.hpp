#pragma once
// What a completion notice is about ([[notify]] events, migrations/0006). Stored as TEXT
// with a CHECK in notices.event; written by triggers (job and batch events, account
// pauses) and by the scheduler (budget blocks).

#include <optional>
#include <string_view>

namespace vidq {

enum class notice_event {
  batch_finished,  // a batch has nothing queued or in flight left (after a job left those states)
  job_succeeded,
  job_failed,
  account_paused,  // a row appeared in account_pauses, or its paused_by changed
  budget_blocked,  // admission stopped on a [budget] limit (when the block starts)
};

inline constexpr notice_event all_notice_events[] = {notice_event::batch_finished, notice_event::job_succeeded,
                                                     notice_event::job_failed, notice_event::account_paused,
                                                     notice_event::budget_blocked};

std::string_view to_string(notice_event e) noexcept;
std::optional<notice_event> parse_notice_event(std::string_view text) noexcept;

}  // namespace vidq
