#pragma once
// daemon_store over SQLite: each call runs the synchronous store (dispatch_store,
// account_store, charge_store) on the daemon's one connection and co_returns its result. It
// never suspends, so awaiting it changes nothing: the loop runs as it did with plain calls,
// and no other coroutine runs in between (no transaction is ever open across an await).
#include "vidq/store/account_store.hpp"
#include "vidq/store/charge_store.hpp"
#include "vidq/store/daemon_store.hpp"
#include "vidq/store/dispatch_store.hpp"
#include "vidq/store/output_store.hpp"

namespace vidq::store {

class database;

class sqlite_daemon_store : public daemon_store {  // not final: tests add latency to a call
 public:
  // `db` and `clk` must outlive this object (the daemon's writer connection and clock).
  sqlite_daemon_store(database& db, const clock& clk)
      : db_(db), dispatch_(db, clk), accounts_(db, clk), charges_(db), outputs_(db), notices_(db, clk) {}

  // PRAGMA data_version: other connections' commits bump it, ours do not.
  task<bool> changed_elsewhere() override;

  task<std::vector<queue_group>> queued_groups() override;
  // `cap` is not used: admission already bounded `limit` (one daemon per database file).
  task<std::vector<job_row>> claim(const queue_group& group, int limit, std::string_view serving_account,
                                   int cap) override;
  task<std::vector<inflight_count>> inflight_counts() override;
  task<std::vector<job_row>> due_polls(int limit) override;
  task<std::optional<millis>> next_poll_time() override;
  task<std::vector<job_row>> transient_rows() override;
  task<std::vector<dispatch_store::duration_sample>> recent_duration_samples(int limit) override;

  task<bool> record_accepted(const job_row& row, std::string_view request_id, std::string_view task_id,
                             millis next_poll_at, std::int64_t cost) override;
  task<bool> record_failed_charged(const job_row& row, charge_origin origin, std::string_view error_code,
                                   std::string_view error_message, std::int64_t price) override;
  task<bool> record_requeued(const job_row& row, std::string_view request_id, millis not_before,
                             std::string_view error_code, std::string_view error_message, bool refund_attempt) override;
  task<bool> record_polled(const job_row& row, millis next_poll_at, bool saw_running) override;
  task<bool> record_remote_success(const job_row& row, std::string_view video_url, std::string_view cover_url) override;
  task<bool> record_urls_expired(const job_row& row) override;
  task<bool> record_refetch(const job_row& row, std::string_view error_code, std::string_view error_message) override;
  task<bool> record_succeeded(const job_row& row, const dispatch_store::download_outcome& outcome) override;
  task<bool> record_failed(const job_row& row, job_state from, std::string_view error_code,
                           std::string_view error_message) override;

  task<output_reservation> reserve_video_path(const job_row& row, std::string_view video_path) override;

  // One daemon per file (the instance lock): nobody to share with, nothing to adopt.
  task<bool> renew_lease() override { co_return true; }
  task<std::vector<job_row>> adopt_expired(int) override { co_return std::vector<job_row>{}; }
  task<std::int64_t> held_elsewhere() override { co_return std::int64_t{0}; }
  task<void> retire() override { co_return result<void>{}; }
  void set_lane_backoff(const lane_backoff&) override {}
  task<void> share_rate_limit(std::string_view, std::string_view, int) override { co_return result<void>{}; }

  task<retention_outcome> apply_retention(const ops::retention_config& rules, millis now) override;
  task<std::int64_t> trim_duration_samples() override;

  task<void> pause(std::string_view account, std::string_view reason, std::optional<millis> until,
                   paused_by by) override;
  task<bool> lift(std::string_view account, paused_by by) override;
  task<bool> resume(std::string_view account) override;
  task<std::vector<account_pause_row>> pauses() override;

  notice_outbox& notices() override { return notices_; }

  task<std::int64_t> spent_since(millis since) override;
  task<std::int64_t> spent_by_batch(std::string_view batch) override;

 private:
  database& db_;
  std::int64_t data_version_ = -1;
  dispatch_store dispatch_;
  account_store accounts_;
  charge_store charges_;
  output_store outputs_;
  sqlite_notice_outbox notices_;
};

}  // namespace vidq::store
