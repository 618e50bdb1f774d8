#include "vidq/store/notice_store.hpp"

#include "vidq/store/sqlite.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace vidq::store {
namespace {

#define VIDQ_NOTICE_COLUMNS "n.id, n.event, n.at, n.job_id, n.batch, n.account, n.payload"

notify::notice_row read_notice(const statement& s, int first = 0) {
  notify::notice_row n;
  n.id = s.get_int64(first);
  n.event = parse_notice_event(s.get_text(first + 1)).value_or(notice_event::batch_finished);  // CHECK: known
  n.at = s.get_int64(first + 2);
  n.job_id = s.get_optional_int64(first + 3);
  n.batch = s.get_optional_text(first + 4);
  n.account = s.get_optional_text(first + 5);
  n.payload = s.get_text(first + 6);
  return n;
}

result<void> run_cached(database& db, const char* sql, const auto& bind) {
  auto stmt = db.cached(sql);
  if (!stmt) return stmt.error();
  bind(**stmt);
  auto ran = (*stmt)->run();
  (*stmt)->reset();
  return ran;
}

}  // namespace

std::string_view to_string(delivery_status s) noexcept {
  switch (s) {
    case delivery_status::pending:
      return "pending";
    case delivery_status::delivered:
      return "delivered";
    case delivery_status::failed:
      return "failed";
  }
  return "pending";
}

result<std::vector<notify::notice_row>> notice_store::to_fan_out(int limit) {
  auto stmt = db_.cached("SELECT " VIDQ_NOTICE_COLUMNS
                         " FROM notices n INDEXED BY notices_to_fan_out "
                         "WHERE n.fanned_out = 0 ORDER BY n.id LIMIT ?1");
  if (!stmt) return stmt.error();
  (*stmt)->bind(1, limit);
  std::vector<notify::notice_row> out;
  auto done = (*stmt)->for_each_row([&](const statement& s) { out.push_back(read_notice(s)); });
  (*stmt)->reset();
  if (!done) return done.error();
  return out;
}

result<bool> notice_store::fan_out(std::int64_t notice_id, std::string_view payload,
                                   const std::vector<std::string>& targets) {
  auto tx = transaction::begin(db_);
  if (!tx) return {boost::system::in_place_error, tx.error()};
  auto mark = db_.cached("UPDATE notices SET payload = ?2, fanned_out = 1 WHERE id = ?1 AND fanned_out = 0");
  if (!mark) return {boost::system::in_place_error, mark.error()};
  (*mark)->bind(1, notice_id).bind_view(2, payload);
  auto ran = (*mark)->run();
  (*mark)->reset();
  if (!ran) return {boost::system::in_place_error, ran.error()};
  if (db_.changes() == 0) return false;
  const millis now = clock_.now();
  for (const auto& target : targets) {
    auto r = run_cached(
        db_, "INSERT OR IGNORE INTO notice_deliveries(notice_id, target, next_attempt_at) VALUES (?1, ?2, ?3)",
        [&](statement& s) { s.bind(1, notice_id).bind_view(2, target).bind(3, now); });
    if (!r) return {boost::system::in_place_error, r.error()};
  }
  if (auto c = tx->commit(); !c) return {boost::system::in_place_error, c.error()};
  return true;
}

result<std::vector<due_delivery>> notice_store::due(millis now, int limit) {
  auto stmt = db_.cached("SELECT d.target, d.attempts, " VIDQ_NOTICE_COLUMNS
                         " FROM notice_deliveries d INDEXED BY notice_deliveries_due "
                         "JOIN notices n ON n.id = d.notice_id "
                         "WHERE d.next_attempt_at <= ?1 AND d.delivered_at IS NULL AND d.gave_up_at IS NULL "
                         "ORDER BY d.next_attempt_at LIMIT ?2");
  if (!stmt) return stmt.error();
  (*stmt)->bind(1, now).bind(2, limit);
  std::vector<due_delivery> out;
  auto done = (*stmt)->for_each_row([&](const statement& s) {
    due_delivery d;
    d.target = s.get_text(0);
    d.attempts = static_cast<int>(s.get_int64(1));
    d.notice = read_notice(s, 2);
    out.push_back(std::move(d));
  });
  (*stmt)->reset();
  if (!done) return done.error();
  return out;
}

result<std::optional<millis>> notice_store::next_due() {
  auto stmt = db_.cached(
      "SELECT min(next_attempt_at) FROM notice_deliveries INDEXED BY notice_deliveries_due "
      "WHERE delivered_at IS NULL AND gave_up_at IS NULL");
  if (!stmt) return stmt.error();
  auto row = (*stmt)->step();
  std::optional<millis> at;
  if (row && *row) at = (*stmt)->get_optional_int64(0);
  (*stmt)->reset();
  if (!row) return row.error();
  return at;
}

result<void> notice_store::record_delivered(std::int64_t notice_id, std::string_view target) {
  return run_cached(db_,
                    "UPDATE notice_deliveries SET attempts = attempts + 1, delivered_at = ?3, last_error = NULL "
                    "WHERE notice_id = ?1 AND target = ?2 AND delivered_at IS NULL",
                    [&](statement& s) { s.bind(1, notice_id).bind_view(2, target).bind(3, clock_.now()); });
}

result<void> notice_store::record_failed(std::int64_t notice_id, std::string_view target, std::string_view error,
                                         std::optional<millis> next_attempt) {
  return run_cached(
      db_,
      "UPDATE notice_deliveries SET attempts = attempts + 1, last_error = ?3, "
      "next_attempt_at = coalesce(?4, next_attempt_at), gave_up_at = CASE WHEN ?4 IS NULL THEN ?5 END "
      "WHERE notice_id = ?1 AND target = ?2 AND delivered_at IS NULL",
      [&](statement& s) {
        s.bind(1, notice_id).bind_view(2, target).bind_view(3, error).bind(4, next_attempt).bind(5, clock_.now());
      });
}

result<void> notice_store::record_budget_blocked(std::string_view reason) {
  boost::json::object payload;
  payload["reason"] = reason;
  const std::string text = boost::json::serialize(payload);
  return run_cached(db_, "INSERT INTO notices(event, at, payload) VALUES ('budget_blocked', ?1, ?2)",
                    [&](statement& s) { s.bind(1, clock_.now()).bind_view(2, text); });
}

result<std::vector<delivery_row>> notice_store::list(std::optional<delivery_status> only, int limit) {
  auto stmt = db_.cached(
      "SELECT n.id, n.event, coalesce(n.batch, n.account, ''), n.job_id, d.target, "
      "CASE WHEN d.delivered_at IS NOT NULL THEN 'delivered' WHEN d.gave_up_at IS NOT NULL THEN 'failed' "
      "ELSE 'pending' END AS status, d.attempts, d.last_error, n.at, d.next_attempt_at, d.delivered_at "
      "FROM notice_deliveries d JOIN notices n ON n.id = d.notice_id "
      "WHERE ?1 IS NULL OR status = ?1 ORDER BY n.id DESC, d.target LIMIT ?2");
  if (!stmt) return stmt.error();
  if (only) {
    (*stmt)->bind(1, to_string(*only));
  } else {
    (*stmt)->bind(1, nullptr);
  }
  (*stmt)->bind(2, limit);
  std::vector<delivery_row> out;
  auto done = (*stmt)->for_each_row([&](const statement& s) {
    delivery_row r;
    r.notice_id = s.get_int64(0);
    r.event = parse_notice_event(s.get_text(1)).value_or(notice_event::batch_finished);
    r.subject = s.get_text(2);
    r.job_id = s.get_optional_int64(3);
    r.target = s.get_text(4);
    const auto status = s.get_text(5);
    r.status = status == "delivered" ? delivery_status::delivered
               : status == "failed"  ? delivery_status::failed
                                     : delivery_status::pending;
    r.attempts = static_cast<int>(s.get_int64(6));
    r.last_error = s.get_optional_text(7);
    r.created = s.get_int64(8);
    r.next_attempt = s.get_int64(9);
    r.delivered = s.get_optional_int64(10);
    out.push_back(std::move(r));
  });
  (*stmt)->reset();
  if (!done) return done.error();
  return out;
}

result<delivery_counts> notice_counts(database& db) {
  auto stmt = db.cached(
      "SELECT (SELECT count(*) FROM notice_deliveries INDEXED BY notice_deliveries_due "
      "        WHERE delivered_at IS NULL AND gave_up_at IS NULL), "
      "       (SELECT count(*) FROM notice_deliveries WHERE gave_up_at IS NOT NULL), "
      "       (SELECT count(*) FROM notices INDEXED BY notices_to_fan_out WHERE fanned_out = 0)");
  if (!stmt) return stmt.error();
  auto row = (*stmt)->step();
  delivery_counts c;
  if (row && *row) {
    c.pending = (*stmt)->get_int64(0);
    c.failed = (*stmt)->get_int64(1);
    c.not_fanned_out = (*stmt)->get_int64(2);
  }
  (*stmt)->reset();
  if (!row) return row.error();
  return c;
}

result<int> notice_store::prune(millis cutoff, int max_rows) {
  auto tx = transaction::begin(db_);
  if (!tx) return tx.error();
  // The oldest notices are a prefix of the ids: look at no more than max_rows of them.
  auto pick = db_.cached(
      "SELECT id FROM (SELECT id, at, fanned_out FROM notices ORDER BY id LIMIT ?2) o "
      "WHERE o.at < ?1 AND o.fanned_out = 1 AND NOT EXISTS (SELECT 1 FROM notice_deliveries d "
      "WHERE d.notice_id = o.id AND d.delivered_at IS NULL AND d.gave_up_at IS NULL)");
  if (!pick) return pick.error();
  (*pick)->bind(1, cutoff).bind(2, max_rows);
  std::vector<std::int64_t> ids;
  auto done = (*pick)->for_each_row([&](const statement& s) { ids.push_back(s.get_int64(0)); });
  (*pick)->reset();
  if (!done) return done.error();
  for (const auto id : ids) {
    // Explicitly, so the result does not depend on PRAGMA foreign_keys.
    for (const char* sql :
         {"DELETE FROM notice_deliveries WHERE notice_id = ?1", "DELETE FROM notices WHERE id = ?1"}) {
      if (auto r = run_cached(db_, sql, [&](statement& s) { s.bind(1, id); }); !r) return r.error();
    }
  }
  if (auto c = tx->commit(); !c) return c.error();
  return static_cast<int>(ids.size());
}

}  // namespace vidq::store
