#include "vidq/core/retry_decision.hpp"

namespace vidq {

retry_decision decide_retry(job_state state, bool has_task, bool task_succeeded, retry_mode mode) noexcept {
  if (state != job_state::failed && state != job_state::cancelled) return retry_decision::not_retryable;
  const bool paid_result = has_task && task_succeeded;
  switch (mode) {
    case retry_mode::plain:
      return paid_result ? retry_decision::needs_resubmit : retry_decision::requeue;
    case retry_mode::resubmit:
      return retry_decision::requeue;
    case retry_mode::download:
      return paid_result ? retry_decision::refetch : retry_decision::nothing_to_fetch;
  }
  return retry_decision::not_retryable;
}

}  // namespace vidq
