#include "vidq/store/postgres/notice_outbox.hpp"

#include "vidq/store/postgres/operator_queries.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace vidq::store::pg {

namespace asio = boost::asio;
using asio::awaitable;

namespace {

#define VIDQ_PG_NOTICE_COLUMNS "n.id, n.event, n.at, n.job_id, n.batch, n.account, n.payload"

notify::notice_row read_notice(const rows& r, int i, int first) {
  notify::notice_row n;
  n.id = r.int64(i, first);
  n.event = parse_notice_event(r.text(i, first + 1)).value_or(notice_event::batch_finished);  // CHECK: known
  n.at = r.int64(i, first + 2);
  n.job_id = r.opt_int64(i, first + 3);
  n.batch = r.opt_text(i, first + 4);
  n.account = r.opt_text(i, first + 5);
  n.payload = std::string(r.text(i, first + 6));
  return n;
}

param optional_number(std::optional<std::int64_t> n) { return n ? number(*n) : param(); }

}  // namespace

auto postgres_notice_outbox::to_fan_out(int limit) -> task<std::vector<notify::notice_row>> {
  auto r = co_await db_.query(
      "SELECT " VIDQ_PG_NOTICE_COLUMNS " FROM notices n WHERE n.fanned_out = 0 ORDER BY n.id LIMIT $1",
      args(number(limit)));
  if (!r) co_return r.error();
  std::vector<notify::notice_row> out;
  for (int i = 0; i < r->size(); ++i) out.push_back(read_notice(*r, i, 0));
  co_return out;
}

auto postgres_notice_outbox::fan_out(std::int64_t notice_id, std::string_view payload,
                                     const std::vector<std::string>& targets) -> task<bool> {
  const std::string text_payload(payload);
  const millis now = clock_.now();
  // The mark and the deliveries commit together: of two daemons fanning out one notice,
  // the second waits on the row and then finds it marked.
  co_return co_await db_.transaction<bool>([&](connection& c) -> awaitable<result<bool>> {
    auto marked = co_await c.query("UPDATE notices SET payload = $2, fanned_out = 1 WHERE id = $1 AND fanned_out = 0",
                                   args(number(notice_id), text(text_payload)));
    if (!marked) co_return failed_with<bool>(marked.error());
    if (marked->affected() == 0) co_return false;
    for (const auto& target : targets) {
      auto added = co_await c.query(
          "INSERT INTO notice_deliveries(notice_id, target, next_attempt_at) VALUES ($1, $2, $3) "
          "ON CONFLICT DO NOTHING",
          args(number(notice_id), text(target), number(now)));
      if (!added) co_return failed_with<bool>(added.error());
    }
    co_return true;
  });
}

auto postgres_notice_outbox::due(millis now, int limit) -> task<std::vector<due_delivery>> {
  auto r = co_await db_.query(
      "SELECT d.target, d.attempts, " VIDQ_PG_NOTICE_COLUMNS
      " FROM notice_deliveries d JOIN notices n ON n.id = d.notice_id "
      "WHERE d.next_attempt_at <= $1 AND d.delivered_at IS NULL AND d.gave_up_at IS NULL "
      "ORDER BY d.next_attempt_at LIMIT $2",
      args(number(now), number(limit)));
  if (!r) co_return r.error();
  std::vector<due_delivery> out;
  for (int i = 0; i < r->size(); ++i) {
    due_delivery d;
    d.target = std::string(r->text(i, 0));
    d.attempts = static_cast<int>(r->int64(i, 1));
    d.notice = read_notice(*r, i, 2);
    out.push_back(std::move(d));
  }
  co_return out;
}

auto postgres_notice_outbox::claim_delivery(std::int64_t notice_id, std::string_view target, millis now,
                                            millis hold_ms) -> task<bool> {
  // Of two daemons claiming at once, the second waits on the row, then finds it no longer
  // due (READ COMMITTED re-reads the row it waited for) and changes nothing.
  const std::string name(target);
  auto r = co_await db_.query(
      "UPDATE notice_deliveries SET next_attempt_at = $4 WHERE notice_id = $1 AND target = $2 "
      "AND next_attempt_at <= $3 AND delivered_at IS NULL AND gave_up_at IS NULL",
      args(number(notice_id), text(name), number(now), number(now + hold_ms)));
  if (!r) co_return failed_with<bool>(r.error());
  co_return r->affected() == 1;
}

auto postgres_notice_outbox::next_due() -> task<std::optional<millis>> {
  auto r = co_await db_.query(
      "SELECT min(next_attempt_at) FROM notice_deliveries WHERE delivered_at IS NULL AND gave_up_at IS NULL");
  if (!r) co_return r.error();
  co_return r->opt_int64(0, 0);
}

auto postgres_notice_outbox::record_delivered(std::int64_t notice_id, std::string_view target) -> task<void> {
  const std::string name(target);
  auto r = co_await db_.query(
      "UPDATE notice_deliveries SET attempts = attempts + 1, delivered_at = $3, last_error = NULL "
      "WHERE notice_id = $1 AND target = $2 AND delivered_at IS NULL",
      args(number(notice_id), text(name), number(clock_.now())));
  if (!r) co_return r.error();
  co_return result<void>{};
}

auto postgres_notice_outbox::record_failed(std::int64_t notice_id, std::string_view target, std::string_view error,
                                           std::optional<millis> next_attempt) -> task<void> {
  const std::string name(target);
  const std::string why(error);
  // Given up (no next attempt): next_attempt_at goes back to now, undoing the claim's hold.
  auto r = co_await db_.query(
      "UPDATE notice_deliveries SET attempts = attempts + 1, last_error = $3, "
      "next_attempt_at = coalesce($4::bigint, $5), gave_up_at = CASE WHEN $4::bigint IS NULL THEN $5 END "
      "WHERE notice_id = $1 AND target = $2 AND delivered_at IS NULL",
      args(number(notice_id), text(name), text(why), optional_number(next_attempt), number(clock_.now())));
  if (!r) co_return r.error();
  co_return result<void>{};
}

auto postgres_notice_outbox::record_budget_blocked(std::string_view reason) -> task<void> {
  boost::json::object payload;
  payload["reason"] = reason;
  const std::string text_payload = boost::json::serialize(payload);
  auto r = co_await db_.query("INSERT INTO notices(event, at, payload) VALUES ('budget_blocked', $1, $2)",
                              args(number(clock_.now()), text(text_payload)));
  if (!r) co_return r.error();
  co_return result<void>{};
}

auto postgres_notice_outbox::prune(millis cutoff, int max_rows) -> task<int> {
  // notice_store::prune's rule; the deliveries go with their notice (ON DELETE CASCADE).
  auto r = co_await db_.query(
      "DELETE FROM notices WHERE id IN (SELECT o.id FROM (SELECT id, at, fanned_out FROM notices ORDER BY id "
      "LIMIT $2) o WHERE o.at < $1 AND o.fanned_out = 1 AND NOT EXISTS (SELECT 1 FROM notice_deliveries d "
      "WHERE d.notice_id = o.id AND d.delivered_at IS NULL AND d.gave_up_at IS NULL))",
      args(number(cutoff), number(max_rows)));
  if (!r) co_return r.error();
  co_return static_cast<int>(r->affected());
}

auto postgres_notice_outbox::batch_manifest(std::string_view batch) -> task<std::vector<manifest_row>> {
  manifest_filter filter;
  filter.batch = std::string(batch);
  auto c = co_await db_.acquire();
  if (!c) co_return c.error();
  co_return co_await manifest(**c, filter);
}

}  // namespace vidq::store::pg
