#include "vidq/store/sqlite.hpp"

#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

namespace vidq::store {
namespace {

std::int64_t count(database& db) {
  auto s = db.prepare("SELECT count(*) FROM t");
  EXPECT_TRUE(s);
  EXPECT_TRUE(s->step().value());
  return s->get_int64(0);
}

TEST(Sqlite, OpensInWalWithFullSync) {
  test::temp_dir dir;
  auto db = database::open(dir.file("a.db"));
  ASSERT_TRUE(db);
  auto mode = db->prepare("PRAGMA journal_mode");
  ASSERT_TRUE(mode && mode->step().value());
  EXPECT_EQ(mode->get_text(0), "wal");
  auto sync = db->prepare("PRAGMA synchronous");
  ASSERT_TRUE(sync && sync->step().value());
  EXPECT_EQ(sync->get_int64(0), 2);  // FULL
}

std::int64_t synchronous(database& db) {
  auto s = db.prepare("PRAGMA synchronous");
  EXPECT_TRUE(s && s->step().value());
  return s->get_int64(0);
}

TEST(Sqlite, RelaxedSyncSkipsTheFsyncOnlyInsideItsScope) {
  test::temp_dir dir;
  auto db = database::open(dir.file("a.db"));
  ASSERT_TRUE(db);
  EXPECT_EQ(synchronous(*db), 2);  // FULL
  {
    const relaxed_sync no_fsync(*db);
    EXPECT_EQ(synchronous(*db), 1);  // NORMAL
    EXPECT_EQ(db->sync(), sync_mode::normal);
  }
  EXPECT_EQ(synchronous(*db), 2) << "restored: the next durable commit syncs the relaxed ones with it";
  auto import = database::open(dir.file("b.db"), {.sync = sync_mode::normal});
  ASSERT_TRUE(import);
  { const relaxed_sync no_fsync(*import); }
  EXPECT_EQ(synchronous(*import), 1) << "a NORMAL connection stays NORMAL";
}

TEST(Sqlite, TransactionRollsBackUnlessCommitted) {
  test::temp_dir dir;
  auto db = database::open(dir.file("a.db"));
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->exec("CREATE TABLE t(x)"));
  {
    auto tx = transaction::begin(*db);
    ASSERT_TRUE(tx);
    ASSERT_TRUE(db->exec("INSERT INTO t VALUES (1)"));
  }
  EXPECT_EQ(count(*db), 0);
  {
    auto tx = transaction::begin(*db);
    ASSERT_TRUE(tx);
    ASSERT_TRUE(db->exec("INSERT INTO t VALUES (1)"));
    ASSERT_TRUE(tx->commit());
  }
  EXPECT_EQ(count(*db), 1);
}

TEST(Sqlite, CachedStatementsAreResetAndSurviveAMove) {
  test::temp_dir dir;
  auto opened = database::open(dir.file("a.db"));
  ASSERT_TRUE(opened);
  database db = std::move(*opened);
  ASSERT_TRUE(db.exec("CREATE TABLE t(x)"));
  for (int i = 0; i < 3; ++i) {
    auto s = db.cached("INSERT INTO t VALUES (?1)");
    ASSERT_TRUE(s);
    (*s)->bind(1, i);
    ASSERT_TRUE((*s)->run());
  }
  database moved = std::move(db);
  auto s = moved.cached("INSERT INTO t VALUES (?1)");
  ASSERT_TRUE(s);
  (*s)->bind(1, 9);
  ASSERT_TRUE((*s)->run());
  EXPECT_EQ(count(moved), 4);
}

TEST(Sqlite, ErrorsCarrySqlitesMessage) {
  test::temp_dir dir;
  auto db = database::open(dir.file("a.db"));
  ASSERT_TRUE(db);
  auto r = db->exec("SELECT * FROM nowhere");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(errc::database_error));
  EXPECT_NE(db->last_error().find("no such table"), std::string::npos);
}

TEST(Sqlite, BusyWhenAnotherConnectionHoldsTheWriteLock) {
  test::temp_dir dir;
  auto a = database::open(dir.file("a.db"), {.busy_timeout_ms = 50});
  auto b = database::open(dir.file("a.db"), {.busy_timeout_ms = 50});
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->exec("CREATE TABLE t(x)"));
  auto tx = transaction::begin(*a);
  ASSERT_TRUE(tx);
  auto other = transaction::begin(*b);
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error(), make_error_code(errc::database_busy));
}

}  // namespace
}  // namespace vidq::store
