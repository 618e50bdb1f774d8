// PostgreSQL upkeep ([retention], the duration-sample trim) with SQLite's bounds and counts,
// and output names reserved across daemons.
#include "support/net_test_server.hpp"
#include "support/pg_test_db.hpp"
#include "vidq/store/postgres/dispatch.hpp"
#include "vidq/store/postgres/upkeep.hpp"

#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

namespace vidq::store::pg {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using net_test::run_test;

constexpr millis day = 86'400'000;

TEST(PgUpkeep, RetentionDeletesOldFinishedJobsWithTheirEventsInBoundedSteps) {
  test::pg_test_db db;
  VIDQ_REQUIRE_PG(db);
  db.migrate();
  db.exec("INSERT INTO jobs(model, prompt) SELECT 'cogvideox-3', 'p' FROM generate_series(1, 5)");
  // Three finished long ago (one event each: queued → succeeded), one recently, one queued.
  db.exec("UPDATE jobs SET state = 'succeeded', finished_at = 1000, updated_at = 1000 WHERE id <= 3");
  const millis now = 100 * day;
  db.exec("UPDATE jobs SET state = 'failed', finished_at = " + std::to_string(now - 1000) + " WHERE id = 4");
  asio::io_context ioc;
  pool p(ioc.get_executor(), {.conninfo = db.conninfo(), .size = 1});
  ops::retention_config rules;
  rules.finished_jobs = 30 * day;
  EXPECT_TRUE(run_test(ioc, [&]() -> awaitable<void> {
    auto first = co_await apply_retention(p, rules, now, 2);
    EXPECT_TRUE(first) << p.last_failure().message;
    if (!first) co_return;
    EXPECT_EQ(first->jobs_deleted, 2);
    EXPECT_EQ(first->events_deleted, 2);
    EXPECT_TRUE(first->more);
    auto second = co_await apply_retention(p, rules, now, 2);
    EXPECT_TRUE(second);
    if (!second) co_return;
    EXPECT_EQ(second->jobs_deleted, 1);
    EXPECT_FALSE(second->more);
  }));
  EXPECT_EQ(db.scalar("SELECT count(*) FROM jobs"), 2);
  EXPECT_EQ(db.scalar("SELECT count(*) FROM job_events WHERE job_id <= 3"), 0);
  EXPECT_EQ(db.scalar("SELECT count(*) FROM job_events WHERE job_id = 4"), 1);
}

TEST(PgUpkeep, OldEventsGoByAgeAndTheSampleTableStaysBounded) {
  test::pg_test_db db;
  VIDQ_REQUIRE_PG(db);
  db.migrate();
  db.exec("INSERT INTO jobs(model, prompt) VALUES ('cogvideox-3', 'p')");
  db.exec("UPDATE jobs SET state = 'cancelled'");  // an event now
  db.exec("INSERT INTO duration_samples(job_id, model, params, at_least_ms, at_most_ms, at)"
          " SELECT g, 'cogvideox-3', '{}', g * 1000, g * 1000 + 500, g FROM generate_series(1, 30) g");
  asio::io_context ioc;
  pool p(ioc.get_executor(), {.conninfo = db.conninfo(), .size = 1});
  ops::retention_config rules;
  rules.events = 7 * day;
  EXPECT_TRUE(run_test(ioc, [&]() -> awaitable<void> {
    auto r = co_await apply_retention(p, rules, system_clock().now() + 8 * day);
    EXPECT_TRUE(r && r->events_deleted == 1 && r->jobs_deleted == 0);
    auto trimmed = co_await trim_duration_samples(p, 10);
    EXPECT_TRUE(trimmed && *trimmed == 20) << p.last_failure().message;
  }));
  EXPECT_EQ(db.scalar("SELECT count(*) FROM jobs"), 1) << "events by age never take their job";
  EXPECT_EQ(db.scalar("SELECT min(at_least_ms) FROM duration_samples"), 21'000) << "the newest stay";
}

TEST(PgOutputNames, TwoDaemonsNeverReserveTheSameFile) {
  test::pg_test_db db;
  VIDQ_REQUIRE_PG(db);
  db.migrate();
  db.exec("INSERT INTO jobs(model, prompt, state, task_id, owner, epoch) VALUES"
          " ('cogvideox-3', 'p', 'downloading', 't1', 'node-a', 1),"
          " ('cogvideox-3', 'p', 'downloading', 't2', 'node-b', 1)");
  asio::io_context ioc;
  system_clock clk;
  pool pa(ioc.get_executor(), {.conninfo = db.conninfo(), .size = 1});
  pool pb(ioc.get_executor(), {.conninfo = db.conninfo(), .size = 1});
  dispatch a(pa, clk, "node-a");
  dispatch b(pb, clk, "node-b");
  job_row one;
  one.id = 1;
  one.epoch = 1;
  job_row two;
  two.id = 2;
  two.epoch = 1;
  EXPECT_TRUE(run_test(ioc, [&]() -> awaitable<void> {
    auto first = co_await a.reserve_video_path(one, "/out/sku-1.mp4");
    EXPECT_TRUE(first && *first == output_reservation::reserved);
    auto second = co_await b.reserve_video_path(two, "/out/sku-1.mp4");
    EXPECT_TRUE(second && *second == output_reservation::taken);
    auto again = co_await a.reserve_video_path(one, "/out/sku-1.mp4");
    EXPECT_TRUE(again && *again == output_reservation::reserved) << "its own name stays its own";
    auto stale = co_await a.reserve_video_path(two, "/out/sku-2.mp4");
    EXPECT_TRUE(stale && *stale == output_reservation::moved) << "not a's row";
  }));
  EXPECT_EQ(db.text("SELECT coalesce(video_path, '') FROM jobs WHERE id = 2"), "");
}

}  // namespace
}  // namespace vidq::store::pg
