#pragma once
// What `vidq retry` does with one job (issue 11 item 3): an operator's retry never pays again
// for a result the provider already produced unless asked to (--resubmit), and --download
// fetches that result again from the stored task instead. Pure; the store applies it per
// row (job_store::retry), the CLI words the refusals.

#include "vidq/core/job_state.hpp"

namespace vidq {

// What the operator asked of `vidq retry`.
enum class retry_mode {
  plain,     // requeue; refuses a job whose provider task succeeded (its result is paid for)
  resubmit,  // requeue whatever the task did: a new task is created and paid for
  download,  // fetch the paid result again from the stored task, never a new submit
};

enum class retry_decision {
  requeue,            // back to queued: a new request_id, a new (paid) task
  refetch,            // to processing: the stored task is polled for fresh URLs
  needs_resubmit,     // left alone: the task succeeded at the provider; say --download / --resubmit
  nothing_to_fetch,   // left alone (--download): no successful provider task is stored
  not_retryable,      // left alone: not failed or cancelled
};

// `has_task`: a provider task id is stored; `task_succeeded`: a poll saw it succeed (the
// row holds its result URL).
retry_decision decide_retry(job_state state, bool has_task, bool task_succeeded, retry_mode mode) noexcept;

}  // namespace vidq
