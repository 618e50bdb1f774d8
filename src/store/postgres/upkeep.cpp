#include "vidq/store/postgres/upkeep.hpp"

namespace vidq::store::pg {

namespace asio = boost::asio;
using asio::awaitable;

awaitable<result<retention_outcome>> apply_retention(pool& db, const ops::retention_config& rules, millis now,
                                                     int max_rows) {
  retention_outcome out;
  const std::string limit = std::to_string(max_rows);
  if (rules.finished_jobs) {
    const std::string cutoff = std::to_string(now - *rules.finished_jobs);
    auto deleted = co_await db.transaction<retention_outcome>([&](connection& c) -> awaitable<result<retention_outcome>> {
      // The events first and counted, as on SQLite (not left to the cascade, which would
      // hide how many went).
      auto ids = co_await c.query(
          "SELECT coalesce(array_agg(id), '{}') FROM (SELECT id FROM jobs WHERE finished_at < $1"
          " AND state IN ('succeeded', 'failed', 'cancelled') ORDER BY finished_at LIMIT $2 FOR UPDATE SKIP LOCKED) e",
          args(cutoff, limit));
      if (!ids) co_return ids.error();
      const std::string id_list(ids->text(0, 0));
      auto events = co_await c.query("DELETE FROM job_events WHERE job_id = ANY($1::bigint[])", args(id_list));
      if (!events) co_return events.error();
      auto jobs = co_await c.query("DELETE FROM jobs WHERE id = ANY($1::bigint[])", args(id_list));
      if (!jobs) co_return jobs.error();
      retention_outcome step;
      step.jobs_deleted = jobs->affected();
      step.events_deleted = events->affected();
      co_return step;
    });
    if (!deleted) co_return deleted.error();
    out = *deleted;
    out.more = out.jobs_deleted >= max_rows;
  }
  if (rules.events) {
    // Ids grow with time: the old events are a prefix of the id order, looked at `max_rows`
    // at a time, as on SQLite.
    auto r = co_await db.query(
        "WITH oldest AS (SELECT id, at FROM job_events ORDER BY id LIMIT $2),"
        " gone AS (DELETE FROM job_events WHERE id IN (SELECT id FROM oldest WHERE at < $1) RETURNING id)"
        " SELECT count(*) FROM gone",
        args(std::to_string(now - *rules.events), limit));
    if (!r) co_return r.error();
    out.events_deleted += r->int64(0, 0);
    out.more = out.more || r->int64(0, 0) >= max_rows;
  }
  co_return out;
}

awaitable<result<std::int64_t>> trim_duration_samples(pool& db, std::int64_t keep, int max_rows) {
  auto r = co_await db.query(
      "WITH gone AS (DELETE FROM duration_samples WHERE id IN (SELECT id FROM duration_samples"
      " WHERE id <= (SELECT max(id) FROM duration_samples) - $1 ORDER BY id LIMIT $2) RETURNING id)"
      " SELECT count(*) FROM gone",
      args(std::to_string(keep), std::to_string(max_rows)));
  if (!r) co_return r.error();
  co_return r->int64(0, 0);
}

}  // namespace vidq::store::pg
