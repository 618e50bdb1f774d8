// The scheduler with a scripted provider and fetcher and a manual clock: the test moves time
// and the loop follows, so admission, AIMD, budgets, pauses and raw-SQL validation are
// checked in milliseconds of wall time, with no network and no sleeps in the logic.
#include "vidq/daemon/scheduler.hpp"

#include "support/test_db.hpp"
#include "vidq/store/account_store.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <functional>
#include <map>

namespace vidq {
namespace {

namespace asio = boost::asio;
using provider::verdict;

// A provider whose tasks run `run_time` of the manual clock. It counts, at each submit, the
// tasks still running on its side: what the real provider's cap applies to.
class scripted_provider final : public provider::provider_client {
 public:
  explicit scripted_provider(const clock& c) : clock_(c) {}
  std::function<std::optional<verdict>(int running_now)> refuse;  // scripted rejections
  millis run_time = 60'000;
  int submits = 0;
  int accepted = 0;
  int polls = 0;
  int peak_running = 0;

  asio::awaitable<provider::submit_result> submit(const provider::job_spec&, std::string_view request_id) override {
    ++submits;
    const int running_now = running();
    if (refuse) {
      if (auto v = refuse(running_now)) co_return *v;
    }
    const std::string id = "task-" + std::to_string(++accepted);
    finish_at_[id] = clock_.now() + run_time;
    peak_running = std::max(peak_running, running_now + 1);
    co_return provider::submit_accepted{id, std::string(request_id), "PROCESSING"};
  }
  asio::awaitable<provider::poll_result> poll(std::string_view task_id, const provider::poll_context&) override {
    ++polls;
    auto it = finish_at_.find(std::string(task_id));
    if (it == finish_at_.end() || clock_.now() < it->second) co_return provider::task_running{};
    co_return provider::task_succeeded{"https://cdn.invalid/" + it->first + ".mp4", ""};
  }
  ops::provider_kind provider() const noexcept override { return ops::provider_kind::bigmodel; }
  const std::string& account() const noexcept override { return name_; }

 private:
  int running() const {
    int n = 0;
    for (const auto& [id, at] : finish_at_) n += clock_.now() < at ? 1 : 0;
    return n;
  }
  const clock& clock_;
  std::string name_ = "default";
  std::map<std::string, millis> finish_at_;
};

class instant_fetcher final : public engine::result_fetcher {
 public:
  int fetches = 0;
  asio::awaitable<engine::fetch_result> fetch(const engine::fetch_request& req) override {
    ++fetches;
    engine::fetched f;
    f.video_path = "/videos/" + std::to_string(req.job_id) + ".mp4";
    f.video_bytes = 1000;
    f.video_sha256 = std::string(64, 'a');
    co_return f;
  }
};

class Scheduler : public ::testing::Test {
 protected:
  test::test_db t;
  asio::io_context ioc;
  instant_fetcher fetcher;
  ops::metrics metrics;
  scripted_provider* provider = nullptr;
  std::unique_ptr<daemon::scheduler> sched;
  bool finished = false;

  ops::config config(int cap) {
    ops::config cfg = ops::default_config();
    cfg.accounts.front().max_in_flight = cap;
    cfg.polling.min_interval = 1'000;
    return cfg;
  }

  void start(ops::config cfg, bool exit_when_idle = true) {
    daemon::scheduler_options opt;
    auto client = std::make_unique<scripted_provider>(t.clock);
    provider = client.get();
    daemon::client_map clients;
    clients.emplace("default", std::move(client));
    opt.exit_when_idle = exit_when_idle;
    opt.seed = 7;
    sched = std::make_unique<daemon::scheduler>(ioc.get_executor(), daemon::scheduler_deps{t.db, t.clock, fetcher, metrics},
                                                std::move(cfg), std::move(clients), opt);
    asio::co_spawn(ioc, sched->run(), [this](std::exception_ptr e, result<void> r) {
      EXPECT_FALSE(e);
      EXPECT_TRUE(r);
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

  void enqueue(int n, const std::string& model = "cogvideox-3", const std::string& account = "default") {
    store::job_store jobs(t.db, t.clock);
    for (int i = 0; i < n; ++i) {
      auto job = test::make_job(model);
      job.account = account;
      ASSERT_TRUE(jobs.insert(job));
    }
  }

  std::int64_t count(const std::string& where) { return t.scalar("SELECT count(*) FROM jobs WHERE " + where); }
};

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
  EXPECT_LE(provider->polls, 25 * 6) << "the poll schedule, not a busy loop";
}

TEST_F(Scheduler, RateLimitsLowerTheCapWithoutSpendingAttempts) {
  enqueue(12);
  const millis began = t.clock.now();
  start(config(4));
  // A foreign client holds two of the four slots: the provider refuses a third task.
  provider->refuse = [](int running_now) -> std::optional<verdict> {
    if (running_now < 2) return std::nullopt;
    verdict v;
    v.what = provider::action::retry;
    v.hint = provider::retry_hint::rate_limited;
    v.error_code = "1302";
    v.message = "concurrency limit";
    v.consumes_attempt = false;
    return v;
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
}

TEST_F(Scheduler, AnOperatorPauseStopsSubmitsUntilResumed) {
  enqueue(4);
  store::account_store accounts(t.db, t.clock);
  ASSERT_TRUE(accounts.pause("default", "maintenance", std::nullopt, store::paused_by::operator_));
  start(config(5));
  drive(1'000, 30'000);
  ASSERT_TRUE(finished) << "only an operator can lift this pause: idle";
  EXPECT_EQ(provider->submits, 0);
  EXPECT_TRUE(sched->runtime().accounts.front().paused);

  // Same DB, a fresh daemon that keeps running, resumed through the control interface the
  // status server uses.
  finished = false;
  ioc.restart();
  start(config(5), false);
  drive(1'000, 10'000);
  EXPECT_EQ(provider->submits, 0);
  ASSERT_TRUE(sched->resume_account("default"));
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

}  // namespace
}  // namespace vidq
