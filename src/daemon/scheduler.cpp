// The loop of `vidq run`: start-up recovery, one pass per wake-up (notice changes, admit,
// start due polls and downloads), sleep until the next thing to do, drain on shutdown.
#include "vidq/daemon/scheduler.hpp"

#include "vidq/daemon/job_log.hpp"
#include "vidq/engine/routing.hpp"
#include "vidq/ops/log.hpp"
#include "vidq/ops/sd_notify.hpp"
#include "vidq/store/db_identity.hpp"
#include "vidq/store/housekeeping.hpp"
#include "vidq/store/sqlite.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>

#include <algorithm>
#include <chrono>

namespace vidq::daemon {

namespace asio = boost::asio;

namespace {
constexpr millis notice_keep = 7 * 86'400'000;  // delivered / given-up notices, then pruned

millis scaled(millis ms, double scale) { return std::max<millis>(1, static_cast<millis>(static_cast<double>(ms) * scale)); }
std::uint64_t mib_to_bytes(std::int64_t mib) { return static_cast<std::uint64_t>(std::max<std::int64_t>(mib, 0)) << 20; }
}  // namespace

scheduler::scheduler(asio::any_io_executor ex, scheduler_deps deps, ops::config cfg, client_map clients,
                     scheduler_options options)
    : ex_(ex),
      db_(deps.db),
      store_(deps.store),
      clock_(deps.clock),
      fetcher_(deps.fetcher),
      metrics_(deps.metrics),
      cfg_(std::move(cfg)),
      clients_(std::move(clients)),
      opt_(options),
      // Provider time: a time-scaled simulator scales it too.
      aimd_{.decrease_factor = 0.5,
            .quiet_period = scaled(60'000, cfg_.polling.duration_scale),
            .decrease_holdoff = scaled(5'000, cfg_.polling.duration_scale)},
      admission_(aimd_),
      rng_(options.seed != 0 ? options.seed : std::random_device{}()),
      wake_timer_(ex) {
  // On SQLite a look at the outbox costs microseconds: every pass. On PostgreSQL it is a few
  // round trips: as often as the daemon looks for new rows, or sooner when one of its
  // deliveries or manifests finished.
  const millis notice_pass_interval = db_ ? 0 : opt_.idle_check;
  notifier_ = std::make_unique<notifier>(
      ex, notifier_deps{store_.notices(), store_, deps.clock, deps.metrics, deps.notice_transport, notice_pass_interval},
      cfg_, std::move(deps.notify_targets), options.seed);
  notifier_->on_progress([this] { wake(); });
  disk_.set_min_free(mib_to_bytes(cfg_.output_min_free_mb));
  // Several daemons on PostgreSQL back off and recover on a lane as this one does alone.
  store_.set_lane_backoff({.decrease_factor = aimd_.decrease_factor,
                           .decrease_holdoff = aimd_.decrease_holdoff,
                           .quiet_period = aimd_.quiet_period});
  db_lock_ = engine::db_lock_watch(opt_.db_retry);
  if (!opt_.free_space) opt_.free_space = output::free_bytes;
}

scheduler::~scheduler() = default;

asio::awaitable<result<void>> scheduler::run() {
  auto up = co_await start_up();
  if (!up) co_return up;
  ready_ = true;
  log::info("daemon_ready", {{"accounts", clients_.size()}, {"recovery_ms", now() - started_at_}});
  if (on_ready_) on_ready_();
  while (!stopping_) {
    // Two steady-clock reads a pass: what the loop costs, whatever the wall clock does.
    const auto pass_started = std::chrono::steady_clock::now();
    co_await tick();
    metrics_.loop_tick.record(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - pass_started).count());
    if (opt_.exit_when_idle) {
      const bool idle = co_await idle_now();
      if (idle) {
        log::info("daemon_idle", {{"detail", "nothing queued or in flight that can progress; exiting"}});
        break;
      }
    }
    co_await sleep_until(next_wake());
  }
  co_await drain();
  // What is still in flight (processing rows, cut downloads) goes to the other daemons now,
  // not a lease later; the next start of this one is a new node either way.
  if (auto retired = co_await store_.retire(); !retired) {
    log::warn("lease_not_retired", {{"error", retired.error().message()}});
  }
  if (db_lost_) {
    rescue_lost_wal();
    co_return result<void>{boost::system::in_place_error, make_error_code(errc::database_lost)};
  }
  co_return result<void>{};
}

// ---- start-up -------------------------------------------------------------------------

asio::awaitable<result<void>> scheduler::start_up() {
  started_at_ = now();
  // The connection is open and has read (WAL mode): the -wal file exists now.
  if (db_) identity_ = store::db_identity::record(db_->path());
  sync_accounts();
  (void)co_await store_.changed_elsewhere();  // the baseline
  co_await sync_pauses();
  auto counts = co_await store_.inflight_counts();
  if (!counts) co_return result<void>(boost::system::in_place_error, counts.error());
  admission_.seed(*counts);
  co_await load_duration_samples();
  // Recovery (DESIGN.md §2). processing rows need nothing: their next_poll_at is in the DB.
  if (!co_await store_.renew_lease()) log::warn("lease_not_registered", {{"detail", "the next pass tries again"}});
  next_lease_ = now() + opt_.lease_renew;
  auto transient = co_await store_.transient_rows();
  if (!transient) co_return result<void>(boost::system::in_place_error, transient.error());
  const std::int64_t resumed_price = resume_transient(std::move(*transient), "recovery");
  // Today's spend is the ledger's (every task charged since 00:00 UTC, retries included)
  // plus what the tasks just spawned will charge: resumed submits and ambiguous ones.
  spend_day_ = engine::utc_day_start(now());
  auto spent = co_await store_.spent_since(spend_day_);
  if (!spent) co_return result<void>(boost::system::in_place_error, spent.error());
  spend_today_ = *spent + resumed_price;
  co_return result<void>{};
}

std::int64_t scheduler::resume_transient(std::vector<store::job_row> rows, const char* why) {
  int ambiguous = 0;
  int downloads = 0;
  std::int64_t resumed_price = 0;
  for (auto& row : rows) {
    if (row.state == job_state::processing) continue;  // polled when due, like any other
    if (row.state == job_state::downloading) {
      download_queue_.push_back(std::move(row));
      ++downloads;
      continue;
    }
    // submitting: the POST may or may not have reached the provider before the stop.
    ++ambiguous;
    if (cfg_.retry.on_ambiguous_submit == ops::ambiguous_submit_policy::resubmit) {
      log_job(log::level::warn, "submit_resumed", row, {{"detail", "resubmitting with the same request_id"}});
      resumed_price += engine::price_of(row.model, cfg_.budget);  // reserved like a fresh claim
      busy_jobs_.insert(row.id);
      spawn(task_slot::kind::submit, submit_task(std::move(row)));
      continue;
    }
    std::string message =
        "vidq stopped while submitting request_id " + row.request_id.value_or("?") +
        "; the provider may have created (and billed) a task. Check the provider console for that "
        "request_id, then `vidq retry " + std::to_string(row.id) + "` to submit again if it has none.";
    // The POST may have created (and billed) a task: the task records the failure with its
    // charge. It runs after the spend is read, so its price is reserved there.
    resumed_price += engine::price_of(row.model, cfg_.budget);
    busy_jobs_.insert(row.id);
    spawn(task_slot::kind::submit, fail_submitting(std::move(row), "submit_ambiguous", std::move(message), true,
                                                   store::charge_origin::ambiguous));
  }
  if (ambiguous + downloads > 0) {
    log::info(why, {{"ambiguous_submits", ambiguous}, {"downloads_restarted", downloads}});
  }
  return resumed_price;
}

asio::awaitable<void> scheduler::keep_lease() {
  const millis t = now();
  next_lease_ = t + opt_.lease_renew;
  auto renewed = co_await store_.renew_lease();
  if (!renewed) {
    log::warn("lease_not_renewed", {{"error", renewed.error().message()}});
    co_return;
  }
  if (!*renewed) {
    log::warn("lease_expired", {{"detail", "this daemon did not renew in time (paused?); rows another daemon "
                                           "adopted meanwhile refuse our writes and are dropped"}});
  }
  // Another daemon's lease ended (kill -9, a lost host): its tasks are ours now, polled and
  // downloaded, never submitted again.
  auto adopted = co_await store_.adopt_expired(100);
  if (!adopted) {
    log::warn("adoption_failed", {{"error", adopted.error().message()}});
    co_return;
  }
  if (adopted->empty()) co_return;
  log::info("adopted", {{"rows", static_cast<std::int64_t>(adopted->size())}});
  spend_today_ += resume_transient(std::move(*adopted), "adoption");
  queue_dirty_ = true;
  next_poll_ = now();
}

asio::awaitable<void> scheduler::fail_submitting(store::job_row row, std::string code, std::string message,
                                                 bool holds_slot, std::optional<store::charge_origin> charged) {
  auto done = co_await persist(row, [&] {
    return charged ? store_.record_failed_charged(row, *charged, code, message,
                                                  engine::price_of(row.model, cfg_.budget))
                   : store_.record_failed(row, job_state::submitting, code, message);
  });
  if (is_true(done)) log_job(log::level::warn, "job_failed", row, {{"code", code}, {"message", message}});
  // Written or not (cancelled by a shutdown: the next start sees the row again), no task
  // of this process holds the row or its slot any more.
  if (holds_slot) release(row.account, row.model);
  busy_jobs_.erase(row.id);
}

bool scheduler::database_lost() {
  if (db_lost_) return true;
  if (!db_) return false;  // PostgreSQL: a lost server is a reconnect (store/postgres/pool.hpp)
  auto problem = identity_.check();
  if (!problem) return false;
  db_lost_ = std::move(problem);
  log::error("database_lost", {{"detail", *db_lost_},
                               {"action", "no more submits; stopping now and exiting 6 so that systemd restarts "
                                          "vidq on the file at the path"}});
  ops::notify_status("database lost: " + *db_lost_);
  request_stop();
  return true;
}

void scheduler::rescue_lost_wal() {
  // Only this connection can still read what the deleted WAL holds (tasks created, task
  // ids): a checkpoint copies it into the database file, which is still at its path. A
  // replaced database file gets nothing: writing into it would mix two databases.
  if (!identity_.only_wal_lost()) {
    log::error("database_lost_not_rescued",
               {{"detail", "the database file itself was deleted or replaced; commits since then are lost"}});
    return;
  }
  db_->set_busy_timeout(5'000);  // the loop serves nothing any more: waiting is fine now
  auto c = store::checkpoint(*db_, store::checkpoint_mode::truncate);
  if (!c || c->busy) {
    log::error("database_lost_not_rescued", {{"error", c ? std::string("busy") : c.error().message()}});
    return;
  }
  log::warn("database_lost_rescued",
            {{"wal_frames", c->wal_frames}, {"checkpointed_frames", c->checkpointed_frames},
             {"detail", "the deleted WAL was copied into the database file; a restart reads it"}});
}

void scheduler::sync_accounts() {
  for (const auto& a : cfg_.accounts) {
    admission_.set_account(a.name, a.cap());
    auto it = poll_budgets_.find(a.name);
    if (it == poll_budgets_.end()) {
      poll_budgets_.emplace(a.name,
                            engine::request_budget(cfg_.polling.requests_per_second, cfg_.polling.budget_window));
    } else {
      it->second.set_rate(cfg_.polling.requests_per_second, cfg_.polling.budget_window);
    }
  }
}

// ---- one pass -------------------------------------------------------------------------

asio::awaitable<void> scheduler::tick() {
  const millis t = now();
  last_tick_ = t;
  ++metrics_.loop_ticks;
  if (database_lost()) co_return;  // nothing more goes into a deleted file
  keep_watchdog_happy();
  if (t >= next_housekeeping_) co_await housekeeping();
  if (t >= next_lease_) co_await keep_lease();
  if (is_true(co_await store_.changed_elsewhere())) {
    queue_dirty_ = true;
    co_await sync_pauses();
  }
  if (t >= next_rescan_) queue_dirty_ = true;
  if (next_requeue_ && t >= *next_requeue_) {
    queue_dirty_ = true;
    next_requeue_.reset();
  }
  if (auto change = admission_.next_change(last_admit_); change && t >= *change) queue_dirty_ = true;
  if (stopping_) co_return;
  if (t >= disk_.next_check()) check_disk();
  if (queue_dirty_) co_await admit();
  start_probes();
  co_await start_polls();
  start_downloads();
  // Not awaited: on PostgreSQL a pass is a few round trips, which would hold this tick and
  // the polls that come due meanwhile.
  notifier_->poke();
}

asio::awaitable<void> scheduler::sync_pauses() {
  auto rows = co_await store_.pauses();
  if (!rows) {
    log::warn("pauses_unreadable", {{"error", rows.error().message()}});
    co_return;
  }
  for (const auto& a : cfg_.accounts) {
    auto it = std::find_if(rows->begin(), rows->end(), [&](const auto& r) { return r.account == a.name; });
    const bool was_paused = admission_.is_paused(a.name, now());
    admission_.resume(a.name);
    if (it != rows->end()) {
      admission_.pause(a.name, it->reason, it->until);
      // A breaker pause from before a restart: probe it, rather than wait for an operator.
      if (it->by == store::paused_by::breaker) breakers_.restore_open(a.name, it->reason, now());
      else breakers_.close(a.name);  // an operator's or the provider's pause replaced it
    } else {
      breakers_.close(a.name);  // `vidq account resume`: the operator's word overrides probes
      if (was_paused) log::info("account_resumed", {{"account", a.name}});
    }
  }
}

void scheduler::keep_watchdog_happy() {
  // From the loop itself: a loop stuck in a long call stops the pings and systemd restarts us.
  if (!opt_.watchdog || last_tick_ - last_watchdog_ < *opt_.watchdog / 2) return;
  last_watchdog_ = last_tick_;
  ops::notify_watchdog();
}

asio::awaitable<void> scheduler::housekeeping() {
  const millis t = now();
  next_housekeeping_ = t + opt_.housekeeping;
  if (db_) sqlite_housekeeping();
  forget_stale_plans();
  // The learned durations need the newest few hundred samples per kind; the table stays
  // bounded whatever [retention] says. A busy database just waits for the next pass.
  if (db_may_write()) {
    auto trimmed = co_await store_.trim_duration_samples();
    if (!trimmed && !note_db_outcome(trimmed.error())) {
      log::warn("duration_samples_trim_failed", {{"error", trimmed.error().message()}});
    }
    // The outbox stays bounded whatever [retention] says: finished notices go after 7 days
    // (pending ones never; a delivery gives up after its target's retry_for_hours).
    auto pruned = co_await store_.notices().prune(t - notice_keep, 500);
    if (!pruned) {
      log::warn("notice_prune_failed", {{"error", pruned.error().message()}});
    } else if (*pruned > 0) {
      log::info("notices_pruned", {{"notices", *pruned}});
    }
  }
  if (!cfg_.retention.finished_jobs && !cfg_.retention.events) co_return;
  if (!db_may_write()) {
    next_housekeeping_ = t + 1'000;
    co_return;
  }
  const ops::retention_config rules = cfg_.retention;  // a reload may swap cfg_ meanwhile
  auto r = co_await store_.apply_retention(rules, t);
  if (!r && note_db_outcome(r.error())) {
    next_housekeeping_ = t + 1'000;
    co_return;
  }
  if (r) note_db_outcome({});
  if (!r) {
    log::warn("retention_failed", {{"error", r.error().message()}});
    co_return;
  }
  if (r->jobs_deleted + r->events_deleted > 0) {
    log::info("retention", {{"jobs_deleted", r->jobs_deleted}, {"events_deleted", r->events_deleted}});
  }
  if (r->more) next_housekeeping_ = t + 1'000;  // bounded chunks, a second apart
}

void scheduler::sqlite_housekeeping() {
  // PASSIVE never waits for readers: an operator's long sqlite3 session only delays it.
  if (auto c = store::checkpoint(*db_); !c) log::warn("checkpoint_failed", {{"error", c.error().message()}});
}

void scheduler::note_requeue(millis not_before) {
  if (!next_requeue_ || not_before < *next_requeue_) next_requeue_ = not_before;
}

millis scheduler::next_wake() const {
  const millis t = now();
  millis when = t + opt_.idle_check;
  auto consider = [&](std::optional<millis> m) {
    if (m && *m < when) when = std::max(*m, t);
  };
  consider(next_rescan_);
  consider(next_requeue_);
  consider(admission_.next_change(t));
  consider(poll_wait_);
  consider(next_poll_);
  consider(breakers_.next_probe());
  consider(disk_.next_check());
  if (queue_dirty_ && db_lock_.locked()) consider(db_lock_.next_try());
  consider(notifier_->next_wake());
  return when;
}

asio::awaitable<void> scheduler::sleep_until(millis when) {
  if (woken_) {
    woken_ = false;
    co_return;
  }
  const millis delay = std::max<millis>(when - now(), 0);
  wake_timer_.expires_after(std::chrono::milliseconds(delay));
  boost::system::error_code ec;
  co_await wake_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  woken_ = false;
}

void scheduler::wake() {
  woken_ = true;
  wake_timer_.cancel();
}

asio::awaitable<bool> scheduler::idle_now() {
  if (!tasks_.empty() || !download_queue_.empty() || !disk_waiting_.empty()) co_return false;
  if (co_await notifier_->has_work()) co_return false;  // a batch_finished notice is the point of a cron run
  auto counts = co_await store_.inflight_counts();
  if (!counts || !counts->empty()) co_return false;
  auto transient = co_await store_.transient_rows();
  if (!transient || !transient->empty()) co_return false;
  auto elsewhere = co_await store_.held_elsewhere();  // another daemon's, ours once its lease ends
  if (!elsewhere || *elsewhere > 0) co_return false;
  auto next = co_await store_.next_poll_time();
  if (!next || next->has_value()) co_return false;
  auto groups = co_await store_.queued_groups();
  if (!groups) co_return false;
  // Queued work is left: idle only if none of it can move without an operator, and then
  // say why (`vidq run --exit-when-idle` exits 4 with these lines).
  std::set<std::string> why;
  for (const auto& g : *groups) {
    std::vector<std::string> serving;
    if (engine::asks_for_pool(g.account, cfg_)) {
      for (const auto* a : pool_accounts(g.model)) serving.push_back(a->name);
      if (serving.empty()) {
        why.insert("no configured account serves model " + g.model + " (queued in batch '" + g.batch +
                   "'): add it to an account's `models`, or an account");
        continue;
      }
    } else {
      if (!clients_.contains(g.account)) continue;  // failed at the next claim anyway
      serving.push_back(g.account);
    }
    for (const auto& name : serving) {
      if (breakers_.is_open(name)) co_return false;  // probing: it lifts itself
      const auto p = admission_.pause_state(name, now());
      if (p.status != engine::account_status::active) {
        why.insert("account " + name + " is paused: " + p.reason);
      } else if (budget_block_) {
        why.insert("budget: " + *budget_block_);
      } else {
        co_return false;
      }
    }
  }
  stranded_.assign(why.begin(), why.end());
  co_return true;
}

// ---- tasks ----------------------------------------------------------------------------

void scheduler::spawn(task_slot::kind what, asio::awaitable<void> body) {
  const auto key = next_task_++;
  auto slot = std::make_unique<task_slot>();
  slot->what = what;
  auto cancel_slot = slot->signal.slot();
  tasks_.emplace(key, std::move(slot));
  asio::co_spawn(ex_, std::move(body),
                 asio::bind_cancellation_slot(cancel_slot, [this, key](std::exception_ptr e) {
                   if (e) {
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& x) {
                       log::error("task_crashed", {{"what", x.what()}});
                     }
                   }
                   // Not erased here: the signal must outlive the completion that uses it.
                   asio::post(ex_, [this, key] {
                     tasks_.erase(key);
                     wake();
                   });
                 }));
}

asio::awaitable<void> scheduler::drain() {
  stopping_ = true;
  const millis started = now();
  // Polls and downloads are safe to cut: their rows stay processing/downloading and the
  // next start resumes them. Submits get the grace: cutting one after its write makes it
  // ambiguous, which is an operator's problem.
  // Also with a lost WAL: a submit already sent records its task id into the deleted WAL,
  // which rescue_lost_wal() copies into the database file after the drain.
  for (auto& [key, t] : tasks_) {
    if (t->what != task_slot::kind::submit) t->signal.emit(asio::cancellation_type::terminal);
  }
  notifier_->stop();  // an attempt cut here stays due: sent again at the next start
  const millis grace_end = started + opt_.shutdown_grace;
  auto busy = [&] { return !tasks_.empty() || !notifier_->drained(); };
  while (busy() && now() < grace_end) co_await sleep_until(std::min(grace_end, now() + 50));
  if (!tasks_.empty()) {
    log::warn("shutdown_grace_over", {{"tasks", tasks_.size()}});
    for (auto& [key, t] : tasks_) t->signal.emit(asio::cancellation_type::terminal);
    const millis hard_end = now() + 5'000;
    while (!tasks_.empty() && now() < hard_end) co_await sleep_until(std::min(hard_end, now() + 50));
  }
  log::info("daemon_stopped", {{"drain_ms", now() - started},
                               {"tasks_left", tasks_.size()},
                               {"ticks", metrics_.loop_tick.count()},
                               {"tick_p99_ms", metrics_.loop_tick.quantile(0.99)},
                               {"tick_max_ms", metrics_.loop_tick.max()}});
}

void scheduler::request_stop() {
  if (!stopping_) {
    log::info("daemon_stopping", {});
    ops::notify_stopping();
  }
  stopping_ = true;
  wake();
}

// ---- shared helpers ---------------------------------------------------------------------

void scheduler::release(const std::string& account, const std::string& model) {
  admission_.on_released(account, model);
  queue_dirty_ = true;
  const std::pair<std::string, std::string> lane{account, model};
  if (!backlogged_.contains(lane) && admission_.in_flight(account, model) == 0) dense_lanes_.erase(lane);
}

asio::awaitable<void> scheduler::pause_from_provider(const std::string& account, const provider::verdict& v) {
  const std::string reason = v.error_code + ": " + v.message;
  const std::optional<millis> until = v.not_before;
  auto r = co_await store_.pause(account, reason, until, store::paused_by::provider);
  if (!r) log::error("pause_not_saved", {{"account", account}, {"error", r.error().message()}});
  if (!admission_.is_paused(account, now())) {
    log::warn("account_paused", {{"account", account},
                                 {"code", v.error_code},
                                 {"message", v.message},
                                 {"until", v.not_before ? boost::json::value(*v.not_before) : nullptr}});
  }
  admission_.pause(account, reason, v.not_before);
}

double scheduler::random01() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }

// ---- daemon_control ---------------------------------------------------------------------

runtime_view scheduler::runtime() const {
  runtime_view v;
  const millis t = now();
  v.started_at = started_at_;
  v.last_tick = last_tick_;
  v.draining = stopping_;
  v.budget_block = budget_block_;
  v.disk = disk_.view();
  v.db_locked_since = db_lock_.locked_since();
  v.db_lost = db_lost_;
  v.durations = learned_durations();
  for (const auto& [account, model] : admission_.lanes()) {
    v.lanes.push_back({account, model, admission_.in_flight(account, model), admission_.effective_cap(account, model, t),
                       admission_.configured_cap(account)});
  }
  for (const auto& a : cfg_.accounts) {
    const auto p = admission_.pause_state(a.name, t);
    v.accounts.push_back({a.name, std::string(ops::to_string(a.provider)), p.status != engine::account_status::active,
                          p.reason, p.until, breakers_.is_open(a.name), breakers_.failed_probes(a.name), a.models});
  }
  return v;
}

asio::awaitable<result<bool>> scheduler::pause_account(std::string_view name, std::string_view reason) {
  const std::string account(name);
  if (!cfg_.find_account(account)) co_return false;
  std::string why(reason);
  if (why.empty()) why = "paused by an operator";
  auto r = co_await store_.pause(account, why, std::nullopt, store::paused_by::operator_);
  if (!r) co_return result<bool>(boost::system::in_place_error, r.error());
  admission_.pause(account, why, std::nullopt);
  log::info("account_paused", {{"account", account}, {"by", "operator"}, {"message", why}});
  co_return true;
}

asio::awaitable<result<bool>> scheduler::resume_account(std::string_view name) {
  const std::string account(name);
  if (!cfg_.find_account(account)) co_return false;
  auto r = co_await store_.resume(account);
  if (!r) co_return result<bool>(boost::system::in_place_error, r.error());
  admission_.resume(account);
  log::info("account_resumed", {{"account", account}, {"by", "operator"}});
  queue_dirty_ = true;
  wake();
  co_return true;
}

asio::awaitable<void> scheduler::reload(ops::config cfg, client_map clients, std::vector<notify::target> targets) {
  for (auto& [name, c] : clients_) retired_clients_.push_back(std::move(c));
  clients_ = std::move(clients);
  cfg_ = std::move(cfg);
  disk_.set_min_free(mib_to_bytes(cfg_.output_min_free_mb));
  notifier_->reload(cfg_, std::move(targets));
  sync_accounts();
  co_await sync_pauses();
  batch_spend_.clear();
  queue_dirty_ = true;
  log::info("config_reloaded", {{"accounts", clients_.size()}});
  wake();
}

}  // namespace vidq::daemon
