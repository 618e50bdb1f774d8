// The daemon's store calls on SQLite: each one is the synchronous call, run at once. No
// co_await inside, so the coroutine completes on its first resumption and the awaiting
// scheduler continues without giving the executor a turn.
#include "vidq/store/sqlite_daemon_store.hpp"

#include "vidq/store/sqlite.hpp"

namespace vidq::store {

template <class T>
using task = daemon_store::task<T>;

task<bool> sqlite_daemon_store::changed_elsewhere() {
  auto s = db_.cached("PRAGMA data_version");
  if (!s) co_return false;
  std::int64_t v = data_version_;
  if (is_true((*s)->step())) v = (*s)->get_int64(0);
  (*s)->reset();
  const bool changed = v != data_version_;
  data_version_ = v;
  co_return changed;
}

task<output_reservation> sqlite_daemon_store::reserve_video_path(const job_row& row, std::string_view video_path) {
  // No await between the look and the write: one connection, one loop, nobody in between.
  auto taken = outputs_.video_path_taken(video_path, row.id);
  if (!taken) co_return taken.error();
  if (*taken) co_return output_reservation::taken;
  auto reserved = outputs_.reserve_video_path(row.id, video_path);
  if (!reserved) co_return reserved.error();
  co_return *reserved ? output_reservation::reserved : output_reservation::moved;
}

task<retention_outcome> sqlite_daemon_store::apply_retention(const ops::retention_config& rules, millis now) {
  co_return store::apply_retention(db_, rules, now);
}

task<std::int64_t> sqlite_daemon_store::trim_duration_samples() { co_return store::trim_duration_samples(db_); }

task<std::vector<queue_group>> sqlite_daemon_store::queued_groups() {
  co_return dispatch_.queued_groups();
}

task<std::vector<job_row>> sqlite_daemon_store::claim(const queue_group& group, int limit,
                                                      std::string_view serving_account, int /*cap*/) {
  co_return dispatch_.claim(group, limit, serving_account);
}

task<std::vector<inflight_count>> sqlite_daemon_store::inflight_counts() {
  co_return dispatch_.inflight_counts();
}

task<std::vector<job_row>> sqlite_daemon_store::due_polls(int limit) {
  co_return dispatch_.due_polls(limit);
}

task<std::optional<millis>> sqlite_daemon_store::next_poll_time() {
  co_return dispatch_.next_poll_time();
}

task<std::vector<job_row>> sqlite_daemon_store::transient_rows() {
  co_return dispatch_.transient_rows();
}

task<std::vector<dispatch_store::duration_sample>> sqlite_daemon_store::recent_duration_samples(int limit) {
  co_return dispatch_.recent_duration_samples(limit);
}

task<bool> sqlite_daemon_store::record_accepted(const job_row& row, std::string_view request_id,
                                                std::string_view task_id, millis next_poll_at, std::int64_t cost) {
  co_return dispatch_.record_accepted(row, request_id, task_id, next_poll_at, cost);
}

task<bool> sqlite_daemon_store::record_failed_charged(const job_row& row, charge_origin origin,
                                                      std::string_view error_code, std::string_view error_message,
                                                      std::int64_t price) {
  co_return dispatch_.record_failed_charged(row, origin, error_code, error_message, price);
}

task<bool> sqlite_daemon_store::record_requeued(const job_row& row, std::string_view request_id, millis not_before,
                                                std::string_view error_code, std::string_view error_message,
                                                bool refund_attempt) {
  co_return dispatch_.record_requeued(row.id, request_id, not_before, error_code, error_message, refund_attempt);
}

task<bool> sqlite_daemon_store::record_polled(const job_row& row, millis next_poll_at, bool saw_running) {
  co_return dispatch_.record_polled(row.id, next_poll_at, saw_running);
}

task<bool> sqlite_daemon_store::record_remote_success(const job_row& row, std::string_view video_url,
                                                      std::string_view cover_url) {
  co_return dispatch_.record_remote_success(row.id, video_url, cover_url);
}

task<bool> sqlite_daemon_store::record_urls_expired(const job_row& row) {
  co_return dispatch_.record_urls_expired(row.id);
}

task<bool> sqlite_daemon_store::record_refetch(const job_row& row, std::string_view error_code,
                                               std::string_view error_message) {
  co_return dispatch_.record_refetch(row.id, error_code, error_message);
}

task<bool> sqlite_daemon_store::record_succeeded(const job_row& row, const dispatch_store::download_outcome& outcome) {
  co_return dispatch_.record_succeeded(row.id, outcome);
}

task<bool> sqlite_daemon_store::record_failed(const job_row& row, job_state from, std::string_view error_code,
                                              std::string_view error_message) {
  co_return dispatch_.record_failed(row.id, from, error_code, error_message);
}

task<void> sqlite_daemon_store::pause(std::string_view account, std::string_view reason, std::optional<millis> until,
                                      paused_by by) {
  co_return accounts_.pause(account, reason, until, by);
}

task<bool> sqlite_daemon_store::lift(std::string_view account, paused_by by) {
  co_return accounts_.lift(account, by);
}

task<bool> sqlite_daemon_store::resume(std::string_view account) { co_return accounts_.resume(account); }

task<std::vector<account_pause_row>> sqlite_daemon_store::pauses() {
  co_return accounts_.pauses();
}

task<std::int64_t> sqlite_daemon_store::spent_since(millis since) {
  co_return charges_.spent_since(since);
}

task<std::int64_t> sqlite_daemon_store::spent_by_batch(std::string_view batch) {
  co_return charges_.spent_by_batch(batch);
}

}  // namespace vidq::store
