#pragma once
// The daemon's store interface (store/daemon_store.hpp) on PostgreSQL: the queue through
// pg::dispatch (exact caps, owner + epoch guards), pauses and ledger sums through the pool.
// One per daemon process; its node id is the dispatch's.

#include "vidq/store/daemon_store.hpp"
#include "vidq/store/postgres/dispatch.hpp"
#include "vidq/store/postgres/notice_outbox.hpp"

namespace vidq::store::pg {

class postgres_daemon_store final : public daemon_store {
 public:
  // `lease_ms`: how long this daemon's rows stay its own without a renewal; the scheduler
  // renews well within it (scheduler_options::lease_renew).
  postgres_daemon_store(pool& db, const clock& clk, std::string node, millis lease_ms = 30'000);

  dispatch& queue() { return dispatch_; }

  // The queue listener's callback (store/postgres/queue_listener.hpp): a NOTIFY arrived, or
  // it (re)connected and may have missed some.
  void note_change() { changed_ = true; }
  task<bool> changed_elsewhere() override;

  task<std::vector<queue_group>> queued_groups() override;
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
                             std::string_view error_code, std::string_view error_message,
                             bool refund_attempt) override;
  task<bool> record_polled(const job_row& row, millis next_poll_at, bool saw_running) override;
  task<bool> record_remote_success(const job_row& row, std::string_view video_url,
                                   std::string_view cover_url) override;
  task<bool> record_urls_expired(const job_row& row) override;
  task<bool> record_refetch(const job_row& row, std::string_view error_code,
                            std::string_view error_message) override;
  task<bool> record_succeeded(const job_row& row, const dispatch_store::download_outcome& outcome) override;
  task<bool> record_failed(const job_row& row, job_state from, std::string_view error_code,
                           std::string_view error_message) override;

  task<output_reservation> reserve_video_path(const job_row& row, std::string_view video_path) override;

  task<bool> renew_lease() override;
  task<std::vector<job_row>> adopt_expired(int limit) override;
  task<std::int64_t> held_elsewhere() override;
  task<void> retire() override;
  void set_lane_backoff(const lane_backoff& policy) override { dispatch_.set_lane_backoff(policy); }
  task<void> share_rate_limit(std::string_view account, std::string_view model, int cap) override;

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
  pool& db_;
  const clock& clock_;
  dispatch dispatch_;
  postgres_notice_outbox notices_;
  bool changed_ = true;  // nothing heard yet: the first look is a full one
  millis lease_ms_;
  bool registered_ = false;
};

}  // namespace vidq::store::pg
