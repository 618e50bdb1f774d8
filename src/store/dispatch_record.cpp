// The daemon's record_* calls: every transition of a claimed job, each guarded by the state
// the caller saw so that an operator's concurrent cancel always wins.

#include "vidq/store/dispatch_store.hpp"

#include "vidq/store/sqlite.hpp"

namespace vidq::store {

template <class Bind>
result<bool> dispatch_store::change_one(const char* sql, Bind&& bind) {
  auto stmt = db_.cached(sql);
  // result<bool> is constructible from an error_code and from a bool alike: say which.
  if (!stmt) return {boost::system::in_place_error, stmt.error()};
  auto& s = **stmt;
  bind(s);
  auto ran = s.run();
  s.reset();
  if (!ran) return {boost::system::in_place_error, ran.error()};
  return db_.changes() == 1;
}

namespace {

new_charge charge_for(const job_row& row, std::string_view request_id, charge_origin origin, std::int64_t price,
                      millis at) {
  new_charge c;
  c.job_id = row.id;
  c.attempt = row.attempts;
  c.request_id = std::string(request_id);
  c.account = row.account;
  c.model = row.model;
  c.batch = row.batch;
  c.price = price;
  c.origin = origin;
  c.at = at;
  return c;
}

}  // namespace

result<bool> dispatch_store::record_accepted(const job_row& row, std::string_view request_id,
                                             std::string_view task_id, millis next_poll_at, std::int64_t cost) {
  auto tx = transaction::begin(db_);
  if (!tx) return {boost::system::in_place_error, tx.error()};
  const millis t = clock_.now();
  auto applied = change_one(
      "UPDATE jobs SET state = 'processing', task_id = ?3, submitted_at = ?5, next_poll_at = ?4, polls = 0, "
      "cost = ?6, updated_at = ?5, error_code = NULL, error_message = NULL, seen_running_at = NULL "
      "WHERE id = ?1 AND state = 'submitting' AND request_id = ?2",
      [&](statement& s) {
        s.bind(1, row.id).bind(2, request_id).bind(3, task_id).bind(4, next_poll_at).bind(5, t).bind(6, cost);
      });
  if (!applied) return applied;
  auto charge = charge_for(row, request_id, charge_origin::accepted, cost, t);
  charge.task_id = std::string(task_id);
  if (auto c = record_charge(db_, charge); !c) return {boost::system::in_place_error, c.error()};
  if (auto c = tx->commit(); !c) return {boost::system::in_place_error, c.error()};
  return applied;
}

result<bool> dispatch_store::record_failed_charged(const job_row& row, charge_origin origin,
                                                   std::string_view error_code, std::string_view error_message,
                                                   std::int64_t price) {
  auto tx = transaction::begin(db_);
  if (!tx) return {boost::system::in_place_error, tx.error()};
  const std::string request_id = row.request_id.value_or("");
  auto applied = change_one(
      "UPDATE jobs SET state = 'failed', error_code = ?3, error_message = ?4, next_poll_at = NULL, "
      "finished_at = ?5, updated_at = ?5 WHERE id = ?1 AND state = 'submitting' AND request_id = ?2",
      [&](statement& s) {
        s.bind(1, row.id).bind(2, request_id).bind(3, error_code).bind(4, error_message).bind(5, clock_.now());
      });
  if (!applied) return applied;
  // Charged only when this is still the attempt that was sent: a stale copy changes nothing.
  if (*applied && !request_id.empty()) {
    if (auto c = record_charge(db_, charge_for(row, request_id, origin, price, clock_.now())); !c) {
      return {boost::system::in_place_error, c.error()};
    }
  }
  if (auto c = tx->commit(); !c) return {boost::system::in_place_error, c.error()};
  return applied;
}

result<bool> dispatch_store::record_requeued(std::int64_t id, std::string_view request_id, millis not_before,
                                             std::string_view error_code, std::string_view error_message,
                                             bool refund_attempt) {
  // The request_id is kept: if the provider did create a task after all, an operator can
  // still match it; the next claim replaces it with a fresh one.
  return change_one(
      "UPDATE jobs SET state = 'queued', not_before = ?3, error_code = ?4, error_message = ?5, "
      "attempts = attempts - ?6, updated_at = ?7 "
      "WHERE id = ?1 AND state = 'submitting' AND request_id = ?2",
      [&](statement& s) {
        s.bind(1, id).bind(2, request_id).bind(3, not_before).bind(4, error_code).bind(5, error_message);
        s.bind(6, refund_attempt ? 1 : 0).bind(7, clock_.now());
      });
}

result<bool> dispatch_store::record_polled(std::int64_t id, millis next_poll_at, bool saw_running) {
  // The most frequent write by far (tens per job under backlog), and the one whose loss in a
  // power cut costs only a repeated poll: no fsync of its own.
  const relaxed_sync no_fsync(db_);
  return change_one(
      "UPDATE jobs SET polls = polls + 1, next_poll_at = ?2, updated_at = ?3, "
      "seen_running_at = CASE WHEN ?4 THEN ?3 ELSE seen_running_at END WHERE id = ?1 AND state = 'processing'",
      [&](statement& s) { s.bind(1, id).bind(2, next_poll_at).bind(3, clock_.now()).bind(4, saw_running ? 1 : 0); });
}

result<bool> dispatch_store::record_remote_success(std::int64_t id, std::string_view video_url,
                                                   std::string_view cover_url) {
  return change_one(
      "UPDATE jobs SET state = 'downloading', polls = polls + 1, next_poll_at = NULL, video_url = ?2, "
      "cover_url = nullif(?3, ''), updated_at = ?4 WHERE id = ?1 AND state = 'processing'",
      [&](statement& s) { s.bind(1, id).bind(2, video_url).bind(3, cover_url).bind(4, clock_.now()); });
}

result<bool> dispatch_store::record_urls_expired(std::int64_t id) {
  return change_one(
      "UPDATE jobs SET state = 'processing', next_poll_at = ?2, updated_at = ?2, error_code = 'url_expired', "
      "error_message = 'result URLs expired before the download; polling for fresh ones' "
      "WHERE id = ?1 AND state = 'downloading'",
      [&](statement& s) { s.bind(1, id).bind(2, clock_.now()); });
}

result<bool> dispatch_store::record_refetch(std::int64_t id, std::string_view error_code,
                                            std::string_view error_message) {
  return change_one(
      "UPDATE jobs SET state = 'processing', next_poll_at = ?2, updated_at = ?2, refetches = refetches + 1, "
      "error_code = ?3, error_message = ?4 WHERE id = ?1 AND state = 'downloading'",
      [&](statement& s) { s.bind(1, id).bind(2, clock_.now()).bind(3, error_code).bind(4, error_message); });
}

result<bool> dispatch_store::record_succeeded(std::int64_t id, const download_outcome& o) {
  return change_one(
      "UPDATE jobs SET state = 'succeeded', video_path = ?2, video_bytes = ?3, video_sha256 = ?4, "
      "cover_path = nullif(?5, ''), cost = ?6, finished_at = ?7, updated_at = ?7, error_code = NULL, "
      "error_message = NULL WHERE id = ?1 AND state = 'downloading'",
      [&](statement& s) {
        s.bind(1, id).bind(2, o.video_path).bind(3, o.video_bytes).bind(4, o.video_sha256).bind(5, o.cover_path);
        s.bind(6, o.cost).bind(7, clock_.now());
      });
}

result<bool> dispatch_store::record_failed(std::int64_t id, job_state from, std::string_view error_code,
                                           std::string_view error_message) {
  return change_one(
      "UPDATE jobs SET state = 'failed', error_code = ?3, error_message = ?4, next_poll_at = NULL, "
      "finished_at = ?5, updated_at = ?5 WHERE id = ?1 AND state = ?2",
      [&](statement& s) {
        s.bind(1, id).bind(2, to_string(from)).bind(3, error_code).bind(4, error_message).bind(5, clock_.now());
      });
}

}  // namespace vidq::store
