#pragma once
// The operator's queries on PostgreSQL (what operator_store.hpp and the status server read
// and change), as coroutines over a connection the caller holds: postgres_operator_store
// runs them to completion for the `vidq` commands, and pg::postgres_status_store runs them
// on a connection borrowed from the daemon's pool, without blocking the loop. One copy of
// each statement for both.
//
// The SQL is job_store's, with the PostgreSQL-only columns kept right: an operator's cancel
// takes the row from its owner (owner NULL, epoch + 1), so the daemon that held it cannot
// write it back; a requeue leaves it ownerless for the next claim.
//
// Errors: errc::database_error, database_busy (serialization failure or deadlock: run the
// transaction again), database_lost (the connection broke; it is unusable afterwards).
// Cancellation: a cancelled call breaks the connection (connection.hpp) and returns
// database_lost. Reference parameters must outlive the co_await.

#include "vidq/store/operator_store.hpp"
#include "vidq/store/postgres/connection.hpp"

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace vidq::store::pg {

template <class T>
using query_task = boost::asio::awaitable<result<T>>;

// ---- Jobs ----
// One row, committed by itself unless the caller opened a transaction.
query_task<insert_outcome> insert_job(connection& c, const new_job& job, millis now, std::int64_t* id);
// Many rows per statement; the caller opens the transaction around it.
query_task<insert_counts> insert_jobs(connection& c, std::span<const new_job> jobs, millis now);
query_task<std::optional<job_row>> get_job(connection& c, std::int64_t id);
query_task<std::optional<job_row>> get_job_by_key(connection& c, std::string_view key);
query_task<std::vector<job_event>> job_events(connection& c, std::int64_t job_id);
query_task<std::vector<job_row>> list_jobs(connection& c, const list_filter& filter);
// Per batch in bytewise order (SQLite's), whatever the database's collation.
query_task<std::vector<batch_summary>> batch_summaries(connection& c);
// job_store::cancel / retry, inside a transaction the caller opened (both read and then
// write; the caller retries the whole transaction on database_busy). Ids of `which.ids`
// left alone are appended to `missed` (when given): clear it before a retried attempt.
query_task<int> cancel_jobs(connection& c, millis now, const job_selector& which, std::vector<transition_miss>* missed);
query_task<int> retry_jobs(connection& c, millis now, const job_selector& which, std::vector<transition_miss>* missed,
                           retry_mode mode);

// ---- Account pauses ----
query_task<void> pause_account(connection& c, std::string_view account, std::string_view reason,
                               std::optional<millis> until, paused_by by, millis now);
// false: the account was not paused.
query_task<bool> resume_account(connection& c, std::string_view account);
query_task<std::vector<account_pause_row>> account_pauses(connection& c);

// ---- Ledger and slots ----
query_task<std::vector<charge_row>> charges_of(connection& c, std::int64_t job_id);
// Net milli-CNY charged at or after `since` (the charges_at range).
query_task<std::int64_t> spent_since(connection& c, millis since);
query_task<std::vector<inflight_count>> inflight_counts(connection& c);

// ---- Results and notices ----
query_task<std::vector<manifest_row>> manifest(connection& c, const manifest_filter& filter);
query_task<std::vector<delivery_row>> deliveries(connection& c, std::optional<delivery_status> only, int limit);

}  // namespace vidq::store::pg
