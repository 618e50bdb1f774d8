// Several schedulers on one PostgreSQL database (issue 14), each on its own io_context, with
// one scripted provider behind all of them and a manual clock: the account's cap holds
// across daemons, and a daemon that stops running (kill -9, SIGSTOP: its loop simply does
// not run any more) has its tasks adopted by another after its lease, polled to the end and
// never submitted again; when the stopped one runs again, its late writes change nothing.
//
// What the scheduler does not reach through the store interface yet (notices, the WAL
// checkpoint) is skipped: the daemons get no SQLite connection, as `vidq run` on PostgreSQL.
#include "vidq/daemon/scheduler.hpp"

#include "support/pg_test_db.hpp"
#include "support/scripted_provider.hpp"
#include "support/test_db.hpp"
#include "vidq/store/postgres/daemon_store.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

namespace vidq {
namespace {

namespace asio = boost::asio;

// Each daemon holds its own client object; all forward to the one provider, whose count of
// running tasks is what the account's cap is about.
class forwarding_client final : public provider::provider_client {
 public:
  explicit forwarding_client(test::scripted_provider& to) : to_(to) {}
  asio::awaitable<provider::submit_result> submit(const provider::job_spec& spec, std::string_view request_id) override {
    return to_.submit(spec, request_id);
  }
  asio::awaitable<provider::poll_result> poll(std::string_view task_id, const provider::poll_context& c) override {
    return to_.poll(task_id, c);
  }
  ops::provider_kind provider() const noexcept override { return to_.provider(); }
  const std::string& account() const noexcept override { return to_.account(); }

 private:
  test::scripted_provider& to_;
};

struct daemon_on_pg {
  asio::io_context ioc;
  store::pg::pool pool;
  store::pg::postgres_daemon_store store;
  test::instant_fetcher fetcher;
  ops::metrics metrics;
  std::unique_ptr<daemon::scheduler> sched;
  bool finished = false;

  daemon_on_pg(const std::string& conninfo, const clock& clk, std::string node, test::scripted_provider& provider,
               int cap)
      : pool(ioc.get_executor(), {.conninfo = conninfo, .size = 4}),
        store(pool, clk, std::move(node), /*lease_ms=*/30'000) {
    ops::config cfg = ops::default_config();
    cfg.accounts.front().max_in_flight = cap;
    cfg.polling.min_interval = 1'000;
    daemon::scheduler_options opt;
    opt.seed = 7;
    opt.lease_renew = 10'000;
    opt.free_space = [](const std::filesystem::path&) { return std::optional<std::uint64_t>(1ull << 40); };
    daemon::client_map clients;
    clients.emplace("default", std::make_unique<forwarding_client>(provider));
    sched = std::make_unique<daemon::scheduler>(
        ioc.get_executor(), daemon::scheduler_deps{nullptr, store, clk, fetcher, metrics, nullptr, {}},
        std::move(cfg), std::move(clients), opt);
    asio::co_spawn(ioc, sched->run(), [this](std::exception_ptr e, result<void>) {
      EXPECT_FALSE(e);
      finished = true;
    });
  }

  // Lets this daemon's loop run: its PostgreSQL round trips need real time, a few ms each.
  void run_a_little() {
    sched->wake();
    ioc.run_for(std::chrono::milliseconds(15));
  }

  // A daemon_control command, run on this daemon's loop as its status server runs it.
  bool command(asio::awaitable<result<bool>> work) {
    // Moved in: optional<result<bool>> = lvalue would convert through result's operator
    // bool (Boost 1.81 picks its converting constructor), turning false into true.
    std::optional<result<bool>> out;
    asio::co_spawn(ioc, std::move(work), [&](std::exception_ptr, result<bool> r) { out = std::move(r); });
    for (int i = 0; i < 200 && !out; ++i) ioc.run_for(std::chrono::milliseconds(10));
    return out && *out && **out;
  }

  void stop() {
    sched->request_stop();
    for (int i = 0; i < 200 && !finished; ++i) ioc.run_for(std::chrono::milliseconds(10));
  }
};

class SchedulerOnPostgres : public ::testing::Test {
 protected:
  test::pg_test_db db;
  manual_clock clock;
  test::scripted_provider provider{clock};

  void SetUp() override {
    if (!db.available()) GTEST_SKIP() << "PostgreSQL tests need VIDQ_TEST_PG_URL (scripts/test starts a cluster)";
    db.migrate();
  }

  void enqueue(int n) {
    db.exec("INSERT INTO jobs(model, prompt) SELECT 'cogvideox-3', 'p' || g FROM generate_series(1, " +
            std::to_string(n) + ") g");
  }
  std::int64_t count(const std::string& where) { return db.scalar("SELECT count(*) FROM jobs WHERE " + where); }

  // Advances the clock by `step` and lets every daemon in `running` take its turn, until all
  // `total` jobs succeeded or `limit` of simulated time passed.
  void drive(std::vector<daemon_on_pg*> running, int total, millis step, millis limit) {
    for (millis spent = 0; spent < limit && count("state = 'succeeded'") < total; spent += step) {
      clock.advance(step);
      for (auto* d : running) d->run_a_little();
    }
  }
};

TEST_F(SchedulerOnPostgres, TwoDaemonsKeepTheAccountsCapBetweenThem) {
  enqueue(24);
  provider.run_time = 20'000;
  daemon_on_pg a(db.conninfo(), clock, "node-a", provider, 5);
  daemon_on_pg b(db.conninfo(), clock, "node-b", provider, 5);
  drive({&a, &b}, 24, 1'000, 3'600'000);
  EXPECT_EQ(count("state = 'succeeded'"), 24);
  EXPECT_LE(provider.peak_running, 5) << "the cap is the account's, not each daemon's";
  EXPECT_EQ(provider.peak_running, 5) << "and the two kept it full";
  EXPECT_EQ(provider.submits, 24) << "every job submitted once";
  RecordProperty("polls", provider.polls);
  EXPECT_EQ(db.scalar("SELECT count(DISTINCT owner) FROM jobs"), 0) << "finished rows have no owner";
  EXPECT_GT(db.scalar("SELECT count(*) FROM job_events WHERE to_state = 'submitting'"), 0);
  a.stop();
  b.stop();
}

// The status server's pause goes to the shared table: the other daemon stops submitting for
// the account too, and the resume (through either daemon) lets both go on.
TEST_F(SchedulerOnPostgres, AnOperatorPauseThroughOneDaemonHoldsEveryDaemon) {
  provider.run_time = 5'000;
  daemon_on_pg a(db.conninfo(), clock, "node-a", provider, 5);
  daemon_on_pg b(db.conninfo(), clock, "node-b", provider, 5);
  ASSERT_TRUE(a.command(a.sched->pause_account("default", "top-up pending")));
  EXPECT_FALSE(a.command(a.sched->pause_account("nobody", "typo"))) << "no such account";
  EXPECT_EQ(db.text("SELECT reason FROM account_pauses WHERE account = 'default'"), "top-up pending");
  enqueue(6);
  drive({&a, &b}, 6, 1'000, 30'000);
  EXPECT_EQ(provider.submits, 0) << "b read the pause from the table (LISTEN/NOTIFY wakes it)";
  ASSERT_TRUE(b.command(b.sched->resume_account("default")));
  drive({&a, &b}, 6, 1'000, 600'000);
  EXPECT_EQ(count("state = 'succeeded'"), 6);
  EXPECT_EQ(db.scalar("SELECT count(*) FROM account_pauses"), 0);
  a.stop();
  b.stop();
}

TEST_F(SchedulerOnPostgres, AStoppedDaemonsTasksAreAdoptedAndItsLateWritesChangeNothing) {
  enqueue(4);
  provider.run_time = 120'000;
  daemon_on_pg a(db.conninfo(), clock, "node-a", provider, 5);
  // a submits all four, then stops running (SIGSTOP, or kill -9: from the database's side
  // the same: no more renewals, no more writes).
  for (int i = 0; i < 200 && count("state = 'processing' AND owner = 'node-a'") < 4; ++i) {
    clock.advance(100);
    a.run_a_little();
  }
  ASSERT_EQ(count("state = 'processing' AND owner = 'node-a'"), 4);
  ASSERT_EQ(provider.submits, 4);

  daemon_on_pg b(db.conninfo(), clock, "node-b", provider, 5);
  // Within a's lease (30 s) b leaves a's rows alone.
  for (int i = 0; i < 20; ++i) {
    clock.advance(1'000);
    b.run_a_little();
  }
  EXPECT_EQ(count("owner = 'node-a'"), 4) << "a's lease still runs";
  // Past it, b adopts them and polls them to the end.
  drive({&b}, 4, 1'000, 600'000);
  EXPECT_EQ(count("state = 'succeeded'"), 4);
  EXPECT_EQ(provider.submits, 4) << "adopted tasks are polled, never submitted again";
  EXPECT_EQ(db.scalar("SELECT count(*) FROM charges"), 4) << "one charge per task";
  const auto polls_before = db.scalar("SELECT sum(polls) FROM jobs");

  // a runs again: its lease had expired, its polls find finished tasks, and every write it
  // tries is refused by the owner + epoch guard.
  for (int i = 0; i < 50; ++i) {
    clock.advance(1'000);
    a.run_a_little();
  }
  EXPECT_EQ(count("state = 'succeeded'"), 4);
  EXPECT_EQ(db.scalar("SELECT sum(polls) FROM jobs"), polls_before) << "a's late poll records changed no row";
  EXPECT_EQ(provider.submits, 4);
  EXPECT_EQ(a.fetcher.fetches, 0) << "a downloaded nothing: the rows were not its own any more";
  a.stop();
  b.stop();
}

TEST_F(SchedulerOnPostgres, OneDaemonsRateLimitHoldsTheOthersBack) {
  enqueue(12);
  provider.run_time = 30'000;
  // The provider's real limit is 3 tasks, below the configured cap of 5: the 4th gets 1302.
  provider.refuse = [](int running_now) -> std::optional<provider::verdict> {
    if (running_now < 3) return std::nullopt;
    return test::scripted_provider::rate_limited();
  };
  daemon_on_pg a(db.conninfo(), clock, "node-a", provider, 5);
  for (int i = 0; i < 100 && provider.submits <= provider.accepted; ++i) {
    clock.advance(100);
    a.run_a_little();
  }
  ASSERT_GT(provider.submits, provider.accepted) << "a met the provider's limit";
  // The lane's write follows the refusal by a round trip or two; the clock stands still.
  for (int i = 0; i < 100 && db.scalar("SELECT count(limit_now) FROM lanes") == 0; ++i) a.run_a_little();
  // Shared through the lane row: the limit lowered (to what was in flight then, less the
  // refused submit: AIMD's floor), and nobody claims until the holdoff ends.
  const auto limit = db.scalar("SELECT limit_now::bigint FROM lanes WHERE account = 'default' AND model = 'cogvideox-3'");
  EXPECT_GE(limit, 1);
  EXPECT_LT(limit, 5);
  EXPECT_GT(db.scalar("SELECT backoff_until FROM lanes WHERE account = 'default'"), clock.now());
  const int submits_before_b = provider.submits;
  daemon_on_pg b(db.conninfo(), clock, "node-b", provider, 5);
  for (int i = 0; i < 5; ++i) b.run_a_little();  // within the holdoff: the clock stands still
  EXPECT_EQ(provider.submits, submits_before_b) << "b, which never saw a 1302, held back too";
  drive({&a, &b}, 12, 1'000, 3'600'000);
  EXPECT_EQ(count("state = 'succeeded'"), 12);
  EXPECT_LE(provider.peak_running, 3);
  a.stop();
  b.stop();
}

}  // namespace
}  // namespace vidq
