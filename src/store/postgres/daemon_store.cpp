#include "vidq/store/postgres/daemon_store.hpp"

#include "vidq/store/postgres/operator_queries.hpp"
#include "vidq/store/postgres/upkeep.hpp"

#include <unistd.h>

#include <utility>

namespace vidq::store::pg {

namespace asio = boost::asio;
template <class T>
using task = daemon_store::task<T>;

postgres_daemon_store::postgres_daemon_store(pool& db, const clock& clk, std::string node, millis lease_ms)
    : db_(db), clock_(clk), dispatch_(db, clk, std::move(node)), notices_(db, clk), lease_ms_(lease_ms) {}

task<bool> postgres_daemon_store::renew_lease() {
  if (!registered_) {
    // Host and pid for operators reading `nodes`; the node id is what the rows carry.
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    const std::string host_name(host);
    auto r = co_await dispatch_.register_node(host_name, ::getpid(), lease_ms_);
    if (!r) co_return failed_with<bool>(r.error());
    registered_ = true;
    co_return true;
  }
  co_return co_await dispatch_.renew_lease(lease_ms_);
}

task<std::vector<job_row>> postgres_daemon_store::adopt_expired(int limit) { return dispatch_.adopt_expired(limit); }

task<std::int64_t> postgres_daemon_store::held_elsewhere() { return dispatch_.held_elsewhere(); }

task<void> postgres_daemon_store::retire() {
  if (!registered_) co_return result<void>{};
  co_return co_await dispatch_.retire_node();
}

task<void> postgres_daemon_store::share_rate_limit(std::string_view account, std::string_view model, int cap) {
  return dispatch_.lower_lane(account, model, cap);
}

task<bool> postgres_daemon_store::changed_elsewhere() { co_return std::exchange(changed_, false); }

task<std::vector<queue_group>> postgres_daemon_store::queued_groups() { return dispatch_.queued_groups(); }

task<std::vector<job_row>> postgres_daemon_store::claim(const queue_group& group, int limit,
                                                        std::string_view serving_account, int cap) {
  auto c = co_await dispatch_.claim(group, limit, serving_account, cap);
  if (!c) co_return c.error();
  co_return std::move(c->rows);
}

task<std::vector<inflight_count>> postgres_daemon_store::inflight_counts() { return dispatch_.inflight_counts(); }
task<std::vector<job_row>> postgres_daemon_store::due_polls(int limit) { return dispatch_.due_polls(limit); }
task<std::optional<millis>> postgres_daemon_store::next_poll_time() { return dispatch_.next_poll_time(); }
task<std::vector<job_row>> postgres_daemon_store::transient_rows() { return dispatch_.transient_rows(); }

task<std::vector<dispatch_store::duration_sample>> postgres_daemon_store::recent_duration_samples(int limit) {
  return dispatch_.recent_duration_samples(limit);
}

task<bool> postgres_daemon_store::record_accepted(const job_row& row, std::string_view request_id,
                                                  std::string_view task_id, millis next_poll_at, std::int64_t cost) {
  // The guard compares the stored request_id with the one the caller sent, as on SQLite.
  job_row sent = row;
  sent.request_id = std::string(request_id);
  co_return co_await dispatch_.record_accepted(sent, task_id, next_poll_at, cost);
}

task<bool> postgres_daemon_store::record_failed_charged(const job_row& row, charge_origin origin,
                                                        std::string_view error_code, std::string_view error_message,
                                                        std::int64_t price) {
  return dispatch_.record_failed_charged(row, origin, error_code, error_message, price);
}

task<bool> postgres_daemon_store::record_requeued(const job_row& row, std::string_view request_id, millis not_before,
                                                  std::string_view error_code, std::string_view error_message,
                                                  bool refund_attempt) {
  job_row sent = row;
  sent.request_id = std::string(request_id);
  co_return co_await dispatch_.record_requeued(sent, not_before, error_code, error_message, refund_attempt);
}

task<bool> postgres_daemon_store::record_polled(const job_row& row, millis next_poll_at, bool saw_running) {
  return dispatch_.record_polled(row, next_poll_at, saw_running);
}

task<bool> postgres_daemon_store::record_remote_success(const job_row& row, std::string_view video_url,
                                                        std::string_view cover_url) {
  return dispatch_.record_remote_success(row, video_url, cover_url);
}

task<bool> postgres_daemon_store::record_urls_expired(const job_row& row) { return dispatch_.record_urls_expired(row); }

task<bool> postgres_daemon_store::record_refetch(const job_row& row, std::string_view error_code,
                                                 std::string_view error_message) {
  return dispatch_.record_refetch(row, error_code, error_message);
}

task<bool> postgres_daemon_store::record_succeeded(const job_row& row,
                                                   const dispatch_store::download_outcome& outcome) {
  return dispatch_.record_succeeded(row, outcome);
}

task<bool> postgres_daemon_store::record_failed(const job_row& row, job_state from, std::string_view error_code,
                                                std::string_view error_message) {
  return dispatch_.record_failed(row, from, error_code, error_message);
}

task<output_reservation> postgres_daemon_store::reserve_video_path(const job_row& row, std::string_view video_path) {
  return dispatch_.reserve_video_path(row, video_path);
}

task<retention_outcome> postgres_daemon_store::apply_retention(const ops::retention_config& rules, millis now) {
  return pg::apply_retention(db_, rules, now);
}

task<std::int64_t> postgres_daemon_store::trim_duration_samples() { return pg::trim_duration_samples(db_); }

// The operator's queries (operator_queries.hpp) on a borrowed connection: one SQL for the
// CLI, the status server and the daemon.
task<void> postgres_daemon_store::pause(std::string_view account, std::string_view reason,
                                        std::optional<millis> until, paused_by by) {
  auto c = co_await db_.acquire();
  if (!c) co_return c.error();
  co_return co_await pause_account(**c, account, reason, until, by, clock_.now());
}

task<bool> postgres_daemon_store::lift(std::string_view account, paused_by by) {
  auto r = co_await db_.query("DELETE FROM account_pauses WHERE account = $1 AND paused_by = $2",
                              args(std::string(account), std::string(to_string(by))));
  if (!r) co_return failed_with<bool>(r.error());
  co_return r->affected() > 0;
}

task<bool> postgres_daemon_store::resume(std::string_view account) {
  auto c = co_await db_.acquire();
  if (!c) co_return failed_with<bool>(c.error());
  co_return co_await resume_account(**c, account);
}

task<std::vector<account_pause_row>> postgres_daemon_store::pauses() {
  auto c = co_await db_.acquire();
  if (!c) co_return c.error();
  co_return co_await account_pauses(**c);
}

task<std::int64_t> postgres_daemon_store::spent_since(millis since) {
  auto c = co_await db_.acquire();
  if (!c) co_return c.error();
  co_return co_await pg::spent_since(**c, since);
}

task<std::int64_t> postgres_daemon_store::spent_by_batch(std::string_view batch) {
  auto r = co_await db_.query("SELECT coalesce(sum(price - refunded), 0) FROM charges WHERE batch = $1",
                              args(std::string(batch)));
  if (!r) co_return r.error();
  co_return r->int64(0, 0);
}

}  // namespace vidq::store::pg
