// store/postgres/dispatch against a real PostgreSQL: several "daemons" (each its own pool
// and node id) on one database. The cap holds across them, a lost row cannot be written by
// its old owner, a dead node's tasks are adopted with their task ids, a 1302 back-off is
// shared through the lane row.
#include "support/net_test_server.hpp"
#include "support/pg_test_db.hpp"
#include "vidq/store/postgres/dispatch.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <random>
#include <set>

namespace vidq::store::pg {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using net_test::run_test;

const queue_group lane_a{"acct", "cogvideox-3", 0, "default"};

void insert_jobs(test::pg_test_db& db, int n, const std::string& account = "acct") {
  db.exec("INSERT INTO jobs(account, model, prompt) SELECT '" + account +
          "', 'cogvideox-3', 'p' || g FROM generate_series(1, " + std::to_string(n) + ") g");
}

awaitable<void> sleep_ms(int ms) {
  asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(ms));
  co_await t.async_wait(asio::use_awaitable);
}

// One daemon's view: its pool (own connections) and its node id.
struct daemon_view {
  pool db;
  dispatch d;
  daemon_view(asio::io_context& ioc, const std::string& conninfo, const clock& clk, std::string node, int size = 4)
      : db(ioc.get_executor(), {.conninfo = conninfo, .size = size}), d(db, clk, std::move(node)) {}
};

TEST(PgDispatch, ClaimsFifoWithUniqueRequestIdsOwnerAndEpoch) {
  test::pg_test_db db;
  VIDQ_REQUIRE_PG(db);
  db.migrate();
  insert_jobs(db, 5);
  asio::io_context ioc;
  system_clock clk;
  daemon_view a(ioc, db.conninfo(), clk, "node-a");
  EXPECT_TRUE(run_test(ioc, [&]() -> awaitable<void> {
    auto groups = co_await a.d.queued_groups();
    EXPECT_TRUE(groups);
    if (!groups) co_return;
    if (groups->size() != 1u) {
      ADD_FAILURE() << "groups->size() is " << groups->size();
      co_return;
    }
    EXPECT_EQ((*groups)[0], lane_a);
    auto c = co_await a.d.claim(lane_a, 3, "acct", 20);
    EXPECT_TRUE(c);
    if (!c) co_return;
    if (c->rows.size() != 3u) {
      ADD_FAILURE() << "c->rows.size() is " << c->rows.size();
      co_return;
    }
    EXPECT_EQ(c->in_flight_before, 0);
    std::set<std::string> ids;
    for (std::size_t i = 0; i < c->rows.size(); ++i) {
      const auto& r = c->rows[i];
      EXPECT_EQ(r.id, static_cast<std::int64_t>(i + 1)) << "oldest first";
      EXPECT_EQ(r.state, job_state::submitting);
      EXPECT_EQ(r.attempts, 1);
      EXPECT_EQ(r.epoch, 1);
      if (!r.request_id) {
        ADD_FAILURE() << "no request_id";
        co_return;
      }
      EXPECT_TRUE(r.request_id->starts_with("vq" + std::to_string(r.id) + "-1-")) << *r.request_id;
      ids.insert(*r.request_id);
    }
    EXPECT_EQ(ids.size(), 3u);
  }));
  EXPECT_EQ(db.scalar("SELECT count(*) FROM jobs WHERE owner = 'node-a' AND state = 'submitting'"), 3);
}

TEST(PgDispatch, AClaimCountsSlotsOnlyAfterItHoldsTheLaneLock) {
  test::pg_test_db db;
  VIDQ_REQUIRE_PG(db);
  db.migrate();
  insert_jobs(db, 10);
  asio::io_context ioc;
  system_clock clk;
  daemon_view a(ioc, db.conninfo(), clk, "node-a");
  daemon_view other(ioc, db.conninfo(), clk, "node-b");
  bool claim_done = false;
  EXPECT_TRUE(run_test(ioc, [&]() -> awaitable<void> {
    // Another daemon is mid-claim: it holds the lane row and has taken all 5 slots, not yet committed.
    EXPECT_TRUE(co_await other.db.query("INSERT INTO lanes(account, model, cap) VALUES ('acct', 'cogvideox-3', 5)"));
    auto holder = co_await other.db.acquire();
    if (!holder) co_return;
    EXPECT_TRUE(co_await (*holder)->query("BEGIN"));
    EXPECT_TRUE(co_await (*holder)->query("SELECT 1 FROM lanes WHERE account = 'acct' FOR UPDATE"));
    EXPECT_TRUE(co_await (*holder)->query(
        "UPDATE jobs SET state = 'submitting', request_id = 'r' || id, owner = 'node-b' WHERE id <= 5"));

    claim_outcome got;
    asio::co_spawn(
        co_await asio::this_coro::executor,
        [&]() -> awaitable<void> {
          auto c = co_await a.d.claim(lane_a, 5, "acct", 5);
          EXPECT_TRUE(c);
          if (c) got = std::move(*c);
          claim_done = true;
        },
        asio::detached);
    co_await sleep_ms(200);
    EXPECT_FALSE(claim_done) << "the claim must wait for the lane lock";
    EXPECT_TRUE(co_await (*holder)->query("COMMIT"));
    while (!claim_done) co_await sleep_ms(5);
    EXPECT_EQ(got.in_flight_before, 5);
    EXPECT_TRUE(got.rows.empty()) << "the last slot was taken by the other daemon";
  }));
  EXPECT_EQ(db.scalar("SELECT count(*) FROM jobs WHERE state IN ('submitting', 'processing')"), 5);
}

TEST(PgDispatch, ThreeDaemonsNeverHoldMoreThanTheCapTogether) {
  test::pg_test_db db;
  VIDQ_REQUIRE_PG(db);
  db.migrate();
  constexpr int jobs = 150;
  constexpr int cap = 5;
  insert_jobs(db, jobs);
  asio::io_context ioc;
  system_clock clk;
  std::vector<std::unique_ptr<daemon_view>> daemons;
  for (int i = 0; i < 3; ++i) {
    daemons.push_back(std::make_unique<daemon_view>(ioc, db.conninfo(), clk, "node-" + std::to_string(i)));
  }
  pool observer_pool(ioc.get_executor(), {.conninfo = db.conninfo(), .size = 1});
  std::int64_t peak = 0;
  int finished = 0;
  int workers_done = 0;
  EXPECT_TRUE(run_test(
      ioc,
      [&]() -> awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        std::mt19937 rng(7);
        // Every daemon runs 3 claimers; each claimed task holds its slot 5..25 ms, then finishes.
        for (auto& dv : daemons) {
          for (int w = 0; w < 3; ++w) {
            asio::co_spawn(
                ex,
                [&, hold = static_cast<int>(5 + rng() % 20)]() -> awaitable<void> {
                  for (;;) {
                    auto c = co_await dv->d.claim(lane_a, 2, "acct", cap);
                    EXPECT_TRUE(c);
                    if (!c) break;
                    if (c->rows.empty()) {
                      auto left = co_await dv->db.query("SELECT count(*) FROM jobs WHERE state = 'queued'");
                      if (!left || left->int64(0, 0) == 0) break;
                      co_await sleep_ms(2);
                      continue;
                    }
                    for (auto& r : c->rows) {
                      EXPECT_TRUE(is_true(co_await dv->d.record_accepted(r, "task-" + std::to_string(r.id),
                                                                         clk.now(), 100)));
                      r.state = job_state::processing;
                    }
                    co_await sleep_ms(hold);
                    for (auto& r : c->rows) {
                      EXPECT_TRUE(is_true(co_await dv->d.record_failed(r, job_state::processing, "t", "done")));
                      ++finished;
                    }
                  }
                  ++workers_done;
                },
                asio::detached);
          }
        }
        // An independent observer of the committed state, every millisecond.
        while (workers_done < 9) {
          auto n = co_await observer_pool.query(
              "SELECT count(*) FROM jobs WHERE account = 'acct' AND state IN ('submitting', 'processing')");
          if (n) peak = std::max(peak, n->int64(0, 0));
          co_await sleep_ms(1);
        }
      },
      std::chrono::milliseconds(60'000)));
  EXPECT_EQ(finished, jobs);
  EXPECT_LE(peak, cap);
  EXPECT_GE(peak, cap - 1) << "the daemons kept the lane (nearly) full";
  EXPECT_EQ(db.scalar("SELECT count(DISTINCT request_id) FROM charges"), jobs);
  EXPECT_EQ(db.scalar("SELECT count(*) FROM charges"), jobs) << "one charge per task";
}

TEST(PgDispatch, ALostRowRejectsItsOldOwnersWritesAndIsAdoptedWithItsTask) {
  test::pg_test_db db;
  VIDQ_REQUIRE_PG(db);
  db.migrate();
  insert_jobs(db, 2);
  asio::io_context ioc;
  manual_clock clk;
  daemon_view a(ioc, db.conninfo(), clk, "node-a");
  daemon_view b(ioc, db.conninfo(), clk, "node-b");
  EXPECT_TRUE(run_test(ioc, [&]() -> awaitable<void> {
    EXPECT_TRUE(co_await a.d.register_node("host-a", 1, 10'000));
    EXPECT_TRUE(co_await b.d.register_node("host-b", 2, 60'000));
    auto c = co_await a.d.claim(lane_a, 2, "acct", 20);
    if (!c || c->rows.size() != 2) {
      ADD_FAILURE() << "claim";
      co_return;
    }
    auto processing = c->rows[0];
    auto submitting = c->rows[1];
    EXPECT_TRUE(is_true(co_await a.d.record_accepted(processing, "task-1", clk.now(), 100)));
    processing.state = job_state::processing;

    // Node a is alive: nothing to adopt.
    auto none = co_await b.d.adopt_expired(100);
    EXPECT_TRUE(none && none->empty());

    // Node a stops renewing (SIGSTOP, a paused VM); b renews and adopts after a's lease ends.
    clk.advance(11'000);
    EXPECT_TRUE(is_true(co_await b.d.renew_lease(10'000)));
    auto adopted = co_await b.d.adopt_expired(100);
    EXPECT_TRUE(adopted);
    if (!adopted || adopted->size() != 2) {
      ADD_FAILURE() << "adopted " << (adopted ? adopted->size() : 0);
      co_return;
    }
    const auto& p = (*adopted)[0];
    EXPECT_EQ(p.state, job_state::processing);
    EXPECT_EQ(p.task_id, "task-1") << "polled, never submitted again";
    EXPECT_EQ(p.request_id, processing.request_id);
    EXPECT_EQ(p.epoch, processing.epoch + 1);
    EXPECT_EQ((*adopted)[1].state, job_state::submitting) << "for the adopter's ambiguous-submit policy";

    // Node a wakes up: its lease had expired, and every write it tries changes nothing.
    EXPECT_FALSE(is_true(co_await a.d.renew_lease(10'000)));
    auto late_poll = co_await a.d.record_polled(processing, clk.now() + 5'000, true);
    EXPECT_TRUE(late_poll);
    EXPECT_FALSE(is_true(late_poll)) << "the guarded update changed no row";
    EXPECT_FALSE(is_true(co_await a.d.record_remote_success(processing, "https://x/v.mp4", "")));
    EXPECT_FALSE(is_true(co_await a.d.record_accepted(submitting, "task-2", clk.now(), 100)));
    // The new owner's writes go through.
    EXPECT_TRUE(is_true(co_await b.d.record_polled(p, clk.now() + 5'000, true)));
    EXPECT_TRUE(is_true(co_await b.d.record_remote_success(p, "https://x/v.mp4", "")));
  }));
  EXPECT_EQ(db.scalar("SELECT polls FROM jobs WHERE id = 1"), 2) << "b's two writes, none of a's";
  EXPECT_EQ(db.text("SELECT owner FROM jobs WHERE id = 1"), "node-b");
  EXPECT_EQ(db.text("SELECT state FROM jobs WHERE id = 2"), "submitting") << "a's late accept did not move it";
  // a's late accept still left its charge: the provider created task-2 whoever holds the row.
  EXPECT_EQ(db.scalar("SELECT count(*) FROM charges WHERE task_id = 'task-2'"), 1);
}

TEST(PgDispatch, AnOrphanedInFlightRowIsAdoptedAndPollsGoToTheirOwner) {
  test::pg_test_db db;
  VIDQ_REQUIRE_PG(db);
  db.migrate();
  insert_jobs(db, 3);
  // An operator's `retry --download` puts a row in processing with no owner; a row of a node
  // that never registered a lease is ownerless in effect.
  db.exec("UPDATE jobs SET state = 'processing', task_id = 't' || id, request_id = 'r' || id, next_poll_at = 0,"
          " owner = CASE id WHEN 2 THEN 'ghost' END WHERE id <= 2");
  asio::io_context ioc;
  system_clock clk;
  daemon_view a(ioc, db.conninfo(), clk, "node-a");
  EXPECT_TRUE(run_test(ioc, [&]() -> awaitable<void> {
    EXPECT_TRUE(co_await a.d.register_node("host-a", 1, 10'000));
    auto before = co_await a.d.due_polls(10);
    EXPECT_TRUE(before && before->empty()) << "not ours yet";
    auto adopted = co_await a.d.adopt_expired(10);
    EXPECT_TRUE(adopted && adopted->size() == 2);
    auto due = co_await a.d.due_polls(10);
    EXPECT_TRUE(due && due->size() == 2);
  }));
}

TEST(PgDispatch, ABackOffAfter1302HoldsForEveryDaemonAndRecoversWithTime) {
  test::pg_test_db db;
  VIDQ_REQUIRE_PG(db);
  db.migrate();
  insert_jobs(db, 30);
  asio::io_context ioc;
  manual_clock clk;
  daemon_view a(ioc, db.conninfo(), clk, "node-a");
  daemon_view b(ioc, db.conninfo(), clk, "node-b");
  const lane_backoff policy{.decrease_factor = 0.5, .decrease_holdoff = 1'000, .quiet_period = 10'000};
  a.d.set_lane_backoff(policy);
  b.d.set_lane_backoff(policy);
  EXPECT_TRUE(run_test(ioc, [&]() -> awaitable<void> {
    EXPECT_TRUE(co_await a.d.lower_lane("acct", "cogvideox-3", 10)) << a.db.last_failure().message;
    auto quiet = co_await b.d.claim(lane_a, 10, "acct", 10);
    EXPECT_TRUE(quiet && quiet->quiet && quiet->rows.empty()) << "no claims on the lane while it is quiet";
    // A second 1302 within the holdoff is the same event: no second halving.
    EXPECT_TRUE(co_await b.d.lower_lane("acct", "cogvideox-3", 10));
    clk.advance(1'001);
    auto halved = co_await b.d.claim(lane_a, 10, "acct", 10);
    EXPECT_TRUE(halved);
    if (halved) {
      EXPECT_EQ(halved->limit, 5);
      EXPECT_EQ(halved->rows.size(), 5u) << "b obeys the limit a learned";
    }
    // One slot back per quiet period since the last 1302, up to the cap.
    clk.advance(10'000);
    auto one_more = co_await b.d.claim(lane_a, 10, "acct", 10);
    EXPECT_TRUE(one_more && one_more->limit == 6 && one_more->rows.size() == 1u);
    clk.advance(100'000);
    auto full = co_await a.d.claim(lane_a, 10, "acct", 10);
    EXPECT_TRUE(full);
    if (full) {
      EXPECT_EQ(full->limit, 10);
      EXPECT_EQ(full->rows.size(), 4u);
    }
    // With 10 in flight, a 1302 keeps what the provider accepted: max(5, 10 - 1) = 9.
    EXPECT_TRUE(co_await a.d.lower_lane("acct", "cogvideox-3", 10));
  }));
  EXPECT_EQ(db.scalar("SELECT limit_now::bigint FROM lanes"), 9);
}

}  // namespace
}  // namespace vidq::store::pg
