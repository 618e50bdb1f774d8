#include "vidq/store/sqlite_status_store.hpp"

#include "vidq/store/charge_store.hpp"
#include "vidq/store/notice_store.hpp"

namespace vidq::store {
namespace {

result<status_gauges> read_gauges(database& db, millis day_start) {
  status_gauges g;
  // Spend is the ledger's (every charged task, by the UTC day it was charged), so retried
  // attempts and charges of jobs that retention deleted still count.
  charge_store ledger(db);
  auto total = ledger.spent_since(0);
  if (!total) return total.error();
  g.spend_total = *total;
  auto today = ledger.spent_since(day_start);
  if (!today) return today.error();
  g.spend_today = *today;

  // min(id) reads only the queued partial index (covering); the lowest id is the oldest row.
  auto oldest = db.cached(
      "SELECT created_at FROM jobs WHERE id = "
      "(SELECT min(id) FROM jobs INDEXED BY jobs_queued WHERE state = 'queued')");
  if (!oldest) return oldest.error();
  auto row = (*oldest)->step();
  if (!row) return row.error();
  if (*row) g.oldest_queued_created_at = (*oldest)->get_int64(0);
  (*oldest)->reset();
  auto notices = notice_counts(db);
  if (!notices) return notices.error();
  g.notices_pending = notices->pending;
  g.notices_failed = notices->failed;
  return g;
}

result<std::vector<finished_count>> read_finished_per_minute(database& db, millis since, millis until) {
  auto stmt = db.cached(
      "SELECT finished_at / 60000, state, count(*) FROM jobs INDEXED BY jobs_finished "
      "WHERE finished_at >= ?1 AND finished_at < ?2 GROUP BY 1, 2");
  if (!stmt) return stmt.error();
  auto& s = **stmt;
  s.bind(1, since).bind(2, until);
  std::vector<finished_count> out;
  auto rows = s.for_each_row([&](const statement& r) {
    out.push_back({r.get_int64(0) * 60'000, r.get_text(1), r.get_int64(2)});
  });
  if (!rows) return rows.error();
  return out;
}

result<std::vector<failure_row>> read_failures(database& db, int limit) {
  // The recent_failures view without its LIMIT 100 wrapper, plus the key: the same
  // jobs_failed range.
  auto stmt = db.cached(
      "SELECT id, key, batch, model, coalesce(error_code, ''), coalesce(error_message, ''), "
      "coalesce(datetime(coalesce(finished_at, updated_at) / 1000, 'unixepoch'), '') "
      "FROM jobs INDEXED BY jobs_failed WHERE state = 'failed' ORDER BY finished_at DESC LIMIT ?1");
  if (!stmt) return stmt.error();
  auto& s = **stmt;
  s.bind(1, limit);
  std::vector<failure_row> out;
  auto rows = s.for_each_row([&](const statement& r) {
    out.push_back({r.get_int64(0), r.get_optional_text(1), r.get_text(2), r.get_text(3), r.get_text(4), r.get_text(5),
                   r.get_text(6)});
  });
  if (!rows) return rows.error();
  return out;
}

result<std::vector<gallery_item>> read_gallery(database& db, const std::optional<std::string>& batch, int limit) {
  // With a batch: the (batch, 'succeeded') range of jobs_batch_progress; the repeated
  // `state <> 'queued'` lets SQLite prove the partial index applies. Without: the newest
  // 2,000 finished rows, filtered (a bounded walk whatever the table holds).
  auto stmt = batch ? db.cached(
                          "SELECT id, key, batch, coalesce(prompt, ''), cover_path IS NOT NULL, finished_at FROM jobs "
                          "WHERE id IN (SELECT id FROM jobs INDEXED BY jobs_batch_progress WHERE batch = ?1 "
                          "AND state = 'succeeded' AND state <> 'queued' ORDER BY id DESC LIMIT ?2) ORDER BY id DESC")
                    : db.cached(
                          "SELECT id, key, batch, coalesce(prompt, ''), cover_path IS NOT NULL, finished_at FROM "
                          "(SELECT * FROM jobs INDEXED BY jobs_finished WHERE finished_at IS NOT NULL "
                          "ORDER BY finished_at DESC LIMIT 2000) WHERE state = 'succeeded' LIMIT ?2");
  if (!stmt) return stmt.error();
  auto& s = **stmt;
  if (batch) s.bind(1, *batch);
  s.bind(2, limit);
  std::vector<gallery_item> out;
  auto rows = s.for_each_row([&](const statement& r) {
    out.push_back({r.get_int64(0), r.get_optional_text(1), r.get_text(2), r.get_text(3), r.get_int64(4) != 0,
                   r.get_optional_int64(5)});
  });
  if (!rows) return rows.error();
  return out;
}

result<void> select_one(database& db) {
  auto stmt = db.cached("SELECT 1");
  if (!stmt) return stmt.error();
  auto row = (*stmt)->step();
  (*stmt)->reset();
  if (!row) return row.error();
  return {};
}

}  // namespace

// Each coroutine below returns the synchronous call's result without suspending.

status_store::task<std::vector<job_row>> sqlite_status_store::list(const list_filter& filter) {
  co_return jobs_.list(filter);
}

status_store::task<std::optional<job_row>> sqlite_status_store::get(std::int64_t id) {
  co_return jobs_.get(id);
}

status_store::task<std::vector<job_event>> sqlite_status_store::events(std::int64_t job_id) {
  co_return jobs_.events(job_id);
}

status_store::task<inserted_job> sqlite_status_store::insert(const new_job& job) {
  std::int64_t id = 0;
  auto outcome = jobs_.insert(job, &id);
  if (!outcome) co_return outcome.error();
  if (*outcome == insert_outcome::inserted) co_return inserted_job{*outcome, id};
  // Only a keyed job can be a duplicate: the unique index on key names the existing row.
  auto existing = jobs_.get_by_key(job.key.value_or(""));
  if (!existing) co_return existing.error();
  inserted_job out{*outcome, std::nullopt};
  if (*existing) out.id = (*existing)->id;
  co_return out;
}

status_store::task<int> sqlite_status_store::cancel(const job_selector& which, std::vector<transition_miss>* missed) {
  co_return jobs_.cancel(which, missed);
}

status_store::task<int> sqlite_status_store::retry(const job_selector& which, std::vector<transition_miss>* missed) {
  co_return jobs_.retry(which, missed);
}

status_store::task<std::vector<batch_summary>> sqlite_status_store::batch_summaries() {
  co_return jobs_.batch_summaries();
}

status_store::task<std::vector<manifest_row>> sqlite_status_store::manifest(const manifest_filter& filter) {
  co_return outputs_.manifest(filter);
}

status_store::task<status_gauges> sqlite_status_store::gauges(millis day_start) {
  co_return read_gauges(db_, day_start);
}

status_store::task<std::vector<finished_count>> sqlite_status_store::finished_per_minute(millis since, millis until) {
  co_return read_finished_per_minute(db_, since, until);
}

status_store::task<std::vector<failure_row>> sqlite_status_store::failures(int limit) {
  co_return read_failures(db_, limit);
}

status_store::task<std::vector<gallery_item>> sqlite_status_store::gallery(const std::optional<std::string>& batch,
                                                                           int limit) {
  co_return read_gallery(db_, batch, limit);
}

status_store::task<void> sqlite_status_store::ping() {
  co_return select_one(db_);
}

}  // namespace vidq::store
