#include "vidq/core/job_state.hpp"

namespace vidq {

std::string_view to_string(job_state s) noexcept {
  switch (s) {
    case job_state::queued: return "queued";
    case job_state::submitting: return "submitting";
    case job_state::processing: return "processing";
    case job_state::downloading: return "downloading";
    case job_state::succeeded: return "succeeded";
    case job_state::failed: return "failed";
    case job_state::cancelled: return "cancelled";
  }
  return "queued";
}

std::optional<job_state> parse_job_state(std::string_view text) noexcept {
  for (job_state s : all_job_states) {
    if (to_string(s) == text) return s;
  }
  return std::nullopt;
}

bool is_terminal(job_state s) noexcept {
  return s == job_state::succeeded || s == job_state::failed || s == job_state::cancelled;
}

bool holds_slot(job_state s) noexcept {
  return s == job_state::submitting || s == job_state::processing;
}

bool is_legal_transition(job_state from, job_state to) noexcept {
  using enum job_state;
  if (from == to) return false;
  if (to == cancelled) return !is_terminal(from);
  switch (from) {
    case queued: return to == submitting || to == failed;  // failed: invalid row found at claim
    case submitting: return to == processing || to == queued || to == failed;
    // processing → queued: the provider lost the task (e.g. FAIL before start) and policy resubmits.
    case processing: return to == downloading || to == failed || to == queued;
    // downloading → processing: URLs expired, re-poll once for fresh ones.
    case downloading: return to == succeeded || to == failed || to == processing;
    case succeeded: return false;
    case failed:
    case cancelled: return to == queued;
  }
  return false;
}

}  // namespace vidq
