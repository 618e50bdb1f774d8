#include "vidq/store/account_store.hpp"

#include "support/test_db.hpp"

#include <gtest/gtest.h>

namespace vidq::store {
namespace {

TEST(AccountStore, NoPausesOnAFreshDatabase) {
  test::test_db t;
  account_store accounts(t.db, t.clock);
  EXPECT_TRUE(accounts.pauses().value().empty());
  EXPECT_FALSE(accounts.resume("default").value());
}

TEST(AccountStore, PauseIsStoredWithItsTimeAndAuthor) {
  test::test_db t;
  account_store accounts(t.db, t.clock);
  ASSERT_TRUE(accounts.pause("shop", "arrears (1113)", std::nullopt, paused_by::provider));
  const auto rows = accounts.pauses().value();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].account, "shop");
  EXPECT_EQ(rows[0].reason, "arrears (1113)");
  EXPECT_FALSE(rows[0].until);
  EXPECT_EQ(rows[0].by, paused_by::provider);
  EXPECT_EQ(rows[0].at, t.clock.now());
  // Stored as the text the CHECK and operators' SQL expect.
  EXPECT_EQ(t.text("SELECT paused_by FROM account_pauses"), "provider");
}

TEST(AccountStore, PausingAgainReplacesTheRow) {
  test::test_db t;
  account_store accounts(t.db, t.clock);
  ASSERT_TRUE(accounts.pause("shop", "quota", t.clock.now() + 60'000, paused_by::provider));
  t.clock.advance(1'000);
  ASSERT_TRUE(accounts.pause("shop", "maintenance", std::nullopt, paused_by::operator_));
  const auto rows = accounts.pauses().value();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].reason, "maintenance");
  EXPECT_FALSE(rows[0].until);  // the new pause has no end: the old `until` must not linger
  EXPECT_EQ(rows[0].by, paused_by::operator_);
  EXPECT_EQ(rows[0].at, t.clock.now());
}

TEST(AccountStore, TimedPausesAreReturnedEvenWhenExpired) {
  test::test_db t;
  account_store accounts(t.db, t.clock);
  const millis until = t.clock.now() + 5'000;
  ASSERT_TRUE(accounts.pause("a", "quota", until, paused_by::provider));
  t.clock.advance(10'000);
  const auto rows = accounts.pauses().value();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].until, until);  // the caller decides with its clock
}

TEST(AccountStore, ResumeDeletesOnlyThatAccount) {
  test::test_db t;
  account_store accounts(t.db, t.clock);
  ASSERT_TRUE(accounts.pause("b", "x", std::nullopt, paused_by::operator_));
  ASSERT_TRUE(accounts.pause("a", "y", std::nullopt, paused_by::operator_));
  EXPECT_TRUE(accounts.resume("b").value());
  EXPECT_FALSE(accounts.resume("b").value());
  const auto rows = accounts.pauses().value();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].account, "a");
}

TEST(AccountStore, PausesAreSortedByAccount) {
  test::test_db t;
  account_store accounts(t.db, t.clock);
  for (const char* name : {"zeta", "alpha", "mid"}) ASSERT_TRUE(accounts.pause(name, "r", std::nullopt, paused_by::operator_));
  const auto rows = accounts.pauses().value();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].account, "alpha");
  EXPECT_EQ(rows[1].account, "mid");
  EXPECT_EQ(rows[2].account, "zeta");
}

TEST(AccountStore, ReasonsAndNamesAreBoundNotSpliced) {
  test::test_db t;
  account_store accounts(t.db, t.clock);
  const std::string hostile = "x'); DROP TABLE jobs; --";
  ASSERT_TRUE(accounts.pause(hostile, hostile, std::nullopt, paused_by::operator_));
  EXPECT_EQ(accounts.pauses().value().at(0).reason, hostile);
  EXPECT_EQ(t.scalar("SELECT count(*) FROM sqlite_schema WHERE name = 'jobs'"), 1);
  EXPECT_TRUE(accounts.resume(hostile).value());
}

TEST(AccountStore, AnotherConnectionSeesThePause) {
  // What `vidq account pause` relies on: the daemon's connection reads the operator's write.
  test::test_db t;
  auto other = database::open(t.dir.file("vidq.db"));
  ASSERT_TRUE(other);
  account_store writer(*other, t.clock);
  account_store reader(t.db, t.clock);
  ASSERT_TRUE(writer.pause("shop", "by hand", std::nullopt, paused_by::operator_));
  EXPECT_EQ(reader.pauses().value().size(), 1u);
  ASSERT_TRUE(writer.resume("shop").value());
  EXPECT_TRUE(reader.pauses().value().empty());
}

TEST(AccountStore, ToStringMatchesTheCheckConstraint) {
  EXPECT_EQ(to_string(paused_by::operator_), "operator");
  EXPECT_EQ(to_string(paused_by::provider), "provider");
}

}  // namespace
}  // namespace vidq::store
