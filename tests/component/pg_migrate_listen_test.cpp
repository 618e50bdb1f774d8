// The PostgreSQL migration runner (two at once, a newer schema refused) and the queue
// listener that replaces PRAGMA data_version (an INSERT by another client wakes it; a killed
// connection is replaced and counts as a change).
#include "support/net_test_server.hpp"
#include "support/pg_test_db.hpp"
#include "vidq/store/postgres/migrate.hpp"
#include "vidq/store/postgres/queue_listener.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

namespace vidq::store::pg {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using net_test::run_test;

awaitable<void> sleep_ms(int ms) {
  asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(ms));
  co_await t.async_wait(asio::use_awaitable);
}

// Waits up to `limit_ms` for `done()`, checking every 5 ms.
awaitable<bool> eventually(std::function<bool()> done, int limit_ms) {
  for (int waited = 0; waited < limit_ms; waited += 5) {
    if (done()) co_return true;
    co_await sleep_ms(5);
  }
  co_return done();
}

TEST(PgMigrate, TwoRunnersAtOnceLeaveOneSchemaAtTheNewestVersion) {
  test::pg_test_db db;
  VIDQ_REQUIRE_PG(db);
  asio::io_context ioc;
  int finished = 0;
  EXPECT_TRUE(run_test(ioc, [&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    for (int i = 0; i < 2; ++i) {
      asio::co_spawn(
          ex,
          [&]() -> awaitable<void> {
            auto c = co_await connection::open(co_await asio::this_coro::executor, db.conninfo(), 5'000);
            EXPECT_TRUE(c);
            if (!c) co_return;
            auto m = co_await migrate(**c);
            EXPECT_TRUE(m) << (*c)->last_failure().message;
            if (m) {
              EXPECT_EQ(m->to_version, latest_schema_version());
            }
            ++finished;
          },
          asio::detached);
    }
    co_await eventually([&] { return finished == 2; }, 20'000);
  }));
  EXPECT_EQ(finished, 2);
  EXPECT_EQ(db.scalar("SELECT count(*) FROM schema_migrations"), static_cast<std::int64_t>(embedded_migrations().size()));
  EXPECT_EQ(db.scalar("SELECT max(version) FROM schema_migrations"), latest_schema_version());
  db.exec("INSERT INTO jobs(model, prompt) VALUES ('cogvideox-3', 'a plain insert works')");
  EXPECT_EQ(db.text("SELECT state FROM jobs"), "queued");
}

TEST(PgMigrate, RefusesADatabaseANewerVidqMigrated) {
  test::pg_test_db db;
  VIDQ_REQUIRE_PG(db);
  db.migrate();
  db.exec("INSERT INTO schema_migrations(version, name, applied_at) VALUES (9999, '9999_future', 0)");
  asio::io_context ioc;
  EXPECT_TRUE(run_test(ioc, [&]() -> awaitable<void> {
    auto c = co_await connection::open(co_await asio::this_coro::executor, db.conninfo(), 5'000);
    EXPECT_TRUE(c);
    if (!c) co_return;
    auto m = co_await migrate(**c);
    EXPECT_EQ(m.error(), errc::schema_too_new);
  }));
}

TEST(PgQueueListener, AnInsertByAnyClientWakesItAndAKilledConnectionIsReplaced) {
  test::pg_test_db db;
  VIDQ_REQUIRE_PG(db);
  db.migrate();
  asio::io_context ioc;
  int changes = 0;
  queue_listener listener(ioc.get_executor(), db.conninfo(), [&] { ++changes; }, 200);
  EXPECT_TRUE(run_test(ioc, [&]() -> awaitable<void> {
    asio::co_spawn(co_await asio::this_coro::executor, listener.run(), asio::detached);
    EXPECT_TRUE(co_await eventually([&] { return changes == 1; }, 5'000)) << "connecting counts as a change";

    db.exec("INSERT INTO jobs(model, prompt) VALUES ('cogvideox-3', 'from cron')");
    EXPECT_TRUE(co_await eventually([&] { return changes == 2; }, 1'000)) << "noticed within a second";

    // A row that leaves no queued row behind wakes nobody.
    db.exec("UPDATE jobs SET state = 'cancelled'");
    co_await sleep_ms(200);
    EXPECT_EQ(changes, 2);

    db.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%' AND pid <> "
            "pg_backend_pid()");
    EXPECT_TRUE(co_await eventually([&] { return listener.reconnects() >= 1 && changes == 3; }, 5'000))
        << "reconnected, and the reconnect counted as a change";
    db.exec("INSERT INTO jobs(model, prompt) VALUES ('cogvideox-3', 'after the reconnect')");
    EXPECT_TRUE(co_await eventually([&] { return changes == 4; }, 1'000));
    listener.stop();
    co_await sleep_ms(20);
  }));
}

}  // namespace
}  // namespace vidq::store::pg
