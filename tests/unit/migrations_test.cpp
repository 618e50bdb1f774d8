#include "vidq/store/migrations.hpp"

#include "support/test_db.hpp"

#include <gtest/gtest.h>

namespace vidq::store {
namespace {

// Strictly increasing from 1; a gap is allowed while two branches each add a number (0005
// and 0006 were written at the same time): the runner applies whatever is above user_version.
TEST(Migrations, EmbeddedInOrderAndNumberedFromOne) {
  const auto all = embedded_migrations();
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all.front().version, 1) << all.front().name;
  for (std::size_t i = 1; i < all.size(); ++i) EXPECT_GT(all[i].version, all[i - 1].version) << all[i].name;
}

TEST(Migrations, SecondRunIsANoOp) {
  test::temp_dir dir;
  auto db = database::open(dir.file("m.db"));
  ASSERT_TRUE(db);
  auto first = migrate(*db);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->from_version, 0);
  EXPECT_EQ(first->to_version, latest_schema_version());
  auto second = migrate(*db);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->from_version, second->to_version);
}

TEST(Migrations, RefusesADatabaseFromANewerBinary) {
  test::temp_dir dir;
  auto db = database::open(dir.file("m.db"));
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->exec("PRAGMA user_version = " + std::to_string(latest_schema_version() + 1)));
  auto r = migrate(*db);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(errc::schema_too_new));
  auto tables = db->prepare("SELECT count(*) FROM sqlite_schema");
  ASSERT_TRUE(tables && tables->step().value());
  EXPECT_EQ(tables->get_int64(0), 0) << "a refused DB must not be touched";
}

TEST(Migrations, AFailingMigrationLeavesTheVersionUnchanged) {
  test::temp_dir dir;
  auto db = database::open(dir.file("m.db"));
  ASSERT_TRUE(db);
  const migration broken[] = {{1, "0001_ok", "CREATE TABLE a(x);"}, {2, "0002_bad", "CREATE TABLE b(x); SYNTAX ERROR;"}};
  auto r = migrate(*db, broken);
  ASSERT_FALSE(r);
  EXPECT_EQ(schema_version(*db).value(), 1) << "the failed migration 2 must not count";
  auto b = db->prepare("SELECT count(*) FROM sqlite_schema WHERE name = 'b'");
  ASSERT_TRUE(b && b->step().value());
  EXPECT_EQ(b->get_int64(0), 0) << "half a migration must roll back";
}

TEST(Migrations, PlainSqlInsertGetsDefaultsForEveryColumn) {
  test::test_db t;
  t.exec("INSERT INTO jobs(model, prompt) VALUES ('cogvideox-3', 'a red sneaker rotating on a white table')");
  EXPECT_EQ(t.text("SELECT state FROM jobs"), "queued");
  EXPECT_EQ(t.text("SELECT batch || '/' || account || '/' || params FROM jobs"), "default/default/{}");
  EXPECT_GT(t.scalar("SELECT created_at FROM jobs"), 1'600'000'000'000);
  EXPECT_EQ(t.scalar("SELECT attempts + polls + cost + not_before FROM jobs"), 0);
}

TEST(Migrations, ChecksRejectBadStatesAndBadParams) {
  test::test_db t;
  EXPECT_FALSE(t.db.exec("INSERT INTO jobs(model, prompt, state) VALUES ('cogvideox-3', 'x', 'done')"));
  EXPECT_FALSE(t.db.exec("INSERT INTO jobs(model, prompt, params) VALUES ('cogvideox-3', 'x', '{not json')"));
  EXPECT_FALSE(t.db.exec("INSERT INTO jobs(prompt) VALUES ('no model')"));
}

TEST(Migrations, EveryStateChangeLeavesAnEventEvenFromRawSql) {
  test::test_db t;
  t.exec("INSERT INTO jobs(model, prompt) VALUES ('cogvideox-3', 'x')");
  t.exec("UPDATE jobs SET state = 'cancelled', error_code = 'cancelled', error_message = 'by hand'");
  t.exec("UPDATE jobs SET prompt = 'y'");  // not a state change: no event
  EXPECT_EQ(t.scalar("SELECT count(*) FROM job_events"), 1);
  EXPECT_EQ(t.text("SELECT from_state || '>' || to_state || ' ' || detail FROM job_events"),
            "queued>cancelled cancelled: by hand");
  EXPECT_FALSE(t.db.exec("UPDATE job_events SET detail = 'rewritten'")) << "history is append-only";
}

TEST(Migrations, OperatorViewsAnswer) {
  test::test_db t;
  t.exec("INSERT INTO jobs(model, prompt, batch, state, cost) VALUES ('cogvideox-3', 'x', 'b1', 'succeeded', 1000),"
         "('cogvideox-3', 'x', 'b1', 'queued', 0), ('vidu2-image', 'x', 'b2', 'processing', 0)");
  EXPECT_EQ(t.scalar("SELECT total FROM batch_progress WHERE batch = 'b1'"), 2);
  EXPECT_EQ(t.text("SELECT pct_done FROM batch_progress WHERE batch = 'b1'"), "50.0");
  EXPECT_EQ(t.scalar("SELECT in_flight FROM inflight_by_account WHERE model = 'vidu2-image'"), 1);
  EXPECT_EQ(t.scalar("SELECT count(*) FROM recent_failures"), 0);
  EXPECT_EQ(t.scalar("SELECT count(*) FROM stuck"), 0);
}

}  // namespace
}  // namespace vidq::store
