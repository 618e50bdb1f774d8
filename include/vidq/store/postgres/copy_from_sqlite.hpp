#pragma once
// `vidq db copy` (issue 14 item 7): moves a SQLite queue into an empty PostgreSQL database,
// rows and ids as they are, in one PostgreSQL transaction, so a failure leaves the target as
// empty as it was. Every table that carries state is copied (jobs, job_events,
// account_pauses, charges, notices, notice_deliveries, duration_samples); the columns are
// read from the SQLite schema, so a column added to both schemas is copied without a change
// here. The PostgreSQL-only columns take their defaults: rows in flight arrive with no
// owner and epoch 0, and the first daemon on PostgreSQL adopts them like a dead peer's.
//
// The caller makes sure nothing writes the source meanwhile (the CLI holds the daemon's
// instance lock); the copy reads it in one read transaction, a consistent snapshot.

#include "vidq/core/error.hpp"
#include "vidq/store/postgres/connection.hpp"
#include "vidq/store/sqlite.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace vidq::store::pg {

struct copied_table {
  std::string name;
  std::int64_t rows = 0;
};

struct copy_summary {
  int source_schema = 0;                    // SQLite user_version
  int target_schema = 0;                    // schema_migrations after the migration
  std::vector<copied_table> tables;         // in the order they were copied
  std::vector<copied_table> jobs_by_state;  // name = state, sorted by state
  std::int64_t charged = 0;                 // sum(charges.price), milli-CNY
  std::int64_t refunded = 0;                // sum(charges.refunded), milli-CNY
  std::int64_t in_flight = 0;               // submitting + processing + downloading rows
  std::chrono::milliseconds elapsed{0};     // from the migration to the COMMIT
};

// After each INSERT statement: the table, its rows copied so far and its rows in the source.
using copy_progress = std::function<void(std::string_view table, std::int64_t done, std::int64_t total)>;

// Migrates `target` (store::pg::migrate), then in one transaction: locks the copied tables
// against writers, checks they are empty, copies every row in key order with multi-row
// INSERTs, moves each identity sequence past the largest copied id, compares per table the
// row count and the sum of the keys, jobs per state and the ledger's sums on both sides, and
// commits only when they all agree. `progress` may be empty.
//
// Errors (with a sentence for the operator in `*why`, passwords never included):
// - errc::schema_too_new: the source or the target was written by a newer vidq;
// - errc::invalid_argument: the source is at an older schema (run `vidq migrate` on it), or
//   the target already holds rows (the copy never merges into a live queue);
// - errc::database_error: SQLite failed, a source column has no counterpart in PostgreSQL,
//   or the verification found a difference (nothing committed);
// - the connection's errors for PostgreSQL failures (details in target.last_failure()).
// On any error the transaction is rolled back and the target keeps no copied row. On
// cancellation the connection is left unusable (its transaction dies with it).
boost::asio::awaitable<result<copy_summary>> copy_from_sqlite(database& source, connection& target,
                                                              copy_progress progress, std::string* why);

}  // namespace vidq::store::pg
