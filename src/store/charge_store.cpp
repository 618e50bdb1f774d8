#include "vidq/store/charge_store.hpp"

#include "vidq/store/sqlite.hpp"

namespace vidq::store {

std::string_view to_string(charge_origin o) {
  switch (o) {
    case charge_origin::accepted: return "accepted";
    case charge_origin::ambiguous: return "ambiguous";
    case charge_origin::duplicate: return "duplicate";
  }
  return "accepted";
}

result<void> record_charge(database& db, const new_charge& c) {
  // UNIQUE(request_id): a replayed accept, or an accept after the ambiguous row of the same
  // attempt, adds nothing; a task id learnt later is kept.
  auto stmt = db.cached(
      "INSERT INTO charges(job_id, attempt, request_id, task_id, account, model, batch, price, origin, at) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
      "ON CONFLICT(request_id) DO UPDATE SET "
      "origin = CASE WHEN charges.task_id IS NULL AND excluded.task_id IS NOT NULL THEN excluded.origin "
      "ELSE charges.origin END, "
      "task_id = coalesce(charges.task_id, excluded.task_id)");
  if (!stmt) return stmt.error();
  auto& s = **stmt;
  s.bind(1, c.job_id).bind(2, c.attempt).bind(3, c.request_id).bind(4, c.task_id).bind(5, c.account);
  s.bind(6, c.model).bind(7, c.batch).bind(8, c.price).bind(9, to_string(c.origin)).bind(10, c.at);
  auto ran = s.run();
  s.reset();
  return ran;
}

result<std::int64_t> charge_store::one_sum(const char* sql, const auto& bind) {
  auto stmt = db_.cached(sql);
  if (!stmt) return stmt.error();
  auto& s = **stmt;
  bind(s);
  auto row = s.step();
  const std::int64_t sum = row && *row ? s.get_int64(0) : 0;
  s.reset();
  if (!row) return row.error();
  return sum;
}

result<std::int64_t> charge_store::spent_since(millis since) {
  return one_sum("SELECT coalesce(sum(price - refunded), 0) FROM charges INDEXED BY charges_at WHERE at >= ?1",
                 [&](statement& s) { s.bind(1, since); });
}

result<std::int64_t> charge_store::spent_by_batch(std::string_view batch) {
  return one_sum("SELECT coalesce(sum(price - refunded), 0) FROM charges INDEXED BY charges_batch WHERE batch = ?1",
                 [&](statement& s) { s.bind(1, batch); });
}

result<std::map<std::string, std::int64_t, std::less<>>> charge_store::spent_per_batch() {
  auto stmt = db_.cached("SELECT batch, sum(price - refunded) FROM charges INDEXED BY charges_batch GROUP BY batch");
  if (!stmt) return stmt.error();
  std::map<std::string, std::int64_t, std::less<>> out;
  auto rows = (*stmt)->for_each_row([&](const statement& r) { out[r.get_text(0)] = r.get_int64(1); });
  (*stmt)->reset();
  if (!rows) return rows.error();
  return out;
}

result<std::vector<charge_row>> charge_store::of_job(std::int64_t job_id) {
  auto stmt = db_.cached(
      "SELECT id, job_id, attempt, request_id, task_id, account, model, batch, price, refunded, origin, at "
      "FROM charges INDEXED BY charges_job WHERE job_id = ?1 ORDER BY id");
  if (!stmt) return stmt.error();
  auto& s = **stmt;
  s.bind(1, job_id);
  std::vector<charge_row> out;
  auto rows = s.for_each_row([&](const statement& r) {
    out.push_back({r.get_int64(0), r.get_int64(1), r.get_int64(2), r.get_text(3), r.get_optional_text(4),
                   r.get_text(5), r.get_text(6), r.get_text(7), r.get_int64(8), r.get_int64(9), r.get_text(10),
                   r.get_int64(11)});
  });
  s.reset();
  if (!rows) return rows.error();
  return out;
}

}  // namespace vidq::store
