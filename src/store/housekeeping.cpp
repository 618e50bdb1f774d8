#include "vidq/store/housekeeping.hpp"

#include "vidq/store/sqlite.hpp"

#include <algorithm>
#include <vector>

namespace vidq::store {
namespace {

// Oldest finished jobs first. INDEXED BY pins the partial index jobs_finished (finished_at
// WHERE finished_at IS NOT NULL): SQLite refuses the statement rather than fall back to a
// scan of a million rows, and `finished_at < ?` implies the index's NOT NULL condition.
constexpr const char* expired_jobs_sql =
    "SELECT id FROM jobs INDEXED BY jobs_finished "
    "WHERE finished_at < ?1 AND state IN ('succeeded', 'failed', 'cancelled') "
    "ORDER BY finished_at LIMIT ?2";

// Events are appended in time order, so the old ones are the lowest ids: look at the
// `?2` oldest rows (a rowid range, O(limit)) and delete those past the cutoff. A bare
// `WHERE at < ?` would scan the whole table whenever nothing is old enough.
constexpr const char* expired_events_sql =
    "DELETE FROM job_events WHERE id IN ("
    "SELECT id FROM (SELECT id, at FROM job_events ORDER BY id LIMIT ?2) WHERE at < ?1)";

result<std::vector<std::int64_t>> expired_jobs(database& db, millis cutoff, int limit) {
  auto stmt = db.cached(expired_jobs_sql);
  if (!stmt) return stmt.error();
  std::vector<std::int64_t> ids;
  (*stmt)->bind(1, cutoff).bind(2, limit);
  auto done = (*stmt)->for_each_row([&](const statement& s) { ids.push_back(s.get_int64(0)); });
  (*stmt)->reset();
  if (!done) return done.error();
  return ids;
}

// Runs a cached single-parameter DELETE; returns the rows it removed.
result<int> delete_by_id(database& db, const char* sql, std::int64_t id) {
  auto stmt = db.cached(sql);
  if (!stmt) return stmt.error();
  (*stmt)->bind(1, id);
  auto ran = (*stmt)->run();
  (*stmt)->reset();
  if (!ran) return ran.error();
  return db.changes();
}

}  // namespace

std::span<const housekeeping_query> retention_queries() {
  static constexpr housekeeping_query all[] = {{"expired_jobs", expired_jobs_sql},
                                               {"expired_events", expired_events_sql}};
  return all;
}

result<checkpoint_outcome> checkpoint(database& db, checkpoint_mode mode) {
  int log_frames = 0;
  int copied = 0;
  const int rc = sqlite3_wal_checkpoint_v2(
      db.handle(), "main", mode == checkpoint_mode::truncate ? SQLITE_CHECKPOINT_TRUNCATE : SQLITE_CHECKPOINT_PASSIVE,
      &log_frames, &copied);
  checkpoint_outcome out;
  if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
    out.busy = true;
  } else if (rc != SQLITE_OK) {
    return db.fail(rc);
  }
  // -1 when the database is not in WAL mode.
  out.wal_frames = std::max(log_frames, 0);
  out.checkpointed_frames = std::max(copied, 0);
  return out;
}

result<retention_outcome> apply_retention(database& db, const ops::retention_config& rules, millis now,
                                          int max_rows) {
  retention_outcome out;
  if ((!rules.finished_jobs && !rules.events) || max_rows <= 0) return out;
  auto tx = transaction::begin(db, transaction::mode::immediate);
  if (!tx) return tx.error();

  if (rules.finished_jobs) {
    auto ids = expired_jobs(db, now - *rules.finished_jobs, max_rows);
    if (!ids) return ids.error();
    for (const std::int64_t id : *ids) {
      auto events = delete_by_id(db, "DELETE FROM job_events WHERE job_id = ?1", id);
      if (!events) return events.error();
      auto jobs = delete_by_id(db, "DELETE FROM jobs WHERE id = ?1", id);
      if (!jobs) return jobs.error();
      out.events_deleted += *events;
      out.jobs_deleted += *jobs;
    }
    out.more = static_cast<int>(ids->size()) == max_rows;
  }
  if (rules.events) {
    auto stmt = db.cached(expired_events_sql);
    if (!stmt) return stmt.error();
    (*stmt)->bind(1, now - *rules.events).bind(2, max_rows);
    auto ran = (*stmt)->run();
    (*stmt)->reset();
    if (!ran) return ran.error();
    const int deleted = db.changes();
    out.events_deleted += deleted;
    out.more = out.more || deleted == max_rows;
  }
  if (auto c = tx->commit(); !c) return c.error();
  return out;
}

result<std::int64_t> trim_duration_samples(database& db, std::int64_t keep, int max_rows) {
  auto stmt = db.cached(
      "DELETE FROM duration_samples WHERE id IN (SELECT id FROM duration_samples "
      "WHERE id <= (SELECT max(id) FROM duration_samples) - ?1 ORDER BY id LIMIT ?2)");
  if (!stmt) return stmt.error();
  (*stmt)->bind(1, keep).bind(2, max_rows);
  auto ran = (*stmt)->run();
  (*stmt)->reset();
  if (!ran) return ran.error();
  return static_cast<std::int64_t>(db.changes());
}

}  // namespace vidq::store
