// The scheduler with a scripted provider and fetcher and a manual clock: the test moves time
// and the loop follows, so admission, AIMD, budgets, pauses and raw-SQL validation are
// checked in milliseconds of wall time, with no network and no sleeps in the logic.
#include "vidq/daemon/scheduler.hpp"

#include "support/scripted_provider.hpp"
#include "support/test_db.hpp"
#include "vidq/store/account_store.hpp"
#include "vidq/store/sqlite_daemon_store.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>

namespace vidq {
namespace {

namespace asio = boost::asio;
using provider::verdict;

using test::instant_fetcher;
using test::scripted_provider;

class Scheduler : public ::testing::Test {
 protected:
  test::test_db t;
  store::sqlite_daemon_store daemon_store{t.db, t.clock};
  store::daemon_store* hot_path = &daemon_store;  // what start() gives the scheduler
  asio::io_context ioc;
  instant_fetcher fetcher;
  ops::metrics metrics;
  scripted_provider* provider = nullptr;
  std::unique_ptr<daemon::scheduler> sched;
  bool finished = false;
  bool expect_clean_exit = true;
  result<void> run_result;
  std::optional<std::uint64_t> free_space = 1ull << 40;  // what the scripted statvfs says

  ops::config config(int cap) {
    ops::config cfg = ops::default_config();
    cfg.accounts.front().max_in_flight = cap;
    cfg.polling.min_interval = 1'000;
    return cfg;
  }

  // One scripted provider per configured account, by account name; `provider` is the first.
  std::map<std::string, scripted_provider*> providers;

  // Accounts named `names` with the given caps, in place of the built-in "default".
  ops::config pool_config(std::vector<std::pair<std::string, int>> names) {
    ops::config cfg = config(1);
    cfg.accounts.clear();
    for (const auto& [name, cap] : names) {
      ops::account_config a;
      a.name = name;
      a.api_key_env = "UNUSED";
      a.max_in_flight = cap;
      cfg.accounts.push_back(a);
    }
    return cfg;
  }

  void start(ops::config cfg, bool exit_when_idle = true) {
    daemon::scheduler_options opt;
    daemon::client_map clients;
    providers.clear();
    for (const auto& a : cfg.accounts) {
      auto client = std::make_unique<scripted_provider>(t.clock);
      providers[a.name] = client.get();
      clients.emplace(a.name, std::move(client));
    }
    provider = providers[cfg.accounts.front().name];
    opt.exit_when_idle = exit_when_idle;
    opt.seed = 7;
    opt.free_space = [this](const std::filesystem::path&) { return free_space; };
    sched = std::make_unique<daemon::scheduler>(
        ioc.get_executor(),
        daemon::scheduler_deps{&t.db, *hot_path, t.clock, fetcher, metrics, notice_transport, notify_targets},
        std::move(cfg), std::move(clients), opt);
    asio::co_spawn(ioc, sched->run(), [this](std::exception_ptr e, result<void> r) {
      EXPECT_FALSE(e);
      if (expect_clean_exit) {
        EXPECT_TRUE(r);
      }
      run_result = r;
      finished = true;
    });
  }

  // Moves the manual clock in `step`s, letting the loop react after each, until the
  // scheduler exits (idle) or `limit` of simulated time has passed.
  void drive(millis step = 1'000, millis limit = 3'600'000) {
    for (millis spent = 0; !finished && spent < limit; spent += step) {
      ioc.run_for(std::chrono::milliseconds(2));
      t.clock.advance(step);
      sched->wake();
    }
    ioc.run_for(std::chrono::milliseconds(20));
  }

  // A daemon_control command (pause_account, resume_account) run on the daemon's loop, as
  // the status server runs it: whether it answered true.
  bool command(boost::asio::awaitable<result<bool>> work) {
    // Moved in: optional<result<bool>> = lvalue would convert through result's operator
    // bool (Boost 1.81 picks its converting constructor), turning false into true.
    std::optional<result<bool>> out;
    boost::asio::co_spawn(ioc, std::move(work), [&](std::exception_ptr, result<bool> r) { out = std::move(r); });
    for (int i = 0; i < 500 && !out; ++i) ioc.run_for(std::chrono::milliseconds(2));
    return out && *out && **out;
  }

  void enqueue(int n, const std::string& model = "cogvideox-3", const std::string& account = "default") {
    store::job_store jobs(t.db, t.clock);
    for (int i = 0; i < n; ++i) {
      auto job = test::make_job(model);
      job.account = account;
      ASSERT_TRUE(jobs.insert(job));
    }
  }

  std::int64_t count(const std::string& where) { return t.scalar("SELECT count(*) FROM jobs WHERE " + where); }

  notify::transport* notice_transport = nullptr;
  std::vector<notify::target> notify_targets;
};

// Records every notice; fails the first `failures` attempts of each notice.
struct scripted_transport final : notify::transport {
  int failures = 0;
  std::vector<notify::message> sent;
  std::map<std::int64_t, int> attempts;
  asio::awaitable<notify::attempt_result> deliver(const notify::target&, const notify::message& m) override {
    sent.push_back(m);
    if (++attempts[m.notice_id] <= failures) co_return notify::attempt_result{false, "HTTP 500"};
    co_return notify::attempt_result{true, {}};
  }
  int count(notice_event e) const {
    return static_cast<int>(std::count_if(sent.begin(), sent.end(), [&](const auto& m) { return m.event == e; }));
  }
};

notify::target target_for(std::vector<notice_event> events) {
  notify::target t;
  t.config.name = "hook";
  t.config.url = "https://hooks.example/x";
  t.config.events = std::move(events);
  return t;
}

TEST_F(Scheduler, NeverExceedsTheCapAndFinishesEveryJob) {
  enqueue(25);
  start(config(3));
  drive();
  ASSERT_TRUE(finished);
  EXPECT_EQ(count("state = 'succeeded'"), 25);
  EXPECT_EQ(provider->peak_running, 3);
  EXPECT_EQ(provider->submits, 25);
  EXPECT_EQ(fetcher.fetches, 25);
  EXPECT_EQ(count("cost = 1000"), 25) << "cogvideox-3 costs 1 CNY, recorded at acceptance";
  // 22 jobs wait for 3 slots, so the lane polls by the backlog rule (poll_planner.hpp:
  // ~15 per job here, the frugal schedule ~4); a busy loop would make thousands.
  EXPECT_LE(provider->polls, 25 * 20) << "the poll schedule, not a busy loop";
  EXPECT_TRUE(sched->stranded().empty()) << "all done: `vidq run --exit-when-idle` exits 0";
}

// SQLite's store with a round trip's worth of suspension in due_polls, as on PostgreSQL:
// the answer is read first, then the loop yields, so poll tasks that were running finish
// and reschedule their rows while the answer is on its way.
class suspending_due_polls final : public store::sqlite_daemon_store {
 public:
  using sqlite_daemon_store::sqlite_daemon_store;
  task<std::vector<store::job_row>> due_polls(int limit) override {
    auto rows = co_await sqlite_daemon_store::due_polls(limit);
    for (int i = 0; i < 10; ++i) co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
    co_return rows;
  }
};

TEST_F(Scheduler, ARowRescheduledWhileDuePollsAreReadIsNotPolledAgainFromThatAnswer) {
  suspending_due_polls slow{t.db, t.clock};
  hot_path = &slow;
  enqueue(5);
  start(config(5));
  provider->run_time = 30'000;
  // Polls that end at different moments: an early one wakes the loop, whose due_polls runs
  // while later ones are still out and end during its suspension.
  provider->poll_turns = [](int n) { return n % 2 == 0 ? 6 : 0; };
  drive();
  EXPECT_TRUE(finished);
  EXPECT_EQ(count("state = 'succeeded'"), 5);
  EXPECT_EQ(provider->repeated_polls, 0) << "of " << provider->polls << " polls";
  sched.reset();  // before `slow`, which it uses
}

// Issue 13: the run times the polls bracketed are kept in the database (duration_samples),
// so a restarted daemon expects what it learned, not the built-in prior.
TEST_F(Scheduler, LearnedRunTimesSurviveARestart) {
  enqueue(25);
  start(config(3));
  drive();
  ASSERT_TRUE(finished);
  auto learned = sched->runtime().durations;
  ASSERT_EQ(learned.size(), 1u);
  EXPECT_EQ(learned[0].kind.rfind("cogvideox-3|", 0), 0u) << learned[0].kind;
  EXPECT_EQ(learned[0].observations, 25u);
  EXPECT_EQ(learned[0].prior_median, 120'000) << "cogvideox-3's built-in median";
  EXPECT_NEAR(static_cast<double>(learned[0].median), 60'000, 6'000) << "the scripted tasks run 60 s";
  EXPECT_EQ(t.scalar("SELECT count(*) FROM duration_samples"), 25);

  sched.reset();
  finished = false;
  ioc.restart();     // it ran out of work when the first scheduler exited
  start(config(3));  // nothing queued: it loads, finds nothing to do and exits
  drive();
  ASSERT_TRUE(finished);
  learned = sched->runtime().durations;
  ASSERT_EQ(learned.size(), 1u);
  EXPECT_EQ(learned[0].observations, 25u);
  EXPECT_NEAR(static_cast<double>(learned[0].median), 60'000, 6'000);
}

TEST_F(Scheduler, RateLimitsLowerTheCapWithoutSpendingAttempts) {
  enqueue(12);
  const millis began = t.clock.now();
  start(config(4));
  // A foreign client holds two of the four slots: the provider refuses a third task.
  provider->refuse = [](int running_now) -> std::optional<verdict> {
    if (running_now < 2) return std::nullopt;
    return scripted_provider::rate_limited();
  };
  drive();
  ASSERT_TRUE(finished);
  EXPECT_EQ(count("state = 'succeeded'"), 12);
  EXPECT_EQ(count("attempts = 1"), 12) << "1302 gives the attempt back";
  // The first burst (two submits over the real limit), then at most one probe per 60 s quiet
  // period: a 1302 must never walk through the queue.
  const millis minutes = (t.clock.now() - began) / 60'000;
  EXPECT_LE(provider->submits - provider->accepted, 2 + minutes);
}

TEST_F(Scheduler, ARawSqlRowWithBadParamsFailsAloneNamingTheField) {
  enqueue(2);
  t.exec("INSERT INTO jobs(model, prompt, params) VALUES ('cogvideox-3', 'a teapot', '{\"quality\":\"ultra\"}')");
  t.exec("INSERT INTO jobs(model, prompt, image_url) VALUES ('cogvideox-3', 'a teapot', '[not json')");
  start(config(5));
  drive();
  ASSERT_TRUE(finished);
  EXPECT_EQ(count("state = 'succeeded'"), 2);
  EXPECT_EQ(count("state = 'failed' AND error_code = 'invalid_request' AND error_message LIKE 'quality:%'"), 1);
  EXPECT_EQ(count("state = 'failed' AND error_code = 'invalid_request' AND error_message LIKE 'image_url:%'"), 1);
  EXPECT_EQ(provider->submits, 2) << "nothing is sent for an invalid row";
}

TEST_F(Scheduler, RowsOfAnUnknownAccountFailWithAClearReason) {
  enqueue(1);
  enqueue(2, "cogvideox-3", "nobody");
  start(config(5));
  drive();
  ASSERT_TRUE(finished);
  EXPECT_EQ(count("state = 'failed' AND error_code = 'unknown_account' AND account = 'nobody'"), 2);
  EXPECT_EQ(count("state = 'succeeded'"), 1);
}

TEST_F(Scheduler, ABudgetHoldsAdmissionWithoutFailingJobs) {
  enqueue(5);
  auto cfg = config(5);
  cfg.budget.daily_limit = 2'000;  // two cogvideox-3 calls
  start(cfg);
  drive();
  ASSERT_TRUE(finished) << "budget-blocked work counts as idle for --exit-when-idle";
  EXPECT_EQ(count("state = 'succeeded'"), 2);
  EXPECT_EQ(count("state = 'queued'"), 3);
  EXPECT_EQ(count("state = 'failed'"), 0);
  ASSERT_TRUE(sched->runtime().budget_block.has_value());
  EXPECT_NE(sched->runtime().budget_block->find("daily"), std::string::npos) << *sched->runtime().budget_block;
  ASSERT_EQ(sched->stranded().size(), 1u);
  EXPECT_EQ(sched->stranded().front().rfind("budget: ", 0), 0u);
}

TEST_F(Scheduler, ABudgetBlockIsNotifiedOnceWhenItStarts) {
  scripted_transport transport;
  notice_transport = &transport;
  notify_targets = {target_for({notice_event::budget_blocked, notice_event::batch_finished})};
  enqueue(5);
  auto cfg = config(5);
  cfg.budget.daily_limit = 2'000;
  start(cfg);
  drive();
  ASSERT_TRUE(finished);
  EXPECT_EQ(t.scalar("SELECT count(*) FROM notices WHERE event = 'budget_blocked'"), 1)
      << "admission passes repeat every 5 s while blocked; the block started once";
  EXPECT_EQ(transport.count(notice_event::budget_blocked), 1);
  EXPECT_EQ(transport.count(notice_event::batch_finished), 0) << "three jobs are still queued";
}

TEST_F(Scheduler, NoticesAreRetriedUntilDeliveredBeforeExitWhenIdle) {
  scripted_transport transport;
  transport.failures = 2;
  notice_transport = &transport;
  notify_targets = {target_for({notice_event::batch_finished, notice_event::job_succeeded})};
  enqueue(3);
  start(config(5));
  drive();
  ASSERT_TRUE(finished);
  EXPECT_EQ(count("state = 'succeeded'"), 3);
  EXPECT_EQ(transport.count(notice_event::batch_finished), 3) << "two failures, then delivered";
  EXPECT_EQ(transport.count(notice_event::job_succeeded), 9);
  EXPECT_EQ(t.scalar("SELECT count(*) FROM notice_deliveries WHERE delivered_at IS NOT NULL AND attempts = 3"), 4);
  EXPECT_EQ(metrics.notices["delivered"], 4u);
  EXPECT_EQ(metrics.notices["failed"], 8u);
}

TEST_F(Scheduler, AnOperatorPauseStopsSubmitsUntilResumed) {
  enqueue(4);
  store::account_store accounts(t.db, t.clock);
  ASSERT_TRUE(accounts.pause("default", "maintenance", std::nullopt, store::paused_by::operator_));
  start(config(5));
  drive(1'000, 30'000);
  ASSERT_TRUE(finished) << "only an operator can lift this pause: idle";
  EXPECT_EQ(provider->submits, 0);
  ASSERT_EQ(sched->stranded().size(), 1u) << "`vidq run --exit-when-idle` exits 4 and says why";
  EXPECT_EQ(sched->stranded().front(), "account default is paused: maintenance");
  EXPECT_TRUE(sched->runtime().accounts.front().paused);

  // Same DB, a fresh daemon that keeps running, resumed through the control interface the
  // status server uses.
  finished = false;
  ioc.restart();
  start(config(5), false);
  drive(1'000, 10'000);
  EXPECT_EQ(provider->submits, 0);
  ASSERT_TRUE(command(sched->resume_account("default")));
  for (int i = 0; i < 3'600 && count("state = 'succeeded'") < 4; ++i) drive(1'000, 1'000);
  EXPECT_EQ(count("state = 'succeeded'"), 4);
  sched->request_stop();
  drive(1'000, 10'000);
  ASSERT_TRUE(finished);
  EXPECT_EQ(t.scalar("SELECT count(*) FROM account_pauses"), 0);
}

TEST_F(Scheduler, AnAmbiguousSubmitFailsWithWhatTheOperatorMustCheck) {
  enqueue(1);
  start(config(5));
  provider->refuse = [](int) -> std::optional<verdict> {
    verdict v;
    v.what = provider::action::ambiguous;
    v.error_code = "submit_ambiguous";
    v.message = "no reply to a submit that may have reached the provider";
    return v;
  };
  drive();
  ASSERT_TRUE(finished);
  EXPECT_EQ(count("state = 'failed' AND error_code = 'submit_ambiguous'"), 1);
  EXPECT_EQ(provider->submits, 1) << "never resubmitted silently";
}


// ---- account pools (issue 10) -----------------------------------------------------------

TEST_F(Scheduler, PoolJobsGoToTheAccountWithTheMostFreeSlots) {
  enqueue(60, "cogvideox-3", "default");  // the column default; no account has that name
  enqueue(10, "cogvideox-3", "*");
  start(pool_config({{"small", 2}, {"big", 4}}));
  drive();
  ASSERT_TRUE(finished);
  EXPECT_EQ(count("state = 'succeeded'"), 70);
  EXPECT_LE(providers["small"]->peak_running, 2);
  EXPECT_LE(providers["big"]->peak_running, 4);
  // Throughput follows the caps: the big account carries about twice the work.
  const auto small = count("account = 'small'");
  const auto big = count("account = 'big'");
  EXPECT_EQ(small + big, 70);
  EXPECT_NEAR(static_cast<double>(big) / static_cast<double>(small), 2.0, 0.5) << small << " vs " << big;
  EXPECT_EQ(providers["small"]->submits, small) << "each job submitted once, by the account recorded on it";
  // The row keeps what it asked for; `vidq show` prints both.
  EXPECT_EQ(count("requested_account = 'default'"), 60);
  EXPECT_EQ(count("requested_account = '*'"), 10);
}

TEST_F(Scheduler, PinnedJobsStayOnTheirAccount) {
  enqueue(6, "cogvideox-3", "small");
  start(pool_config({{"small", 1}, {"big", 5}}));
  drive();
  ASSERT_TRUE(finished);
  EXPECT_EQ(count("state = 'succeeded' AND account = 'small' AND requested_account IS NULL"), 6);
  EXPECT_EQ(providers["big"]->submits, 0);
}

TEST_F(Scheduler, APoolJobOfAModelNoAccountServesWaitsAndSaysWhy) {
  enqueue(2, "cogvideox-3", "");
  enqueue(1, "cogvideox-flash", "");
  auto cfg = pool_config({{"flash", 5}});
  cfg.accounts.front().models = {"cogvideox-flash"};
  start(cfg);
  drive();
  ASSERT_TRUE(finished);
  EXPECT_EQ(count("state = 'succeeded'"), 1);
  EXPECT_EQ(count("state = 'queued' AND model = 'cogvideox-3'"), 2) << "a config change can still serve them";
  ASSERT_EQ(sched->stranded().size(), 1u);
  EXPECT_NE(sched->stranded().front().find("no configured account serves model cogvideox-3"), std::string::npos)
      << sched->stranded().front();
}

TEST_F(Scheduler, AnUnknownModelFailsWithTheModelErrorNotARoutingOne) {
  enqueue(1, "cogvideox-3", "");
  t.exec("INSERT INTO jobs(model, prompt) VALUES ('cogvideox-9', 'a teapot')");      // pool (default)
  t.exec("INSERT INTO jobs(model, prompt, account) VALUES ('cogvideox-9', 'a teapot', 'nobody')");
  start(pool_config({{"main", 5}}));
  drive();
  ASSERT_TRUE(finished);
  EXPECT_EQ(count("state = 'succeeded'"), 1);
  EXPECT_EQ(count("state = 'failed' AND error_code = 'invalid_request' AND error_message LIKE 'model:%'"), 2);
  EXPECT_TRUE(sched->stranded().empty());
}

// ---- account-wide faults (issue 10) ----------------------------------------------------

TEST_F(Scheduler, AnUnreachableEndpointPausesTheAccountInsteadOfFailingJobs) {
  enqueue(8);
  start(config(4), false);
  provider->unreachable = true;
  drive(1'000, 120'000);
  EXPECT_EQ(count("state = 'failed'"), 0);
  EXPECT_EQ(count("state = 'queued' AND attempts = 0"), 8) << "no attempt is spent on the account's fault";
  EXPECT_LE(provider->submits, 4) << "the breaker stops submits after the first failures";
  const auto view = sched->runtime().accounts.front();
  EXPECT_TRUE(view.paused);
  EXPECT_TRUE(view.breaker_open);
  EXPECT_GE(view.failed_probes, 3) << "probes back off but keep going";
  EXPECT_LE(view.failed_probes, 8) << "first within seconds, then further apart";
  EXPECT_EQ(t.scalar("SELECT count(*) FROM account_pauses WHERE paused_by = 'breaker'"), 1);
  EXPECT_EQ(metrics.breaker["opened"], 1u);

  provider->unreachable = false;  // the endpoint comes back: nobody has to resume anything
  for (int i = 0; i < 600 && count("state = 'succeeded'") < 8; ++i) drive(1'000, 1'000);
  EXPECT_EQ(count("state = 'succeeded' AND attempts = 1"), 8);
  EXPECT_EQ(t.scalar("SELECT count(*) FROM account_pauses"), 0);
  EXPECT_GE(provider->unknown_polls, 1) << "a probe, not a submit, found it healthy";
  EXPECT_EQ(metrics.breaker["closed"], 1u);
  sched->request_stop();
  drive(1'000, 10'000);
  ASSERT_TRUE(finished);
}

TEST_F(Scheduler, InFlightTasksOutliveAnOutageWithoutAPollDeadline) {
  enqueue(3);
  auto cfg = config(5);
  cfg.polling.deadline_min = 60'000;
  cfg.polling.deadline_factor = 1.0;
  start(cfg, false);
  provider->run_time = 30'000;
  drive(1'000, 5'000);  // submitted and polled once
  ASSERT_EQ(count("state = 'processing'"), 3);
  provider->unreachable = true;
  drive(1'000, 300'000);  // five minutes: far past the one-minute deadline
  EXPECT_EQ(count("state = 'failed'"), 0) << "nothing was observed; nothing may fail";
  provider->unreachable = false;
  for (int i = 0; i < 900 && count("state = 'succeeded'") < 3; ++i) drive(1'000, 1'000);
  EXPECT_EQ(count("state = 'succeeded'"), 3);
  sched->request_stop();
  drive(1'000, 10'000);
}

TEST_F(Scheduler, ABreakerPauseFromBeforeARestartIsProbedNotLeftForAnOperator) {
  enqueue(2);
  store::account_store accounts(t.db, t.clock);
  ASSERT_TRUE(accounts.pause("default", "endpoint unreachable: connect refused", std::nullopt,
                             store::paused_by::breaker));
  start(config(5));
  drive();
  ASSERT_TRUE(finished);
  EXPECT_EQ(count("state = 'succeeded'"), 2);
  EXPECT_TRUE(sched->stranded().empty());
}


TEST_F(Scheduler, TheBreakerNeverReplacesAnOperatorsPause) {
  enqueue(2);
  start(config(5), false);
  drive(1'000, 3'000);
  ASSERT_EQ(count("state = 'processing'"), 2);
  ASSERT_TRUE(command(sched->pause_account("default", "maintenance")));
  provider->unreachable = true;  // polls of the running tasks now fail before sending
  drive(1'000, 300'000);
  EXPECT_TRUE(sched->runtime().accounts.front().breaker_open);
  provider->unreachable = false;
  for (int i = 0; i < 600 && count("state = 'succeeded'") < 2; ++i) drive(1'000, 1'000);
  EXPECT_EQ(count("state = 'succeeded'"), 2) << "polls resume once the probe gets an answer";
  EXPECT_EQ(t.scalar("SELECT count(*) FROM account_pauses WHERE paused_by = 'operator' AND reason = 'maintenance'"), 1)
      << "the probe lifts only the breaker's own pause";
  sched->request_stop();
  drive(1'000, 10'000);
}

}  // namespace
}  // namespace vidq

namespace vidq {
namespace {

// ---- issue 11: local trouble is a pause, not a failure ----------------------------------

TEST_F(Scheduler, AFullDiskPausesDownloadsKeepsAttemptsAndResumesWhenSpaceReturns) {
  enqueue(6);
  auto cfg = config(6);
  cfg.output_min_free_mb = 0;  // only the write failures pause here
  fetcher.disk_full = true;
  free_space = 0;
  start(cfg);
  drive(1'000, 600'000);  // ten minutes of provider time: every task finished remotely
  ASSERT_FALSE(finished) << "paused downloads are not idle: they resume by themselves";
  EXPECT_EQ(count("state = 'downloading'"), 6);
  EXPECT_EQ(count("state = 'failed'"), 0);
  EXPECT_EQ(count("attempts = 1"), 6);
  const auto paused = sched->runtime().disk;
  EXPECT_TRUE(paused.downloads_paused);
  EXPECT_NE(paused.reason.find("disk_full"), std::string::npos) << paused.reason;
  // The pause stops downloads instead of failing them one retry after another: with the
  // looks at 1, 2, 4 ... 30 s apart, a minute of pause costs a handful of writes, not 6×N.
  EXPECT_LE(fetcher.disk_failures, 6 + 10);
  EXPECT_EQ(metrics.downloads.count("disk_paused") ? metrics.downloads.at("disk_paused") : 0,
            static_cast<std::uint64_t>(fetcher.disk_failures));

  fetcher.disk_full = false;  // the operator deleted a filler file
  free_space = 1ull << 30;
  drive();
  ASSERT_TRUE(finished);
  EXPECT_EQ(count("state = 'succeeded'"), 6);
  EXPECT_EQ(count("attempts = 1"), 6) << "no attempt consumed by the disk";
  EXPECT_EQ(provider->submits, 6) << "nothing paid twice";
  EXPECT_FALSE(sched->runtime().disk.downloads_paused);
}

TEST_F(Scheduler, BelowMinFreeSubmitsWaitForSpace) {
  enqueue(3);
  auto cfg = config(3);
  cfg.output_min_free_mb = 100;
  free_space = 10ull << 20;
  start(cfg);
  drive(1'000, 30'000);
  ASSERT_FALSE(finished);
  EXPECT_EQ(provider->submits, 0);
  EXPECT_EQ(count("state = 'queued'"), 3);
  EXPECT_TRUE(sched->runtime().disk.admission_paused);
  EXPECT_NE(sched->runtime().disk.reason.find("min_free_mb"), std::string::npos) << sched->runtime().disk.reason;
  free_space = 1ull << 30;
  drive();
  ASSERT_TRUE(finished);
  EXPECT_EQ(count("state = 'succeeded'"), 3);
  EXPECT_FALSE(sched->runtime().disk.admission_paused);
}

// Another connection (an operator's sqlite3) takes the write lock right when the first
// task is accepted: the write-ahead record of its task id has to wait, the loop must not.
TEST_F(Scheduler, ALockedDatabaseDelaysWritesButNeitherBlocksTheLoopNorLosesAnything) {
  t.db.set_busy_timeout(20);  // as cmd_run sets it on the daemon's connection
  auto locker = store::database::open(t.dir.file("vidq.db"));
  ASSERT_TRUE(locker);
  enqueue(8);
  start(config(4));
  bool locked = false;
  provider->refuse = [&](int) -> std::optional<verdict> {
    if (!locked) locked = static_cast<bool>(locker->exec("BEGIN IMMEDIATE"));
    return std::nullopt;
  };
  millis worst_step = 0;
  bool saw_lock = false;
  for (int i = 0; i < 30; ++i) {  // 30 steps with the lock held
    const auto began = std::chrono::steady_clock::now();
    ioc.run_for(std::chrono::milliseconds(2));
    t.clock.advance(1'000);
    sched->wake();
    worst_step = std::max<millis>(worst_step, std::chrono::duration_cast<std::chrono::milliseconds>(
                                                  std::chrono::steady_clock::now() - began).count());
    saw_lock = saw_lock || sched->runtime().db_locked_since.has_value();
  }
  ASSERT_TRUE(locked);
  EXPECT_TRUE(saw_lock) << "the runtime view (and so /healthz) says the database is locked";
  EXPECT_EQ(count("state = 'processing'"), 0) << "no write got through the lock";
  // A 5 s busy timeout would block a step for seconds; 20 ms per attempt and one attempt
  // per retry period keep every step short (generous for a loaded 2-core machine).
  EXPECT_LT(worst_step, 200);
  ASSERT_TRUE(locker->exec("ROLLBACK"));
  drive();
  ASSERT_TRUE(finished);
  EXPECT_EQ(count("state = 'succeeded'"), 8);
  EXPECT_EQ(provider->submits, 8) << "every task created once";
  EXPECT_EQ(provider->accepted, 8);
  EXPECT_FALSE(sched->runtime().db_locked_since.has_value());
}

TEST_F(Scheduler, ADeletedWalStopsTheLoopBeforeAnotherSubmit) {
  enqueue(10);
  start(config(3));
  for (int i = 0; i < 3; ++i) {
    ioc.run_for(std::chrono::milliseconds(2));
    t.clock.advance(1'000);
    sched->wake();
  }
  ASSERT_EQ(provider->submits, 3);
  std::filesystem::remove(t.dir.file("vidq.db-wal"));
  expect_clean_exit = false;
  drive(1'000, 10'000);
  ASSERT_TRUE(finished) << "the loop stops within a tick";
  ASSERT_FALSE(run_result);
  EXPECT_EQ(run_result.error(), errc::database_lost);
  ASSERT_TRUE(sched->runtime().db_lost.has_value());
  EXPECT_NE(sched->runtime().db_lost->find("WAL"), std::string::npos) << *sched->runtime().db_lost;
  EXPECT_EQ(provider->submits, 3) << "nothing submitted into a deleted file";
}

}  // namespace
}  // namespace vidq
