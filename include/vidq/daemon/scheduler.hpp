#pragma once
// The heart of `vidq run` (DESIGN.md §2): one coroutine loop on one io_context that claims
// queued jobs while admission has free slots, submits them write-ahead, polls them on their
// schedule and downloads the results, recording every step in SQLite before acting on it.
// docs/DAEMON.md tells the whole story; docs/ENGINE_DECISIONS.md §0 the pure pieces used.
//
// Every provider call runs as its own task coroutine; the loop only decides what to start.
// The database is the only state that matters: anything kept in memory here (admission
// counts, the fairness turn, learned durations) is rebuilt from it at start, so kill -9 at
// any moment loses nothing (recovery: submitting → ambiguous policy, processing → polled
// again, downloading → downloaded again).
//
// The hot path reaches the store through store::daemon_store, whose calls are awaitable
// (PostgreSQL, issue 14): every function that makes one is a coroutine. On SQLite none of
// them suspends, so the loop runs as if they were plain calls. What is not behind that seam
// yet (notices, the WAL checkpoint, db_identity, the operator's pause through
// daemon_control) uses the SQLite connection directly when there is one, and is skipped on
// PostgreSQL (store/daemon_store.hpp lists it; docs/SCALING.md says what that costs).
#include "vidq/core/clock.hpp"
#include "vidq/daemon/control.hpp"
#include "vidq/daemon/notifier.hpp"
#include "vidq/engine/admission.hpp"
#include "vidq/engine/breaker.hpp"
#include "vidq/engine/db_lock.hpp"
#include "vidq/engine/disk_pressure.hpp"
#include "vidq/engine/duration_learner.hpp"
#include "vidq/engine/expected_duration.hpp"
#include "vidq/engine/fairness.hpp"
#include "vidq/engine/fetch.hpp"
#include "vidq/engine/poll_schedule.hpp"
#include "vidq/notify/transport.hpp"
#include "vidq/ops/config.hpp"
#include "vidq/ops/metrics.hpp"
#include "vidq/output/free_space.hpp"
#include "vidq/provider/client.hpp"
#include "vidq/store/account_store.hpp"
#include "vidq/store/daemon_store.hpp"
#include "vidq/store/db_identity.hpp"
#include "vidq/store/dispatch_store.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace vidq::store {
class database;
}

namespace vidq::daemon {

struct scheduler_options {
  millis idle_check = 200;         // PRAGMA data_version period: new rows noticed this fast
  millis rescan = 5'000;           // full queue look even when nothing seemed to change
  millis housekeeping = 60'000;    // WAL checkpoint and [retention] pass
  std::optional<millis> watchdog;  // systemd WatchdogSec: WATCHDOG=1 every half of it
  millis shutdown_grace = 20'000;  // submits in flight get this long to finish on SIGTERM
  int max_downloads = 8;           // concurrent result downloads
  bool exit_when_idle = false;     // return once nothing can progress without an operator
  std::uint64_t seed = 0;          // RNG for jitter; 0 = from std::random_device
  // After SQLITE_BUSY (another connection holds the write lock), one write is tried again
  // this often; the connection's own busy timeout (cmd_run: 25 ms) bounds each attempt.
  millis db_retry = 100;
  // Several daemons on PostgreSQL: the lease is renewed (and expired peers' rows adopted)
  // this often; the store's lease lasts longer (postgres_daemon_store, 30 s by default).
  millis lease_renew = 10'000;
  // Free space of [output] dir; empty = statvfs (output/free_space.hpp). Tests script it.
  output::free_space_probe free_space;
};

struct scheduler_deps {
  // The SQLite connection, for what is not behind `store` yet (store/daemon_store.hpp);
  // null on PostgreSQL, where those parts are skipped.
  store::database* db;
  // The hot path: claims, polls, record_*, pauses, ledger sums. Over `db` on SQLite
  // (store::sqlite_daemon_store); must outlive the scheduler.
  store::daemon_store& store;
  const vidq::clock& clock;
  engine::result_fetcher& fetcher;
  ops::metrics& metrics;
  // [[notify]] delivery (null: notices are fanned out and manifests written, nothing sent)
  // and the configured targets with their secrets loaded.
  notify::transport* notice_transport = nullptr;
  std::vector<notify::target> notify_targets = {};
};

using client_map = std::map<std::string, std::unique_ptr<provider::provider_client>, std::less<>>;

class scheduler final : public daemon_control {
 public:
  // `clients`: one per configured account that could be created (key loaded). Rows of an
  // account without a client fail `unknown_account` at claim.
  scheduler(boost::asio::any_io_executor ex, scheduler_deps deps, ops::config cfg, client_map clients,
            scheduler_options options = {});
  ~scheduler() override;

  // Recovery, then the loop, until request_stop() (or idleness with exit_when_idle); then
  // the shutdown drain. Errors: a database that cannot be read at start; database_lost
  // when the database file or its WAL was deleted or replaced while running (then the
  // loop stopped within a tick, sent nothing more, and copied what only the deleted WAL
  // held into the database file when that file is intact; `vidq run` exits 6).
  boost::asio::awaitable<result<void>> run();
  // SIGTERM/SIGINT: stop admitting; polls and downloads are cancelled at once (their rows
  // stay resumable), submits get the grace period, then are cancelled too.
  void request_stop();
  // SIGHUP: caps, budgets, polling and retry settings, accounts and their clients. Clients
  // being replaced are kept alive until exit (tasks may still use them).
  // `targets`: the [[notify]] targets of `cfg` with their secrets (nullopt: none).
  // Re-reads the account pauses through the store before returning (the caller awaits it).
  boost::asio::awaitable<void> reload(ops::config cfg, client_map clients, std::vector<notify::target> targets = {});
  // Called once recovery is done and the loop runs (sd_notify READY=1).
  void on_ready(std::function<void()> f) { on_ready_ = std::move(f); }
  // After run() returned with exit_when_idle: why queued work was left that cannot move
  // without an operator (paused accounts, a budget block, no account serving a model);
  // empty when every job is terminal (or the stop was a signal). `vidq run` exits 4 then.
  const std::vector<std::string>& stranded() const { return stranded_; }

  // daemon_control
  runtime_view runtime() const override;
  void wake() override;
  boost::asio::awaitable<result<bool>> pause_account(std::string_view name, std::string_view reason) override;
  boost::asio::awaitable<result<bool>> resume_account(std::string_view name) override;

 private:
  struct task_slot {
    enum class kind { submit, poll, download } what;
    boost::asio::cancellation_signal signal;
  };

  // scheduler.cpp: the loop
  boost::asio::awaitable<result<void>> start_up();
  // submitting → failed from a task, so that a locked database makes it wait, not the
  // loop. `holds_slot`: admission counted the row (release it afterwards).
  // `charged`: the submit may have created a task (ambiguous, 1231); the failure records
  // its charge in the same transaction.
  boost::asio::awaitable<void> fail_submitting(store::job_row row, std::string code, std::string message,
                                               bool holds_slot,
                                               std::optional<store::charge_origin> charged = std::nullopt);
  // The database and WAL are still the files the paths name (db_identity); on the first
  // mismatch: log, unhealthy, stop everything. true while the database is lost.
  bool database_lost();
  void rescue_lost_wal();
  boost::asio::awaitable<void> tick();
  boost::asio::awaitable<void> sync_pauses();
  void sync_accounts();
  boost::asio::awaitable<void> housekeeping();
  void sqlite_housekeeping();  // the WAL checkpoint
  // Rows left submitting/downloading (ours after a stop, or adopted): downloads again, or
  // the ambiguous-submit policy. Returns the price the spawned submits reserve.
  std::int64_t resume_transient(std::vector<store::job_row> rows, const char* why);
  boost::asio::awaitable<void> keep_lease();
  void keep_watchdog_happy();
  boost::asio::awaitable<bool> idle_now();
  millis next_wake() const;
  boost::asio::awaitable<void> sleep_until(millis when);
  boost::asio::awaitable<void> drain();
  void spawn(task_slot::kind what, boost::asio::awaitable<void> body);

  // admit.cpp: claims under admission, budget and fairness
  boost::asio::awaitable<void> admit();
  boost::asio::awaitable<void> admit_lane(const std::string& account, const std::string& model,
                                          std::vector<store::queue_group> groups);
  // Pool groups of one model ('' / '*' / unconfigured 'default'): spread over the accounts
  // that serve it, most free slots first (engine/routing.hpp).
  boost::asio::awaitable<void> admit_pool(const std::string& model, std::vector<store::queue_group> groups);
  // Accounts with a client that may serve `model` from the pool.
  std::vector<const ops::account_config*> pool_accounts(std::string_view model) const;
  // The configured capacity of `account` (ops::account_config::cap()), which a claim passes
  // to the store; 0 for an account the config lacks.
  int configured_cap(std::string_view account) const;
  // Bookkeeping and submit tasks for rows just claimed for `account`.
  boost::asio::awaitable<void> start_submits(const std::string& account, const std::string& model,
                                             const std::string& batch, std::vector<store::job_row> rows);
  boost::asio::awaitable<void> fail_unclaimable(const store::queue_group& group, std::string_view code,
                                                std::string_view message);
  // A claim that did not go through: busy → the next pass; anything else is logged.
  void claim_refused(const error_code& ec, const std::string& account, const std::string& model);
  boost::asio::awaitable<int> affordable(const std::string& batch, const std::string& model, int wanted);
  boost::asio::awaitable<std::int64_t> batch_spend(const std::string& batch);

  // submit_task.cpp
  boost::asio::awaitable<void> submit_task(store::job_row row);
  boost::asio::awaitable<void> after_submit_verdict(const store::job_row& row, provider::verdict v);
  void refund(const store::job_row& row);  // budget reservation of a job that was not charged

  // breaker.cpp: account-wide faults (engine/breaker.hpp)
  // Feeds a verdict of a submit or poll of `account` to the breaker; true when the breaker
  // is open (opened now or before): the caller then treats the failure as the account's.
  boost::asio::awaitable<bool> note_account_fault(const std::string& account, const provider::verdict& v);
  void note_healthy_reply(const std::string& account) { breakers_.on_healthy_reply(account); }
  void start_probes();
  boost::asio::awaitable<void> probe_task(std::string account);

  // poll_task.cpp: polls and downloads
  boost::asio::awaitable<void> start_polls();
  boost::asio::awaitable<void> poll_task(store::job_row row);
  void start_downloads();
  boost::asio::awaitable<void> download_task(store::job_row row);
  // A download that gave up on a local cause: re-poll the stored task, download again.
  boost::asio::awaitable<void> refetch_after_failed_download(const store::job_row& row, const provider::verdict& v,
                                                             int attempts);
  // disk.cpp: the disk-pressure pause (engine/disk_pressure.hpp)
  void check_disk();
  void pause_downloads_for_disk(store::job_row row, const provider::verdict& v);

  // db_writes.cpp: writes from task coroutines. One attempt now if the database is not
  // known to be locked; on SQLITE_BUSY the coroutine (never the loop) waits db_retry and
  // tries again, until the write goes through or the task is cancelled (then the busy
  // error is returned and the row keeps its state: recovery at the next start handles it).
  // `write` returns a store call (store::daemon_store) on `row`, started and awaited by
  // persist; a write that finds the row moved (false) is logged here, once for all callers.
  boost::asio::awaitable<result<bool>> persist(const store::job_row& row,
                                               std::function<boost::asio::awaitable<result<bool>>()> write);
  // Loop-side writes: may one be tried now? (false: the lock is held; try next tick)
  bool db_may_write() { return db_lock_.may_try(now()); }
  // Feeds a write's outcome to the lock watch; true when it was SQLITE_BUSY.
  bool note_db_outcome(const error_code& ec);

  // poll_plan.cpp: when to look at a task next, and learning run times from the looks
  struct job_kind {
    std::string key;              // engine::duration_key
    engine::duration_dist prior;  // built-in × duration_scale
  };
  job_kind kind_of(const store::job_row& row) const;
  engine::duration_dist expected_for(const store::job_row& row);
  // A task was just accepted: whether it probes (duration_learner) for its whole life.
  void note_submitted(const store::job_row& row);
  // The lane has work waiting for its slots, or had while this task was in flight.
  bool hurried(const store::job_row& row);
  // The next look at `row`, just submitted or polled (saw it running) at `t`.
  millis plan_poll(const store::job_row& row, millis submitted, millis t, int polls_done);
  void note_plan(const store::job_row& row, millis t, millis at, double pressure);
  void forget_task(std::int64_t id);  // the task left processing
  void forget_stale_plans();          // housekeeping: tasks that left without our poll
  // What a finished look saw: done at `detected`, or (nullopt) still running when given up.
  void observe_duration(const store::job_row& row, millis submitted, std::optional<millis> detected);
  boost::asio::awaitable<void> load_duration_samples();
  std::vector<duration_view> learned_durations() const;

  // helpers (scheduler.cpp)
  void release(const std::string& account, const std::string& model);
  boost::asio::awaitable<void> pause_from_provider(const std::string& account, const provider::verdict& v);
  double random01();
  millis now() const { return clock_.now(); }
  void note_requeue(millis not_before);

  boost::asio::any_io_executor ex_;
  store::database* db_;  // null on PostgreSQL
  store::daemon_store& store_;
  const vidq::clock& clock_;
  engine::result_fetcher& fetcher_;
  ops::metrics& metrics_;
  ops::config cfg_;
  client_map clients_;
  std::vector<std::unique_ptr<provider::provider_client>> retired_clients_;
  scheduler_options opt_;

  // The operator's pause/resume through daemon_control, which is synchronous: SQLite only
  // (PostgreSQL has no status server yet; `vidq account pause` is the way there).
  // The AIMD figures of admission_, also given to the store (PostgreSQL shares them).
  engine::aimd_config aimd_;
  engine::admission admission_;
  engine::fair_share fairness_;
  engine::duration_learner learner_;
  engine::account_breakers breakers_;
  std::map<std::string, std::size_t, std::less<>> route_turn_;  // model → pool tie-break turn
  std::vector<std::string> stranded_;
  std::map<std::string, engine::request_budget, std::less<>> poll_budgets_;
  std::mt19937_64 rng_;

  std::map<std::uint64_t, std::unique_ptr<task_slot>> tasks_;
  std::uint64_t next_task_ = 0;
  std::set<std::int64_t> busy_jobs_;        // a task is working on these rows
  // start_polls: rows whose poll ended while due_polls was being read (stale in its answer).
  bool reading_due_polls_ = false;
  std::set<std::int64_t> polled_while_reading_;
  std::set<std::int64_t> urls_refreshed_;   // re-polled once after a 403/404 download
  std::set<std::pair<std::string, std::string>> backlogged_;  // lanes that left rows queued
  std::set<std::pair<std::string, std::string>> dense_lanes_;  // backlogged until their last task is in
  std::set<std::int64_t> probing_jobs_;                        // tasks on the probe ladder (duration_learner)
  struct poll_plan {
    std::string account;
    double per_second = 0;  // the GET rate its current plan spends, unpressured
    millis at = 0;
  };
  std::map<std::int64_t, poll_plan> poll_plans_;
  std::map<std::string, double, std::less<>> planned_rate_;  // account → Σ per_second
  std::deque<store::job_row> download_queue_;
  int downloads_running_ = 0;

  bool queue_dirty_ = true;
  millis next_rescan_ = 0;
  std::optional<millis> next_requeue_;      // earliest not_before this process set
  std::optional<millis> poll_wait_;         // when a due poll waits for the GET budget
  std::optional<millis> next_poll_;         // the earliest future next_poll_at
  millis last_admit_ = 0;
  millis next_housekeeping_ = 0;
  millis next_lease_ = 0;
  millis last_watchdog_ = 0;
  bool woken_ = false;
  std::int64_t spend_today_ = 0;            // milli-CNY since utc_day_start(spend_day_)
  millis spend_day_ = 0;
  std::map<std::string, std::int64_t, std::less<>> batch_spend_;
  std::optional<std::string> budget_block_;
  engine::disk_pause disk_;
  std::deque<store::job_row> disk_waiting_;  // downloads stopped by a full disk, resumed first
  engine::db_lock_watch db_lock_;
  store::db_identity identity_;
  std::optional<std::string> db_lost_;
  std::unique_ptr<notifier> notifier_;

  millis started_at_ = 0;
  millis last_tick_ = 0;
  bool stopping_ = false;
  bool ready_ = false;
  std::function<void()> on_ready_;
  boost::asio::steady_timer wake_timer_;
};

}  // namespace vidq::daemon
