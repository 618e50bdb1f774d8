#pragma once
// Periodic database upkeep the daemon runs from its loop (and operators once with
// `vidq db checkpoint` / `vidq db prune`): WAL checkpoints and the [retention] rules.
// Every call is short and bounded, so the daemon's event loop is never held for long:
// call them between other work, never from inside a transaction.

#include "vidq/core/clock.hpp"
#include "vidq/core/error.hpp"
#include "vidq/ops/config.hpp"

#include <cstdint>
#include <span>

namespace vidq::store {

class database;

enum class checkpoint_mode {
  // Copies what it can without waiting for anyone and never calls the busy handler: the
  // daemon's periodic choice (a reader holding an old snapshot only delays the copy).
  passive,
  // Waits (up to busy_timeout) for readers and the writer, copies everything and truncates
  // the -wal file to zero bytes: for operators, e.g. after a bulk import grew the WAL.
  truncate,
};

struct checkpoint_outcome {
  int wal_frames = 0;           // frames (pages) in the WAL when the checkpoint ran
  int checkpointed_frames = 0;  // of which are now copied back into the database file
  // Readers or a writer kept it from completing (truncate: after busy_timeout; passive:
  // another checkpoint was running). Not an error: the next call continues.
  bool busy = false;
};

// sqlite3_wal_checkpoint_v2 in `mode` on the "main" database. A database that is not in
// WAL mode (":memory:") reports zero frames. Errors: errc::database_error.
result<checkpoint_outcome> checkpoint(database& db, checkpoint_mode mode = checkpoint_mode::passive);

struct retention_outcome {
  std::int64_t jobs_deleted = 0;
  std::int64_t events_deleted = 0;  // of deleted jobs and by age together
  bool more = false;                // a limit was reached: call again (next loop turn)
};

// Applies `rules` once, in one BEGIN IMMEDIATE transaction of bounded size:
// - finished_jobs: at most `max_rows` succeeded/failed/cancelled jobs with finished_at
//   before now - finished_jobs, oldest first, each with its job_events (deleted explicitly,
//   so the result does not depend on PRAGMA foreign_keys);
// - events: job_events rows older than now - events, looking at no more than `max_rows`
//   of the oldest rows (ids grow with time, so the old ones are a prefix).
// Both lookups are index-backed (jobs_finished, the job_events rowid), so a call costs
// O(max_rows log n) whatever the table sizes. Rules that are nullopt do nothing.
// Errors: errc::database_busy (another writer past busy_timeout), errc::database_error;
// nothing is deleted then.
result<retention_outcome> apply_retention(database& db, const ops::retention_config& rules, millis now,
                                          int max_rows = 500);

// Deletes the oldest duration_samples (migration 0007) beyond the newest `keep`, at most
// `max_rows` per call (one short statement on the rowid). The daemon learns from the newest
// few hundred per kind of job; keeping more only grows the file. Returns the rows deleted.
// Errors: errc::database_busy, errc::database_error.
result<std::int64_t> trim_duration_samples(database& db, std::int64_t keep = 20'000, int max_rows = 500);

// The two lookups of apply_retention (?1 = cutoff, ?2 = max_rows), for query-plan tests.
struct housekeeping_query {
  const char* name;
  const char* sql;
};
std::span<const housekeeping_query> retention_queries();

}  // namespace vidq::store
