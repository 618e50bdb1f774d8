#pragma once
// The store as the daemon's hot path sees it (issue 14): every call the scheduler makes to
// claim, count, find polls, record progress, pause accounts and read the ledger, each one
// awaitable so that a backend whose queries go over the network (PostgreSQL, libpq on Asio)
// never blocks the loop. store/sqlite_daemon_store.hpp implements it over the synchronous
// stores: its calls never suspend, so SQLite runs exactly as it did before the seam.
//
// The contracts are those of the synchronous stores this mirrors; they are not repeated
// here: dispatch_store.hpp (queue, claim, polls, recovery, record_*), account_store.hpp
// (pauses), charge_store.hpp (ledger sums). Errors: errc::database_error / database_busy
// (busy: nothing happened, try again; scheduler::persist does for task writes).
//
// Arguments are used until the returned awaitable completes, and it starts only when it is
// awaited: pass named objects, never temporaries (a std::string built in the call would be
// gone by then behind its string_view).
//
// The notice outbox is behind notices() (store/notice_outbox.hpp). Not behind the seam
// (the scheduler keeps its store::database& for them, SQLite only): the WAL checkpoint,
// db_identity and the lost-WAL rescue, the instance lock.

#include "vidq/core/clock.hpp"
#include "vidq/core/error.hpp"
#include "vidq/core/job_state.hpp"
#include "vidq/store/account_store.hpp"
#include "vidq/store/charge_store.hpp"
#include "vidq/store/dispatch_store.hpp"
#include "vidq/store/housekeeping.hpp"
#include "vidq/store/job_row.hpp"
#include "vidq/store/notice_outbox.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace vidq::store {

// What reserving an output name found (reserve_video_path).
enum class output_reservation {
  reserved,  // recorded on the row: the download may write it
  taken,     // another job has it recorded: try the next name
  moved,     // the row is not downloading (cancelled) or, on PostgreSQL, not ours any more
};

// How a lane backs off after a 1302 and recovers: engine::aimd_config's figures, which the
// scheduler scales with the provider's time. PostgreSQL shares the back-off between daemons
// through its lane rows and needs them there (postgres/dispatch.hpp).
struct lane_backoff {
  double decrease_factor = 0.5;
  millis decrease_holdoff = 5'000;
  millis quiet_period = 60'000;  // one slot back per period without a 1302
};

class daemon_store {
 public:
  template <class T>
  using task = boost::asio::awaitable<result<T>>;

  virtual ~daemon_store() = default;

  // ---- Changes by other clients ----
  // Whether another client (the CLI, cron, an operator's SQL, another daemon) changed the
  // queue or the pauses since the last call; the first call only takes the baseline. SQLite:
  // PRAGMA data_version; PostgreSQL: the NOTIFYs its queue listener heard (note_change).
  virtual task<bool> changed_elsewhere() = 0;

  // ---- Queue and slots (dispatch_store.hpp) ----
  virtual task<std::vector<queue_group>> queued_groups() = 0;
  // queued → submitting for up to `limit` runnable rows of `group`, served by
  // `serving_account` (group.account for a pinned group; a pool group's chosen account).
  // `cap`: the serving account's configured capacity for the lane. SQLite ignores it (the
  // scheduler's admission already bounded `limit`); PostgreSQL enforces it across daemons,
  // so it may return fewer rows than runnable.
  virtual task<std::vector<job_row>> claim(const queue_group& group, int limit, std::string_view serving_account,
                                           int cap) = 0;
  virtual task<std::vector<inflight_count>> inflight_counts() = 0;
  virtual task<std::vector<job_row>> due_polls(int limit) = 0;
  virtual task<std::optional<millis>> next_poll_time() = 0;
  // Rows left submitting or downloading: restart recovery.
  virtual task<std::vector<job_row>> transient_rows() = 0;
  virtual task<std::vector<dispatch_store::duration_sample>> recent_duration_samples(int limit) = 0;

  // ---- Recording progress (dispatch_store.hpp, "Recording progress") ----
  // Each takes the row as the daemon holds it (not only its id): PostgreSQL guards the
  // write by the row's owner and `epoch`; SQLite uses `row.id`. false: the row moved (an
  // operator's cancel, or on PostgreSQL a lost lease); the caller drops its copy.
  virtual task<bool> record_accepted(const job_row& row, std::string_view request_id, std::string_view task_id,
                                     millis next_poll_at, std::int64_t cost) = 0;
  virtual task<bool> record_failed_charged(const job_row& row, charge_origin origin, std::string_view error_code,
                                           std::string_view error_message, std::int64_t price) = 0;
  virtual task<bool> record_requeued(const job_row& row, std::string_view request_id, millis not_before,
                                     std::string_view error_code, std::string_view error_message,
                                     bool refund_attempt) = 0;
  virtual task<bool> record_polled(const job_row& row, millis next_poll_at, bool saw_running) = 0;
  virtual task<bool> record_remote_success(const job_row& row, std::string_view video_url,
                                           std::string_view cover_url) = 0;
  virtual task<bool> record_urls_expired(const job_row& row) = 0;
  virtual task<bool> record_refetch(const job_row& row, std::string_view error_code,
                                    std::string_view error_message) = 0;
  virtual task<bool> record_succeeded(const job_row& row, const dispatch_store::download_outcome& outcome) = 0;
  virtual task<bool> record_failed(const job_row& row, job_state from, std::string_view error_code,
                                   std::string_view error_message) = 0;

  // ---- Output names (output_store.hpp) ----
  // Records `video_path` on the downloading row unless another job has it, as one step:
  // on PostgreSQL two daemons rendering the same name take turns on it.
  virtual task<output_reservation> reserve_video_path(const job_row& row, std::string_view video_path) = 0;

  // ---- Several daemons on one database (PostgreSQL; SQLite has one daemon per file) ----
  // Registers or extends this daemon's lease. false: it had expired first (a paused VM):
  // rows of ours may have been adopted, and our guarded writes to them change nothing.
  virtual task<bool> renew_lease() = 0;
  // In-flight rows of daemons whose lease ended, now this daemon's (at a new epoch): up to
  // `limit`. processing rows need nothing more (due_polls returns them); submitting and
  // downloading rows are what a restart would find. Always empty on SQLite.
  virtual task<std::vector<job_row>> adopt_expired(int limit) = 0;
  // In-flight rows (submitting, processing, downloading) that other daemons hold: an idle
  // daemon waits for them (their owner finishes them, or its lease ends and they are
  // adopted) before `--exit-when-idle` lets it go. Always 0 on SQLite.
  virtual task<std::int64_t> held_elsewhere() = 0;
  // A clean stop: this daemon's lease ends now, so the others adopt what it leaves in
  // flight at their next renewal instead of a lease later.
  virtual task<void> retire() = 0;
  // The 1302 back-off shared by every daemon claiming on (account, model), with the figures
  // of the daemon's own AIMD (set once, before the first claim). SQLite: nothing (one daemon,
  // its admission is enough).
  virtual void set_lane_backoff(const lane_backoff& policy) = 0;
  virtual task<void> share_rate_limit(std::string_view account, std::string_view model, int cap) = 0;

  // ---- Upkeep (housekeeping.hpp): bounded steps, each a short transaction ----
  virtual task<retention_outcome> apply_retention(const ops::retention_config& rules, millis now) = 0;
  // Keeps the newest 20,000 run-time samples (what the learner reads at start).
  virtual task<std::int64_t> trim_duration_samples() = 0;

  // ---- Account pauses (account_store.hpp) ----
  virtual task<void> pause(std::string_view account, std::string_view reason, std::optional<millis> until,
                           paused_by by) = 0;
  virtual task<bool> lift(std::string_view account, paused_by by) = 0;
  // Deletes the account's pause whoever set it (the operator's resume); whether there was one.
  virtual task<bool> resume(std::string_view account) = 0;
  virtual task<std::vector<account_pause_row>> pauses() = 0;

  // ---- The notice outbox (notice_outbox.hpp), for the daemon's notifier ----
  virtual notice_outbox& notices() = 0;

  // ---- Ledger sums for the budget (charge_store.hpp) ----
  virtual task<std::int64_t> spent_since(millis since) = 0;
  virtual task<std::int64_t> spent_by_batch(std::string_view batch) = 0;
};

}  // namespace vidq::store
