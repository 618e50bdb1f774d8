#pragma once
// The charge ledger (migrations/0005_charge_ledger.sql, docs/DATA.md "charges"): one row per
// provider task that was created, or may have been, and so billed. Rows are written by
// dispatch_store in the transaction that records the task id (or the ambiguous submit);
// everything that reports or limits spend reads it here, never jobs.cost.
// Sums are net of `refunded`. Errors: errc::database_error / database_busy.

#include "vidq/core/clock.hpp"
#include "vidq/core/error.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vidq::store {

class database;

// Why a charge row exists.
enum class charge_origin {
  accepted,   // the provider answered with a task id
  ambiguous,  // the POST may have created a task (no answer): counted until someone settles it
  duplicate,  // the provider said this request_id already created a task (1231), id unknown
};
std::string_view to_string(charge_origin o);

struct new_charge {
  std::int64_t job_id = 0;
  std::int64_t attempt = 0;
  std::string request_id;
  std::optional<std::string> task_id;
  std::string account;
  std::string model;
  std::string batch;
  std::int64_t price = 0;  // milli-CNY
  charge_origin origin = charge_origin::accepted;
  millis at = 0;
};

struct charge_row {
  std::int64_t id = 0;
  std::int64_t job_id = 0;
  std::int64_t attempt = 0;
  std::string request_id;
  std::optional<std::string> task_id;
  std::string account;
  std::string model;
  std::string batch;
  std::int64_t price = 0;
  std::int64_t refunded = 0;
  std::string origin;
  millis at = 0;
};

// Writes `c` on the caller's connection and transaction. A second write for the same
// request_id charges nothing more: it only fills in a task id the first one lacked (an
// ambiguous submit that a resubmit with the same request_id proved).
result<void> record_charge(database& db, const new_charge& c);

class charge_store {
 public:
  explicit charge_store(database& db) : db_(db) {}

  // Net milli-CNY charged at or after `since` (the daily budget, /metrics "today").
  result<std::int64_t> spent_since(millis since);
  // Net milli-CNY charged to `batch` (the batch budget).
  result<std::int64_t> spent_by_batch(std::string_view batch);
  // Net milli-CNY per batch, every batch that has a charge.
  result<std::map<std::string, std::int64_t, std::less<>>> spent_per_batch();
  // Every charge of one job, oldest first (`vidq show`).
  result<std::vector<charge_row>> of_job(std::int64_t job_id);

 private:
  result<std::int64_t> one_sum(const char* sql, const auto& bind);

  database& db_;
};

}  // namespace vidq::store
