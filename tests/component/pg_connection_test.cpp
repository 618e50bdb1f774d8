// store/postgres/connection + pool against a real PostgreSQL (the throwaway cluster that
// scripts/test starts): queries, errors and what they map to, LISTEN/NOTIFY, that a slow
// query leaves the event loop running, reconnects, multi-host connection strings.
#include "support/net_test_server.hpp"
#include "support/pg_test_db.hpp"
#include "vidq/store/postgres/connection.hpp"
#include "vidq/store/postgres/pool.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <set>

namespace vidq::store::pg {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using net_test::run_test;

awaitable<std::unique_ptr<connection>> must_open(const std::string& conninfo) {
  auto c = co_await connection::open(co_await asio::this_coro::executor, conninfo, 5'000);
  EXPECT_TRUE(c) << (c ? "" : c.error().message());
  co_return c ? std::move(*c) : nullptr;
}

TEST(PgConnection, RunsParameterizedQueriesWithNullsAndNumbers) {
  test::pg_test_db db;
  VIDQ_REQUIRE_PG(db);
  asio::io_context ioc;
  EXPECT_TRUE(run_test(ioc, [&]() -> awaitable<void> {
    auto c = co_await must_open(db.conninfo());
    if (!c) co_return;
    auto r = co_await c->query("SELECT $1::bigint + 1 AS n, $2::text AS t, $3::text AS missing",
                               args(param("41"), param("héllo"), std::nullopt));
    EXPECT_TRUE(r) << c->last_failure().message;
    if (!r) co_return;
    if (r->size() != 1) {
      ADD_FAILURE() << "r->size() is " << r->size();
      co_return;
    }
    EXPECT_EQ(r->int64(0, r->column("n")), 42);
    EXPECT_EQ(r->text(0, r->column("t")), "héllo");
    EXPECT_TRUE(r->is_null(0, r->column("missing")));
    EXPECT_EQ(r->opt_text(0, 2), std::nullopt);
    EXPECT_EQ(r->column("nope"), -1);

    EXPECT_TRUE(co_await c->exec_script("CREATE TABLE t(x int); INSERT INTO t VALUES (1), (2), (3);"));
    auto u = co_await c->query("UPDATE t SET x = x + 10 WHERE x >= $1", args(param("2")));
    EXPECT_TRUE(u);
    if (u) {
      EXPECT_EQ(u->affected(), 2);
    }
  }));
}

TEST(PgConnection, MapsErrorsToWhatTheCallerDoesNext) {
  test::pg_test_db db;
  VIDQ_REQUIRE_PG(db);
  asio::io_context ioc;
  EXPECT_TRUE(run_test(ioc, [&]() -> awaitable<void> {
    auto c = co_await must_open(db.conninfo());
    if (!c) co_return;
    auto bad = co_await c->query("SELEC 1");
    EXPECT_EQ(bad.error(), errc::database_error);
    EXPECT_EQ(c->last_failure().sqlstate, "42601");
    EXPECT_FALSE(c->broken());

    // A lost serialization race or a deadlock: the caller runs its transaction again.
    auto raced = co_await c->query("DO $$ BEGIN RAISE EXCEPTION 'raced' USING ERRCODE = '40001'; END $$");
    EXPECT_EQ(raced.error(), errc::database_busy);
    auto ok = co_await c->query("SELECT 1");
    EXPECT_TRUE(ok) << "the connection stays usable after an error";

    // The server ends the session: the connection is broken, the caller gets another one.
    auto killed = co_await c->query("SELECT pg_terminate_backend(pg_backend_pid())");
    EXPECT_EQ(killed.error(), errc::database_lost);
    EXPECT_TRUE(c->broken());
    auto after = co_await c->query("SELECT 1");
    EXPECT_EQ(after.error(), errc::database_lost);
  }));
}

TEST(PgConnection, ASlowQueryLeavesTheLoopRunning) {
  test::pg_test_db db;
  VIDQ_REQUIRE_PG(db);
  asio::io_context ioc;
  int ticks_during_query = 0;
  bool query_done = false;
  EXPECT_TRUE(run_test(ioc, [&]() -> awaitable<void> {
    auto c = co_await must_open(db.conninfo());
    if (!c) co_return;
    // A 10 ms ticker on the same thread: a blocking libpq call would starve it for 400 ms.
    asio::co_spawn(
        co_await asio::this_coro::executor,
        [&]() -> awaitable<void> {
          asio::steady_timer t(co_await asio::this_coro::executor);
          while (!query_done) {
            t.expires_after(std::chrono::milliseconds(10));
            co_await t.async_wait(asio::use_awaitable);
            if (!query_done) ++ticks_during_query;
          }
        },
        asio::detached);
    auto r = co_await c->query("SELECT pg_sleep(0.4)");
    query_done = true;
    EXPECT_TRUE(r) << c->last_failure().message;
  }));
  EXPECT_GE(ticks_during_query, 10) << "the loop did not run while the query did";
}

TEST(PgConnection, DeliversNotificationsAndTimesOutQuietly) {
  test::pg_test_db db;
  VIDQ_REQUIRE_PG(db);
  asio::io_context ioc;
  EXPECT_TRUE(run_test(ioc, [&]() -> awaitable<void> {
    auto listener = co_await must_open(db.conninfo());
    auto sender = co_await must_open(db.conninfo());
    if (!listener || !sender) co_return;
    EXPECT_TRUE(co_await listener->query("LISTEN vidq_test"));

    auto none = co_await listener->wait_notifications(50);
    EXPECT_TRUE(none && none->empty());

    asio::co_spawn(
        co_await asio::this_coro::executor,
        [&]() -> awaitable<void> {
          asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(30));
          co_await t.async_wait(asio::use_awaitable);
          EXPECT_TRUE(co_await sender->query("SELECT pg_notify('vidq_test', 'hello')"));
        },
        asio::detached);
    auto got = co_await listener->wait_notifications(5'000);
    EXPECT_TRUE(got);
    if (!got) co_return;
    if (got->size() != 1u) {
      ADD_FAILURE() << "got->size() is " << got->size();
      co_return;
    }
    EXPECT_EQ((*got)[0].channel, "vidq_test");
    EXPECT_EQ((*got)[0].payload, "hello");
  }));
}

TEST(PgConnection, FindsTheWritableHostOfAMultiHostString) {
  test::pg_test_db db;
  VIDQ_REQUIRE_PG(db);
  const auto port = db.text("SELECT inet_server_port()");
  const auto name = db.text("SELECT current_database()");
  // The first host refuses connections (nothing listens on port 1); libpq moves on to the next.
  const auto multi = "postgresql://postgres@127.0.0.1:1,127.0.0.1:" + port + "/" + name +
                     "?target_session_attrs=read-write&connect_timeout=5";
  asio::io_context ioc;
  EXPECT_TRUE(run_test(ioc, [&]() -> awaitable<void> {
    auto c = co_await must_open(multi);
    if (!c) co_return;
    auto r = co_await c->query("SELECT current_database()");
    EXPECT_TRUE(r);
    if (r) {
      EXPECT_EQ(r->text(0, 0), name);
    }
  }));
}

TEST(PgPool, RetriesATransactionThatLostARaceAndRollsBackOnError) {
  test::pg_test_db db;
  VIDQ_REQUIRE_PG(db);
  db.exec("CREATE TABLE counter(n int); INSERT INTO counter VALUES (0);");
  asio::io_context ioc;
  pool p(ioc.get_executor(), {.conninfo = db.conninfo(), .size = 2});
  EXPECT_TRUE(run_test(ioc, [&]() -> awaitable<void> {
    int runs = 0;
    auto r = co_await p.transaction<std::int64_t>([&](connection& c) -> awaitable<result<std::int64_t>> {
      ++runs;
      auto u = co_await c.query("UPDATE counter SET n = n + 1 RETURNING n");
      if (!u) co_return u.error();
      if (runs == 1) {  // as if a concurrent claimer won: the update must not survive
        auto raced = co_await c.query("DO $$ BEGIN RAISE EXCEPTION 'raced' USING ERRCODE = '40001'; END $$");
        if (!raced) co_return raced.error();
      }
      co_return u->int64(0, 0);
    });
    EXPECT_EQ(runs, 2);
    EXPECT_TRUE(r);
    if (r) {
      EXPECT_EQ(*r, 1) << "the first run was rolled back";
    }

    auto failed = co_await p.transaction<std::int64_t>([&](connection& c) -> awaitable<result<std::int64_t>> {
      auto u = co_await c.query("UPDATE counter SET n = 100");
      if (!u) co_return u.error();
      co_return make_error_code(errc::not_found);  // the body's own verdict
    });
    EXPECT_EQ(failed.error(), errc::not_found);
  }));
  EXPECT_EQ(db.scalar("SELECT n FROM counter"), 1);
}

TEST(PgPool, ReplacesAKilledConnectionAndBacksOffWhenTheServerIsGone) {
  test::pg_test_db db;
  VIDQ_REQUIRE_PG(db);
  asio::io_context ioc;
  pool p(ioc.get_executor(), {.conninfo = db.conninfo(), .size = 1});
  EXPECT_TRUE(run_test(ioc, [&]() -> awaitable<void> {
    auto pid = co_await p.query("SELECT pg_backend_pid()");
    EXPECT_TRUE(pid);
    if (!pid) co_return;
    db.exec("SELECT pg_terminate_backend(" + std::string(pid->text(0, 0)) + ")");
    // The pool does not know yet: the first use finds the connection dead...
    auto lost = co_await p.query("SELECT 1");
    EXPECT_EQ(lost.error(), errc::database_lost);
    // ...and the next borrower gets a new one.
    auto again = co_await p.query("SELECT pg_backend_pid()");
    EXPECT_TRUE(again);
    if (again) {
      EXPECT_NE(again->text(0, 0), pid->text(0, 0));
    }
    EXPECT_EQ(p.open_connections(), 1);
  }));

  asio::io_context ioc2;  // the first ran to completion
  pool gone(ioc2.get_executor(),
            {.conninfo = "postgresql://postgres:secret@127.0.0.1:1/nothing", .size = 2, .reconnect_min_ms = 60'000});
  EXPECT_TRUE(run_test(ioc2, [&]() -> awaitable<void> {
    auto first = co_await gone.query("SELECT 1");
    EXPECT_FALSE(first);
    EXPECT_EQ(gone.last_failure().message.find("secret"), std::string::npos) << gone.last_failure().message;
    // Backing off: no new connect for reconnect_min, the caller hears at once.
    auto second = co_await gone.query("SELECT 1");
    EXPECT_EQ(second.error(), errc::database_lost);
    EXPECT_EQ(gone.open_connections(), 0);
  }));
}

TEST(PgPool, AServerThatStopsAnsweringCostsTheCallTimeoutThenAFreshConnection) {
  test::pg_test_db db;
  VIDQ_REQUIRE_PG(db);
  asio::io_context ioc;
  pool p(ioc.get_executor(), {.conninfo = db.conninfo(), .size = 1, .call_timeout_ms = 200});
  EXPECT_TRUE(run_test(ioc, [&]() -> awaitable<void> {
    const auto started = std::chrono::steady_clock::now();
    // As good as a partition for the client: the answer comes after the deadline.
    auto hung = co_await p.query("SELECT pg_sleep(3)");
    const auto waited = std::chrono::steady_clock::now() - started;
    EXPECT_EQ(hung.error(), errc::database_lost);
    EXPECT_LT(waited, std::chrono::milliseconds(2'000)) << "gave up at the call timeout, not at the answer";
    EXPECT_EQ(p.open_connections(), 0) << "the connection with a query still running is not lent again";
    auto next = co_await p.query("SELECT 1");
    EXPECT_TRUE(next) << p.last_failure().message;
  }));
}

TEST(PgPool, LendsEachConnectionToOneBorrowerAtATime) {
  test::pg_test_db db;
  VIDQ_REQUIRE_PG(db);
  asio::io_context ioc;
  pool p(ioc.get_executor(), {.conninfo = db.conninfo(), .size = 2});
  int finished = 0;
  std::set<std::string> backends;
  EXPECT_TRUE(run_test(ioc, [&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    for (int i = 0; i < 6; ++i) {
      asio::co_spawn(
          ex,
          [&]() -> awaitable<void> {
            auto r = co_await p.query("SELECT pg_backend_pid(), pg_sleep(0.05)");
            EXPECT_TRUE(r);
            if (r) backends.insert(std::string(r->text(0, 0)));
            ++finished;
          },
          asio::detached);
    }
    asio::steady_timer t(ex);
    while (finished < 6) {
      t.expires_after(std::chrono::milliseconds(10));
      co_await t.async_wait(asio::use_awaitable);
    }
  }));
  EXPECT_EQ(finished, 6);
  EXPECT_EQ(backends.size(), 2u) << "six queries shared the pool's two connections";
  EXPECT_LE(p.open_connections(), 2);
}

}  // namespace
}  // namespace vidq::store::pg
