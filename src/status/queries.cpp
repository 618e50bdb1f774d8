#include "vidq/status/queries.hpp"

#include "vidq/store/charge_store.hpp"
#include "vidq/store/notice_store.hpp"
#include "vidq/store/sqlite.hpp"

namespace vidq::status {
namespace {

constexpr millis minute_ms = 60'000;
constexpr millis day_ms = 86'400'000;

}  // namespace

result<db_gauges> read_gauges(store::database& db, const std::vector<store::batch_summary>& summaries, millis now) {
  db_gauges g;
  for (const auto& b : summaries) {
    for (const auto s : all_job_states) g.jobs_by_state[static_cast<int>(s)] += b.count(s);
  }
  // Spend is the ledger's (every charged task, by the UTC day it was charged), so retried
  // attempts and charges of jobs that retention deleted still count.
  store::charge_store ledger(db);
  auto total = ledger.spent_since(0);
  if (!total) return total.error();
  g.spend_total = *total;
  auto today = ledger.spent_since(now - now % day_ms);
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
  auto notices = store::notice_counts(db);
  if (!notices) return notices.error();
  g.notices_pending = notices->pending;
  g.notices_failed = notices->failed;
  return g;
}

result<std::vector<timeline_bucket>> read_timeline(store::database& db, millis now, int minutes) {
  const millis current = now - now % minute_ms;
  const millis since = current - static_cast<millis>(minutes - 1) * minute_ms;
  std::vector<timeline_bucket> out(static_cast<std::size_t>(minutes));
  for (int i = 0; i < minutes; ++i) out[static_cast<std::size_t>(i)].start = since + i * minute_ms;
  auto stmt = db.cached(
      "SELECT finished_at / 60000, state, count(*) FROM jobs INDEXED BY jobs_finished "
      "WHERE finished_at >= ?1 AND finished_at < ?2 GROUP BY 1, 2");
  if (!stmt) return stmt.error();
  auto& s = **stmt;
  s.bind(1, since).bind(2, current + minute_ms);
  auto rows = s.for_each_row([&](const store::statement& r) {
    const auto index = (r.get_int64(0) * minute_ms - since) / minute_ms;
    if (index < 0 || index >= minutes) return;
    auto& b = out[static_cast<std::size_t>(index)];
    const auto state = r.get_text(1);
    if (state == "succeeded") b.succeeded += r.get_int64(2);
    if (state == "failed") b.failed += r.get_int64(2);
    if (state == "cancelled") b.cancelled += r.get_int64(2);
  });
  if (!rows) return rows.error();
  return out;
}

result<std::vector<failure_row>> read_failures(store::database& db, int limit) {
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
  auto rows = s.for_each_row([&](const store::statement& r) {
    out.push_back({r.get_int64(0), r.get_optional_text(1), r.get_text(2), r.get_text(3), r.get_text(4), r.get_text(5),
                   r.get_text(6)});
  });
  if (!rows) return rows.error();
  return out;
}

result<std::vector<gallery_item>> read_gallery(store::database& db, const std::optional<std::string>& batch,
                                               int limit) {
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
  auto rows = s.for_each_row([&](const store::statement& r) {
    out.push_back({r.get_int64(0), r.get_optional_text(1), r.get_text(2), r.get_text(3), r.get_int64(4) != 0,
                   r.get_optional_int64(5)});
  });
  if (!rows) return rows.error();
  return out;
}

result<std::optional<std::int64_t>> job_id_by_key(store::database& db, std::string_view key) {
  auto stmt = db.cached("SELECT id FROM jobs WHERE key = ?1");
  if (!stmt) return stmt.error();
  (*stmt)->bind(1, key);
  auto row = (*stmt)->step();
  std::optional<std::int64_t> id;
  if (row && *row) id = (*stmt)->get_int64(0);
  (*stmt)->reset();
  if (!row) return row.error();
  return id;
}

result<void> ping(store::database& db) {
  auto stmt = db.cached("SELECT 1");
  if (!stmt) return stmt.error();
  auto row = (*stmt)->step();
  (*stmt)->reset();
  if (!row) return row.error();
  return {};
}

}  // namespace vidq::status
