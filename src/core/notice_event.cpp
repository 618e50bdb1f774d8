#include "vidq/core/notice_event.hpp"

namespace vidq {

std::string_view to_string(notice_event e) noexcept {
  switch (e) {
    case notice_event::batch_finished:
      return "batch_finished";
    case notice_event::job_succeeded:
      return "job_succeeded";
    case notice_event::job_failed:
      return "job_failed";
    case notice_event::account_paused:
      return "account_paused";
    case notice_event::budget_blocked:
      return "budget_blocked";
  }
  return "batch_finished";
}

std::optional<notice_event> parse_notice_event(std::string_view text) noexcept {
  for (const auto e : all_notice_events) {
    if (to_string(e) == text) return e;
  }
  return std::nullopt;
}

}  // namespace vidq
