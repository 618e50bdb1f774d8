#pragma once
// The daemon's hot queries: find queued work, claim it, count slots, find due polls.
// Each one is O(log n) at a million rows thanks to the partial indexes of
// migrations/0001_init.sql; tests/unit/store_query_plan_test.cpp proves it with EXPLAIN
// QUERY PLAN on exactly the SQL below (hot_queries()).

#include "vidq/core/clock.hpp"
#include "vidq/core/error.hpp"
#include "vidq/core/job_state.hpp"
#include "vidq/store/charge_store.hpp"
#include "vidq/store/job_row.hpp"

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vidq::store {

class database;

// A run of queued jobs that the scheduler serves as one FIFO: same account, model,
// priority and batch. Fairness across batches is the scheduler's business.
struct queue_group {
  std::string account;
  std::string model;
  std::int64_t priority = 0;
  std::string batch;
  bool operator==(const queue_group&) const = default;
};

struct inflight_count {
  std::string account;
  std::string model;
  std::int64_t count = 0;
};

struct named_query {
  const char* name;
  const char* sql;
};

class dispatch_store {
 public:
  dispatch_store(database& db, const clock& clk) : db_(db), clock_(clk) {}

  // Every group that has queued rows (whether or not their not_before has passed), in
  // (account, model, priority, batch) order. One to four index seeks per group, whatever
  // the number of rows in each (tests/unit/store_query_plan_test.cpp counts them).
  result<std::vector<queue_group>> queued_groups();

  // queued → submitting for up to `limit` runnable rows (not_before <= now) of `group`,
  // oldest first, in one BEGIN IMMEDIATE transaction that commits before returning. Each
  // claimed row gets attempts + 1 and a fresh unique request_id. Returns the claimed rows.
  result<std::vector<job_row>> claim(const queue_group& group, int limit);
  // The same for a pool group: the claimed rows get `serving_account` in `account` and keep
  // what they asked for in `requested_account` (restored whenever they return to queued).
  result<std::vector<job_row>> claim(const queue_group& group, int limit, std::string_view serving_account);

  // Jobs holding a provider slot (submitting + processing) per (account, model).
  result<std::vector<inflight_count>> inflight_counts();

  // processing rows whose next_poll_at has come, earliest first.
  result<std::vector<job_row>> due_polls(int limit);
  // The earliest next_poll_at of any processing row, for the scheduler's sleep.
  result<std::optional<millis>> next_poll_time();

  // Rows left in submitting or downloading, for restart recovery.
  result<std::vector<job_row>> transient_rows();

  // The newest `limit` duration samples (migration 0007), newest first: what rebuilds the
  // learned run times at start.
  struct duration_sample {
    std::string model;
    std::string params;
    millis at_least = 0;
    std::optional<millis> at_most;  // nullopt: still running then
  };
  result<std::vector<duration_sample>> recent_duration_samples(int limit);

  // The SQL of the queries above, for EXPLAIN QUERY PLAN tests.
  static std::span<const named_query> hot_queries();

  // ---- Recording progress (dispatch_record.cpp) ----
  // Each call is one short transaction that changes a row only if it is still in the state
  // (and, for submits, the attempt) the caller saw; the result says whether it applied.
  // `false` means somebody else moved the job meanwhile (an operator's cancel): the caller
  // drops its copy. Errors: database_error / database_busy. Each state change leaves its
  // job_events row through the trigger, in the same transaction.

  // submitting → processing: the provider accepted `request_id` as `task_id`. Must commit
  // before the first poll (DESIGN.md §2, write-ahead submit). The task's charge (`cost`,
  // milli-CNY, at the job's attempt, account, model and batch) goes into the ledger in the
  // same transaction, even when the row moved meanwhile (an operator's cancel): the provider
  // created, and billed, the task either way. jobs.cost keeps this latest attempt's price.
  result<bool> record_accepted(const job_row& row, std::string_view request_id, std::string_view task_id,
                               millis next_poll_at, std::int64_t cost);
  // submitting → failed for a submit that may have created a task vidq cannot name: no answer
  // (`origin` ambiguous) or the provider's "this request_id already has a task" (duplicate).
  // The attempt is charged `price` in the same transaction, so budgets and reports count it;
  // an operator who finds no such task in the console deletes that charge (docs/DATA.md).
  result<bool> record_failed_charged(const job_row& row, charge_origin origin, std::string_view error_code,
                                     std::string_view error_message, std::int64_t price);
  // submitting → queued, to be submitted again at `not_before`. `refund_attempt` for
  // rejections that say nothing about the job (1302: the account was full).
  result<bool> record_requeued(std::int64_t id, std::string_view request_id, millis not_before,
                               std::string_view error_code, std::string_view error_message, bool refund_attempt);
  // processing: one more unfinished poll, next one at `next_poll_at`. `saw_running`: the
  // provider answered PROCESSING (seen_running_at = now, the lower end of the run time the
  // duration samples keep); false for a poll that learned nothing (network error, pause).
  result<bool> record_polled(std::int64_t id, millis next_poll_at, bool saw_running = true);
  // processing → downloading: the task finished; its result URLs.
  result<bool> record_remote_success(std::int64_t id, std::string_view video_url, std::string_view cover_url);
  // downloading → processing: the URLs expired; poll again now for fresh ones.
  result<bool> record_urls_expired(std::int64_t id);
  // downloading → processing after a download failed for a local or transient cause
  // (engine/refetch.hpp): the stored task is polled again now for fresh URLs, never
  // submitted again; refetches + 1; the failure stays in error_code/error_message.
  result<bool> record_refetch(std::int64_t id, std::string_view error_code, std::string_view error_message);
  struct download_outcome {
    std::string video_path;
    std::int64_t video_bytes = 0;
    std::string video_sha256;
    std::string cover_path;  // empty: no cover (best effort)
    std::int64_t cost = 0;   // milli-CNY
  };
  // downloading → succeeded with the files on disk.
  result<bool> record_succeeded(std::int64_t id, const download_outcome& outcome);
  // `from` → failed (terminal until an operator retries).
  result<bool> record_failed(std::int64_t id, job_state from, std::string_view error_code,
                             std::string_view error_message);

 private:
  result<std::optional<queue_group>> next_group(const std::optional<queue_group>& after);
  result<std::vector<job_row>> rows(const char* sql, int limit);
  // Binds `bind` on the cached `sql`, runs it, and reports whether one row changed.
  template <class Bind>
  result<bool> change_one(const char* sql, Bind&& bind);

  database& db_;
  const clock& clock_;
};

}  // namespace vidq::store
