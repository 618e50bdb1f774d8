#pragma once
// What the status server (status/handlers.hpp) reads and changes, on either backend (issue
// 14 item 1). Every call is a coroutine on the daemon's io_context thread:
//   sqlite_status_store        the daemon's SQLite connection; never suspends (each query is
//                              indexed and LIMITed, milliseconds at 1M rows)
//   pg::postgres_status_store  a connection borrowed from the daemon's pool per call;
//                              suspends on the socket, never blocks the loop
// So two requests can interleave at any co_await on PostgreSQL, never on SQLite.
//
// Errors: errc::database_error / database_busy; database_lost on PostgreSQL (no connection
// now: the pool is backing off). last_error() says what the database reported, redacted.
// Cancellation (the server stopping): a PostgreSQL call returns database_lost.
// Reference parameters must outlive the co_await.

#include "vidq/core/clock.hpp"
#include "vidq/core/error.hpp"
#include "vidq/store/job_store.hpp"
#include "vidq/store/output_store.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace vidq::store {

// POST /api/jobs: what the insert did, and the job's id (the existing row's for a
// duplicate key; nullopt if that row was deleted meanwhile).
struct inserted_job {
  insert_outcome outcome = insert_outcome::inserted;
  std::optional<std::int64_t> id;
};

// The /metrics gauges that need more than the per-batch counts.
struct status_gauges {
  std::int64_t spend_total = 0;  // milli-CNY, the whole ledger
  std::int64_t spend_today = 0;  // milli-CNY charged since the given day start
  std::optional<millis> oldest_queued_created_at;
  std::int64_t notices_pending = 0;  // deliveries neither delivered nor given up
  std::int64_t notices_failed = 0;   // deliveries given up
};

// Jobs that finished in one minute in one state (the timeline).
struct finished_count {
  millis minute = 0;  // the minute's start, ms
  std::string state;
  std::int64_t count = 0;
};

struct failure_row {
  std::int64_t id = 0;
  std::optional<std::string> key;
  std::string batch;
  std::string model;
  std::string error_code;
  std::string error_message;
  std::string failed_at;  // "YYYY-MM-DD HH:MM:SS" UTC, as the recent_failures view shows it
};

struct gallery_item {
  std::int64_t id = 0;
  std::optional<std::string> key;
  std::string batch;
  std::string prompt;
  bool has_cover = false;
  std::optional<millis> finished_at;
};

class status_store {
 public:
  template <class T>
  using task = boost::asio::awaitable<result<T>>;

  virtual ~status_store() = default;

  // ---- Jobs (job_store.hpp says what each one does) ----
  virtual task<std::vector<job_row>> list(const list_filter& filter) = 0;
  virtual task<std::optional<job_row>> get(std::int64_t id) = 0;
  virtual task<std::vector<job_event>> events(std::int64_t job_id) = 0;
  // One job, committed on return.
  virtual task<inserted_job> insert(const new_job& job) = 0;
  // Each in one transaction; `missed` as job_store's.
  virtual task<int> cancel(const job_selector& which, std::vector<transition_miss>* missed) = 0;
  virtual task<int> retry(const job_selector& which, std::vector<transition_miss>* missed) = 0;
  virtual task<std::vector<batch_summary>> batch_summaries() = 0;
  virtual task<std::vector<manifest_row>> manifest(const manifest_filter& filter) = 0;

  // ---- Dashboard reads, each pinned to an index and bounded ----
  // Spend (the charges ledger: charges_at), the oldest queued job (jobs_queued), notice
  // deliveries; spend_today counts charges at or after `day_start`.
  virtual task<status_gauges> gauges(millis day_start) = 0;
  // Finished jobs per (minute, state) with since <= finished_at < until (jobs_finished).
  virtual task<std::vector<finished_count>> finished_per_minute(millis since, millis until) = 0;
  // The newest failed jobs first (jobs_failed); those without finished_at last.
  virtual task<std::vector<failure_row>> failures(int limit) = 0;
  // The newest succeeded jobs first: of one batch (jobs_batch_progress, by id), or among
  // the newest 2,000 finished ones (jobs_finished, by finished_at).
  virtual task<std::vector<gallery_item>> gallery(const std::optional<std::string>& batch, int limit) = 0;
  // Whether the database answers (SELECT 1).
  virtual task<void> ping() = 0;

  // What the database said about the last failure, with any password stripped; for the log
  // only (it can name tables, paths or values).
  virtual std::string last_error() const = 0;
};

}  // namespace vidq::store
