#include "vidq/store/output_store.hpp"

#include "vidq/store/sqlite.hpp"

namespace vidq::store {
namespace {

manifest_row read_manifest_row(const statement& s) {
  manifest_row r;
  r.id = s.get_int64(0);
  r.key = s.get_optional_text(1);
  r.batch = s.get_text(2);
  r.state = parse_job_state(s.get_text(3)).value_or(job_state::queued);  // CHECK: always known
  r.model = s.get_text(4);
  r.video_path = s.get_optional_text(5);
  r.cover_path = s.get_optional_text(6);
  r.video_bytes = s.get_optional_int64(7);
  r.video_sha256 = s.get_optional_text(8);
  r.cost = s.get_int64(9);
  r.error_code = s.get_optional_text(10);
  r.error_message = s.get_optional_text(11);
  r.task_id = s.get_optional_text(12);
  r.request_id = s.get_optional_text(13);
  r.submitted_at = s.get_optional_int64(14);
  r.finished_at = s.get_optional_int64(15);
  return r;
}

}  // namespace

result<bool> output_store::video_path_taken(std::string_view video_path, std::int64_t except_id) {
  auto stmt = db_.cached(
      "SELECT EXISTS(SELECT 1 FROM jobs INDEXED BY jobs_video_path WHERE video_path = ?1 AND id <> ?2)");
  if (!stmt) return {boost::system::in_place_error, stmt.error()};
  (*stmt)->bind(1, video_path).bind(2, except_id);
  auto row = (*stmt)->step();
  const bool taken = row && *row && (*stmt)->get_int64(0) != 0;
  (*stmt)->reset();
  if (!row) return {boost::system::in_place_error, row.error()};
  return taken;
}

result<bool> output_store::reserve_video_path(std::int64_t id, std::string_view video_path) {
  auto stmt = db_.cached("UPDATE jobs SET video_path = ?2 WHERE id = ?1 AND state = 'downloading'");
  if (!stmt) return {boost::system::in_place_error, stmt.error()};
  (*stmt)->bind(1, id).bind(2, video_path);
  auto ran = (*stmt)->run();
  (*stmt)->reset();
  if (!ran) return {boost::system::in_place_error, ran.error()};
  return db_.changes() > 0;
}

result<std::vector<manifest_row>> output_store::manifest(const manifest_filter& filter) {
  // With a batch: its started rows through jobs_batch_progress (the repeated state <> 'queued'
  // lets SQLite use the partial index) and its queued rows through jobs_queued.
  auto stmt = filter.batch
                  ? db_.cached("SELECT " VIDQ_MANIFEST_COLUMNS " FROM jobs WHERE id IN ("
                               "SELECT id FROM jobs INDEXED BY jobs_batch_progress WHERE batch = ?1 AND state <> 'queued' "
                               "UNION ALL SELECT id FROM jobs INDEXED BY jobs_queued WHERE state = 'queued' AND batch = ?1) "
                               "AND (?2 IS NULL OR state = ?2) ORDER BY id")
                  : db_.cached("SELECT " VIDQ_MANIFEST_COLUMNS " FROM jobs WHERE (?2 IS NULL OR state = ?2) ORDER BY id");
  if (!stmt) return stmt.error();
  auto& s = **stmt;
  if (filter.batch) s.bind(1, *filter.batch);
  if (filter.state) {
    s.bind(2, to_string(*filter.state));
  } else {
    s.bind(2, nullptr);
  }
  std::vector<manifest_row> out;
  auto rows = s.for_each_row([&](const statement& r) { out.push_back(read_manifest_row(r)); });
  if (!rows) return rows.error();
  return out;
}

result<bool> output_store::batch_finished(std::string_view batch) {
  // Started rows of the batch through jobs_batch_progress; "any queued row of the batch"
  // walks jobs_queued until the first one (cheap while the batch still has some queued,
  // bounded by the queued rows when it has none).
  auto stmt = db_.cached(
      "SELECT (SELECT count(*) FROM jobs INDEXED BY jobs_batch_progress WHERE batch = ?1 AND state <> 'queued' "
      "AND state IN ('submitting', 'processing', 'downloading')), "
      "EXISTS(SELECT 1 FROM jobs INDEXED BY jobs_queued WHERE state = 'queued' AND batch = ?1), "
      "EXISTS(SELECT 1 FROM jobs INDEXED BY jobs_batch_progress WHERE batch = ?1 AND state <> 'queued')");
  if (!stmt) return {boost::system::in_place_error, stmt.error()};
  (*stmt)->bind(1, batch);
  auto row = (*stmt)->step();
  bool finished = false;
  if (row && *row) {
    finished = (*stmt)->get_int64(0) == 0 && (*stmt)->get_int64(1) == 0 && (*stmt)->get_int64(2) != 0;
  }
  (*stmt)->reset();
  if (!row) return {boost::system::in_place_error, row.error()};
  return finished;
}

}  // namespace vidq::store
