#include "vidq/store/dispatch_store.hpp"

#include "support/test_db.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <set>

namespace vidq::store {
namespace {

TEST(DispatchStore, GroupsAreDistinctAccountModelPriorityBatch) {
  test::test_db t;
  job_store jobs(t.db, t.clock);
  dispatch_store dispatch(t.db, t.clock);
  auto add = [&](std::string model, std::string batch, std::int64_t priority) {
    auto job = test::make_job(std::move(model), std::move(batch));
    job.priority = priority;
    ASSERT_TRUE(jobs.insert(job));
  };
  for (int i = 0; i < 3; ++i) add("cogvideox-3", "big", 0);
  add("cogvideox-3", "small", 0);
  add("cogvideox-3", "small", 5);
  add("vidu2-image", "big", 0);
  t.exec("UPDATE jobs SET state = 'succeeded' WHERE model = 'vidu2-image'");
  const auto groups = dispatch.queued_groups().value();
  const std::vector<queue_group> expected = {{"default", "cogvideox-3", 0, "big"},
                                             {"default", "cogvideox-3", 0, "small"},
                                             {"default", "cogvideox-3", 5, "small"}};
  EXPECT_EQ(groups, expected);
}

TEST(DispatchStore, ClaimTakesTheOldestRunnableRowsAndStampsThem) {
  test::test_db t;
  job_store jobs(t.db, t.clock);
  dispatch_store dispatch(t.db, t.clock);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(jobs.insert(test::make_job()));
  t.exec("UPDATE jobs SET not_before = " + std::to_string(t.clock.now() + 60'000) + " WHERE id = 1");
  t.clock.advance(10);
  const queue_group group{"default", "cogvideox-3", 0, "default"};
  auto claimed = dispatch.claim(group, 2).value();
  ASSERT_EQ(claimed.size(), 2u);
  EXPECT_EQ(claimed[0].id, 2);
  EXPECT_EQ(claimed[1].id, 3);
  std::set<std::string> request_ids;
  for (const auto& row : claimed) {
    EXPECT_EQ(row.state, job_state::submitting);
    EXPECT_EQ(row.attempts, 1);
    EXPECT_EQ(row.updated_at, t.clock.now());
    ASSERT_TRUE(row.request_id);
    EXPECT_TRUE(row.request_id->starts_with("vq" + std::to_string(row.id) + "-1-")) << *row.request_id;
    request_ids.insert(*row.request_id);
  }
  EXPECT_EQ(request_ids.size(), 2u);
  EXPECT_EQ(t.scalar("SELECT count(*) FROM job_events WHERE to_state = 'submitting'"), 2)
      << "the claim writes its events in the same transaction";
  EXPECT_EQ(dispatch.claim(group, 10).value().size(), 2u) << "row 1 waits for its not_before";
  t.clock.advance(60'000);
  EXPECT_EQ(dispatch.claim(group, 10).value().size(), 1u);
  EXPECT_TRUE(dispatch.claim(group, 10).value().empty());
}

TEST(DispatchStore, InflightCountsSubmittingAndProcessingOnly) {
  test::test_db t;
  job_store jobs(t.db, t.clock);
  dispatch_store dispatch(t.db, t.clock);
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(jobs.insert(test::make_job()));
  t.exec("UPDATE jobs SET state = 'submitting' WHERE id = 1");
  t.exec("UPDATE jobs SET state = 'processing' WHERE id IN (2, 3)");
  t.exec("UPDATE jobs SET state = 'downloading' WHERE id = 4");
  auto counts = dispatch.inflight_counts().value();
  ASSERT_EQ(counts.size(), 1u);
  EXPECT_EQ(counts[0].count, 3);
}

TEST(DispatchStore, DuePollsInScheduleOrder) {
  test::test_db t;
  job_store jobs(t.db, t.clock);
  dispatch_store dispatch(t.db, t.clock);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(jobs.insert(test::make_job()));
  const auto now = t.clock.now();
  t.exec("UPDATE jobs SET state = 'processing', next_poll_at = " + std::to_string(now) + " - id * 1000");
  t.exec("UPDATE jobs SET next_poll_at = " + std::to_string(now + 5000) + " WHERE id = 1");
  auto due = dispatch.due_polls(10).value();
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0].id, 3);
  EXPECT_EQ(due[1].id, 2);
  EXPECT_EQ(dispatch.next_poll_time().value(), now - 3000);
}

TEST(DispatchStore, TransientRowsForRecovery) {
  test::test_db t;
  job_store jobs(t.db, t.clock);
  dispatch_store dispatch(t.db, t.clock);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(jobs.insert(test::make_job()));
  t.exec("UPDATE jobs SET state = 'submitting' WHERE id = 2");
  t.exec("UPDATE jobs SET state = 'downloading' WHERE id = 4");
  std::set<std::int64_t> ids;
  for (const auto& row : dispatch.transient_rows().value()) ids.insert(row.id);
  EXPECT_EQ(ids, (std::set<std::int64_t>{2, 4}));
}

// The daemon runs every query on one long-lived connection: a statement left stepped but
// unfinished would hold a read snapshot open, hiding other processes' rows and pinning the WAL.
TEST(DispatchStore, EveryReadLeavesNoStatementActive) {
  test::test_db t;
  job_store jobs(t.db, t.clock);
  dispatch_store dispatch(t.db, t.clock);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(jobs.insert(test::make_job()));
  t.exec("UPDATE jobs SET state = 'processing', next_poll_at = 5 WHERE id = 3");
  ASSERT_TRUE(dispatch.queued_groups());
  ASSERT_TRUE(dispatch.inflight_counts());
  ASSERT_TRUE(dispatch.due_polls(10));
  ASSERT_TRUE(dispatch.next_poll_time());
  ASSERT_TRUE(dispatch.transient_rows());
  ASSERT_TRUE(jobs.get(1));
  ASSERT_TRUE(jobs.list({}));
  for (sqlite3_stmt* s = sqlite3_next_stmt(t.db.handle(), nullptr); s; s = sqlite3_next_stmt(t.db.handle(), s)) {
    EXPECT_FALSE(sqlite3_stmt_busy(s)) << sqlite3_sql(s);
  }
}


TEST(DispatchStore, APoolClaimRecordsTheServingAccountAndARequeueGivesTheJobBack) {
  test::test_db t;
  job_store jobs(t.db, t.clock);
  dispatch_store dispatch(t.db, t.clock);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(jobs.insert(test::make_job()));  // account 'default'
  const queue_group pool{"default", "cogvideox-3", 0, "default"};
  auto claimed = dispatch.claim(pool, 3, "main").value();
  ASSERT_EQ(claimed.size(), 3u);
  for (const auto& row : claimed) {
    EXPECT_EQ(row.account, "main") << "slots, polls and recovery read the serving account";
    EXPECT_EQ(row.requested_account, "default");
  }
  EXPECT_EQ(dispatch.inflight_counts().value().front().account, "main");
  // Requeued by the daemon, failed and retried by an operator, or re-queued by raw SQL: the
  // job is a pool job again each time, not pinned to the account that served it once.
  ASSERT_TRUE(dispatch.record_requeued(claimed[0].id, *claimed[0].request_id, 0, "1302", "busy", true).value());
  t.exec("UPDATE jobs SET state = 'failed' WHERE id = " + std::to_string(claimed[1].id));
  t.exec("UPDATE jobs SET state = 'queued' WHERE id = " + std::to_string(claimed[1].id));
  EXPECT_EQ(t.scalar("SELECT count(*) FROM jobs WHERE account = 'default' AND requested_account IS NULL"), 2);
  EXPECT_EQ(t.scalar("SELECT count(*) FROM jobs WHERE account = 'main' AND requested_account = 'default'"), 1);
  // A pinned claim changes nothing.
  auto again = dispatch.claim(pool, 1).value();
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].account, "default");
  EXPECT_FALSE(again[0].requested_account);
}

}  // namespace
}  // namespace vidq::store
