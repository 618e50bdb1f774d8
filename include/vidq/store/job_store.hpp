#pragma once
// The jobs table as the CLI, the importer and the status server see it: insert, read,
// and the operator transitions (cancel, retry). The daemon's own queries (claim, in-flight
// counts, poll schedule) are in dispatch_store.hpp.
//
// Every state change goes through an UPDATE of jobs.state, and the jobs_state_history
// trigger writes its job_events row in the same transaction (migrations/0001_init.sql).

#include "vidq/core/clock.hpp"
#include "vidq/core/error.hpp"
#include "vidq/core/retry_decision.hpp"
#include "vidq/provider/job_spec.hpp"
#include "vidq/store/job_row.hpp"

#include <optional>
#include <span>
#include <string>
#include <vector>

namespace vidq::store {

class database;

struct new_job {
  std::optional<std::string> key;  // idempotency key: a second insert with it is a no-op
  std::string batch = "default";
  std::int64_t priority = 0;
  std::string account = "default";
  provider::job_spec spec;
};

enum class insert_outcome { inserted, duplicate_key };

struct list_filter {
  std::optional<job_state> state;
  std::optional<std::string> batch;
  std::optional<std::string> model;
  std::optional<std::string> key;  // at most one row: the unique key index
  int limit = 100;
};

struct batch_summary {
  std::string batch;
  std::int64_t total = 0;
  std::int64_t by_state[std::size(all_job_states)] = {};  // indexed by job_state
  std::int64_t cost = 0;                                   // milli-CNY
  std::int64_t count(job_state s) const { return by_state[static_cast<int>(s)]; }
};

// Which rows an operator command targets: explicit ids, or a whole batch, narrowed by state
// and error code. With neither ids nor batch but a state or code, every matching job.
struct job_selector {
  std::vector<std::int64_t> ids;
  std::optional<std::string> batch;
  std::optional<job_state> state;         // e.g. retry only failed, never cancelled
  std::optional<std::string> error_code;  // e.g. retry only task_failed, never 1301
};

// An id named in a selector that the command left alone, and what it found instead.
struct transition_miss {
  std::int64_t id = 0;
  std::optional<job_state> state;  // nullopt: there is no such job
  std::optional<std::string> error_code;
  // retry: why the job was left alone (needs_resubmit / nothing_to_fetch are reported for
  // batch selections too, since they ask the operator for a decision).
  retry_decision why = retry_decision::not_retryable;
};

class job_store {
 public:
  job_store(database& db, const clock& clk) : db_(db), clock_(clk) {}

  // Inserts one job (no transaction of its own: callers batch inserts in one). The caller
  // validated the spec. Errors: database_error / database_busy.
  result<insert_outcome> insert(const new_job& job, std::int64_t* id = nullptr);

  result<std::optional<job_row>> get(std::int64_t id);
  result<std::optional<job_row>> get_by_key(std::string_view key);
  result<std::vector<job_event>> events(std::int64_t job_id);
  result<std::vector<job_row>> list(const list_filter& filter);
  result<std::vector<batch_summary>> batch_summaries();

  // queued / submitting / processing / downloading → cancelled. Returns the rows changed.
  // A job cancelled while its provider task runs is not stopped remotely (the API has no
  // cancel call); its slot is freed when the daemon next sees the task finish.
  // Ids of `which.ids` left unchanged go to `missed` (when given), read in the same
  // transaction, so the caller can say why.
  result<int> cancel(const job_selector& which, std::vector<transition_miss>* missed = nullptr);
  // failed / cancelled → what decide_retry() says for `mode` (core/retry_decision.hpp):
  // queued with a fresh attempt budget and no task (a new, paid submit), or processing with
  // the stored task polled again now for fresh result URLs (--download: refetches + 1).
  // A plain retry leaves a job whose provider task succeeded alone (`missed`, why =
  // needs_resubmit). Returns the rows changed, in one transaction.
  result<int> retry(const job_selector& which, std::vector<transition_miss>* missed = nullptr,
                    retry_mode mode = retry_mode::plain);

 private:
  result<int> transition(const job_selector& which, const char* set_clause, const char* from_states,
                         std::vector<transition_miss>* missed);

  database& db_;
  const clock& clock_;
};

}  // namespace vidq::store
