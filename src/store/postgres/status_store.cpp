#include "vidq/store/postgres/status_store.hpp"

#include "vidq/store/postgres/operator_queries.hpp"

// GCC 12: every co_await below takes named locals or args(...) (connection.hpp).
namespace vidq::store::pg {

namespace {

using boost::asio::awaitable;

// min(id) over the jobs_queued partial index (id is one of its columns). The OFFSET 0 keeps
// the planner from rewriting min(id) into a walk of the primary key from the lowest id,
// which would pass over every finished row before the first queued one.
constexpr const char* gauge_sql =
    "SELECT (SELECT created_at FROM jobs WHERE id = "
    "          (SELECT min(id) FROM (SELECT id FROM jobs WHERE state = 'queued' OFFSET 0) AS queued)), "
    "       (SELECT count(*) FROM notice_deliveries WHERE delivered_at IS NULL AND gave_up_at IS NULL), "
    "       (SELECT count(*) FROM notice_deliveries WHERE gave_up_at IS NOT NULL)";

// jobs_finished holds every finished row: `finished_at >= $1` implies its predicate.
constexpr const char* timeline_sql =
    "SELECT finished_at / 60000 * 60000, state, count(*) FROM jobs "
    "WHERE finished_at >= $1 AND finished_at < $2 GROUP BY 1, 2";

// recent_failures' order (finished_at DESC, rows without one last, as SQLite sorts NULL),
// in two index ranges of jobs_failed: a backward scan yields NULLs first, so the rows with a
// finished_at and those without are read separately and put in order among 2 × limit rows.
constexpr const char* failures_sql =
    "SELECT id, key, batch, model, error_code, error_message, failed_at FROM ("
    " (SELECT id, key, batch, model, coalesce(error_code, '') AS error_code,"
    "   coalesce(error_message, '') AS error_message, coalesce(vidq_datetime(finished_at), '') AS failed_at,"
    "   0 AS undated, finished_at"
    "  FROM jobs WHERE state = 'failed' AND finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT $1)"
    " UNION ALL"
    " (SELECT id, key, batch, model, coalesce(error_code, ''), coalesce(error_message, ''),"
    "   coalesce(vidq_datetime(updated_at), ''), 1, NULL"
    "  FROM jobs WHERE state = 'failed' AND finished_at IS NULL ORDER BY id DESC LIMIT $1)"
    ") AS failed ORDER BY undated, finished_at DESC LIMIT $1";

// The planner chooses by the batch's size: the (batch, 'succeeded') range of
// jobs_batch_progress (`state <> 'queued'` is its predicate) for a small batch, a backward
// walk of the primary key that stops at `limit` rows for one holding much of the table.
constexpr const char* gallery_of_batch_sql =
    "SELECT id, key, batch, coalesce(prompt, ''), (cover_path IS NOT NULL)::int, finished_at FROM jobs "
    "WHERE batch = $1 AND state = 'succeeded' AND state <> 'queued' ORDER BY id DESC LIMIT $2";

// The newest 2,000 finished rows (a backward walk of jobs_finished), filtered: bounded
// whatever the table holds.
constexpr const char* gallery_sql =
    "SELECT id, key, batch, coalesce(prompt, ''), (cover_path IS NOT NULL)::int, finished_at FROM "
    "(SELECT id, key, batch, prompt, cover_path, finished_at, state FROM jobs WHERE finished_at IS NOT NULL "
    " ORDER BY finished_at DESC LIMIT 2000) AS newest "
    "WHERE state = 'succeeded' ORDER BY finished_at DESC LIMIT $1";

}  // namespace

awaitable<result<pool::lease>> postgres_status_store::borrow() {
  auto c = co_await db_.acquire();
  if (!c) last_failure_ = db_.last_failure();
  co_return c;
}

void postgres_status_store::note_failure(connection& c) {
  last_failure_ = c.last_failure();
}

// One query function of operator_queries.hpp (or a lambda of this file) on a borrowed
// connection, given back on return.
template <class T, class Query>
awaitable<result<T>> postgres_status_store::on_connection(Query query) {
  auto c = co_await borrow();
  if (!c) co_return failed_with<T>(c.error());
  auto r = co_await query(**c);
  if (!r) note_failure(**c);
  co_return r;
}

status_store::task<std::vector<job_row>> postgres_status_store::list(const list_filter& filter) {
  const auto query = [&](connection& c) { return list_jobs(c, filter); };
  co_return co_await on_connection<std::vector<job_row>>(query);
}

status_store::task<std::optional<job_row>> postgres_status_store::get(std::int64_t id) {
  const auto query = [&](connection& c) { return get_job(c, id); };
  co_return co_await on_connection<std::optional<job_row>>(query);
}

status_store::task<std::vector<job_event>> postgres_status_store::events(std::int64_t job_id) {
  const auto query = [&](connection& c) { return job_events(c, job_id); };
  co_return co_await on_connection<std::vector<job_event>>(query);
}

status_store::task<inserted_job> postgres_status_store::insert(const new_job& job) {
  auto c = co_await borrow();
  if (!c) co_return c.error();
  connection& conn = **c;
  std::int64_t id = 0;
  auto outcome = co_await insert_job(conn, job, clock_.now(), &id);
  if (!outcome) {
    note_failure(conn);
    co_return outcome.error();
  }
  inserted_job out;
  out.outcome = *outcome;
  if (*outcome == insert_outcome::inserted) {
    out.id = id;
    co_return out;
  }
  // Only a keyed job can be a duplicate: the unique index on key names the existing row.
  const std::string key = job.key.value_or("");
  auto existing = co_await get_job_by_key(conn, key);
  if (!existing) {
    note_failure(conn);
    co_return existing.error();
  }
  if (*existing) out.id = (*existing)->id;
  co_return out;
}

status_store::task<int> postgres_status_store::cancel(const job_selector& which, std::vector<transition_miss>* missed) {
  const millis now = clock_.now();
  std::vector<transition_miss> left;
  std::vector<transition_miss>* collect = missed ? &left : nullptr;
  auto changed = co_await db_.transaction<int>([&](connection& c) -> awaitable<result<int>> {
    left.clear();  // a retried attempt reports only what it saw
    co_return co_await cancel_jobs(c, now, which, collect);
  });
  if (!changed) {
    last_failure_ = db_.last_failure();
    co_return changed;
  }
  if (missed) missed->insert(missed->end(), left.begin(), left.end());
  co_return changed;
}

status_store::task<int> postgres_status_store::retry(const job_selector& which, std::vector<transition_miss>* missed) {
  const millis now = clock_.now();
  std::vector<transition_miss> left;
  auto changed = co_await db_.transaction<int>([&](connection& c) -> awaitable<result<int>> {
    left.clear();
    co_return co_await retry_jobs(c, now, which, &left, retry_mode::plain);
  });
  if (!changed) {
    last_failure_ = db_.last_failure();
    co_return changed;
  }
  if (missed) missed->insert(missed->end(), left.begin(), left.end());
  co_return changed;
}

status_store::task<std::vector<batch_summary>> postgres_status_store::batch_summaries() {
  const auto query = [](connection& c) { return pg::batch_summaries(c); };
  co_return co_await on_connection<std::vector<batch_summary>>(query);
}

status_store::task<std::vector<manifest_row>> postgres_status_store::manifest(const manifest_filter& filter) {
  const auto query = [&](connection& c) { return pg::manifest(c, filter); };
  co_return co_await on_connection<std::vector<manifest_row>>(query);
}

status_store::task<status_gauges> postgres_status_store::gauges(millis day_start) {
  auto c = co_await borrow();
  if (!c) co_return c.error();
  connection& conn = **c;
  status_gauges g;
  auto total = co_await spent_since(conn, 0);
  if (!total) {
    note_failure(conn);
    co_return total.error();
  }
  g.spend_total = *total;
  auto today = co_await spent_since(conn, day_start);
  if (!today) {
    note_failure(conn);
    co_return today.error();
  }
  g.spend_today = *today;
  auto r = co_await conn.query(gauge_sql);
  if (!r) {
    note_failure(conn);
    co_return r.error();
  }
  g.oldest_queued_created_at = r->opt_int64(0, 0);
  g.notices_pending = r->int64(0, 1);
  g.notices_failed = r->int64(0, 2);
  co_return g;
}

status_store::task<std::vector<finished_count>> postgres_status_store::finished_per_minute(millis since, millis until) {
  const auto query = [&](connection& c) { return c.query(timeline_sql, args(number(since), number(until))); };
  auto r = co_await on_connection<rows>(query);
  if (!r) co_return r.error();
  std::vector<finished_count> out;
  for (int i = 0; i < r->size(); ++i) {
    out.push_back({r->int64(i, 0), std::string(r->text(i, 1)), r->int64(i, 2)});
  }
  co_return out;
}

status_store::task<std::vector<failure_row>> postgres_status_store::failures(int limit) {
  const auto query = [&](connection& c) { return c.query(failures_sql, args(number(limit))); };
  auto r = co_await on_connection<rows>(query);
  if (!r) co_return r.error();
  std::vector<failure_row> out;
  for (int i = 0; i < r->size(); ++i) {
    out.push_back({r->int64(i, 0), r->opt_text(i, 1), std::string(r->text(i, 2)), std::string(r->text(i, 3)),
                   std::string(r->text(i, 4)), std::string(r->text(i, 5)), std::string(r->text(i, 6))});
  }
  co_return out;
}

status_store::task<std::vector<gallery_item>> postgres_status_store::gallery(const std::optional<std::string>& batch,
                                                                             int limit) {
  const auto query = [&](connection& c) {
    if (batch) return c.query(gallery_of_batch_sql, args(text(*batch), number(limit)));
    return c.query(gallery_sql, args(number(limit)));
  };
  auto r = co_await on_connection<rows>(query);
  if (!r) co_return r.error();
  std::vector<gallery_item> out;
  for (int i = 0; i < r->size(); ++i) {
    out.push_back({r->int64(i, 0), r->opt_text(i, 1), std::string(r->text(i, 2)), std::string(r->text(i, 3)),
                   r->int64(i, 4) != 0, r->opt_int64(i, 5)});
  }
  co_return out;
}

status_store::task<void> postgres_status_store::ping() {
  const auto query = [](connection& c) { return c.query("SELECT 1"); };
  auto r = co_await on_connection<rows>(query);
  if (!r) co_return r.error();
  co_return result<void>{};
}

}  // namespace vidq::store::pg
