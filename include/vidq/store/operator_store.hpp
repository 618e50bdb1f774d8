#pragma once
// What the `vidq` commands read and change, on either backend (issue 14 item 1): jobs
// (insert, read, cancel, retry), account pauses, one job's ledger, the slots in use per lane
// and the spend. sqlite_operator_store (store/sqlite_operator_store.hpp) and
// pg::postgres_operator_store (store/postgres/operator_store.hpp) implement it, and
// tests/component/operator_store_contract_test.cpp holds both to the same expectations.
//
// Calls block the calling thread: they serve a command-line process. The daemon's loop
// never uses this interface; it has daemon_store.hpp.
//
// Errors: errc::database_error / database_busy (database_lost on PostgreSQL); last_error()
// says what the database reported, with any password stripped.

#include "vidq/core/clock.hpp"
#include "vidq/core/error.hpp"
#include "vidq/core/retry_decision.hpp"
#include "vidq/store/account_store.hpp"
#include "vidq/store/charge_store.hpp"
#include "vidq/store/dispatch_store.hpp"
#include "vidq/store/job_store.hpp"
#include "vidq/store/notice_store.hpp"
#include "vidq/store/output_store.hpp"

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vidq::store {

struct insert_counts {
  std::size_t inserted = 0;
  std::size_t duplicates = 0;
};

class operator_store {
 public:
  virtual ~operator_store() = default;

  // ---- Jobs (job_store.hpp says what each one does) ----
  // One insert, in its own transaction.
  virtual result<insert_outcome> insert(const new_job& job, std::int64_t* id) = 0;
  // Every job in one transaction (`vidq import` writes a chunk at a time). A key already in
  // the table, or earlier in `jobs`, counts as a duplicate and inserts nothing.
  virtual result<insert_counts> insert_all(std::span<const new_job> jobs) = 0;
  virtual result<std::optional<job_row>> get(std::int64_t id) = 0;
  virtual result<std::optional<job_row>> get_by_key(std::string_view key) = 0;
  virtual result<std::vector<job_event>> events(std::int64_t job_id) = 0;
  virtual result<std::vector<job_row>> list(const list_filter& filter) = 0;
  virtual result<std::vector<batch_summary>> batch_summaries() = 0;
  // Both in one transaction. On PostgreSQL a cancelled row also leaves its owner: the daemon
  // that held it can no longer write it (its guarded writes change nothing).
  virtual result<int> cancel(const job_selector& which, std::vector<transition_miss>* missed) = 0;
  virtual result<int> retry(const job_selector& which, std::vector<transition_miss>* missed, retry_mode mode) = 0;

  // ---- Account pauses (account_store.hpp) ----
  virtual result<void> pause(std::string_view account, std::string_view reason, std::optional<millis> until,
                             paused_by by) = 0;
  virtual result<bool> resume(std::string_view account) = 0;
  virtual result<std::vector<account_pause_row>> pauses() = 0;

  // ---- Ledger and slots ----
  virtual result<std::vector<charge_row>> charges_of(std::int64_t job_id) = 0;
  // Net milli-CNY charged at or after `since`.
  virtual result<std::int64_t> spent_since(millis since) = 0;
  // Jobs holding a provider slot (submitting + processing) per (account, model).
  virtual result<std::vector<inflight_count>> inflight_counts() = 0;

  // ---- Results and notices ----
  // output_store::manifest (`vidq export`).
  virtual result<std::vector<manifest_row>> manifest(const manifest_filter& filter) = 0;
  // notice_store::list (`vidq notify list`): newest notice first.
  virtual result<std::vector<delivery_row>> deliveries(std::optional<delivery_status> only, int limit) = 0;

  // What the database said about the last failure, redacted.
  virtual std::string last_error() const = 0;
};

}  // namespace vidq::store
