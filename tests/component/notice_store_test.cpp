// The outbox in SQLite: triggers write notices with the state change, for every writer (a
// raw UPDATE like an operator's sqlite3 included), a rolled-back change leaves none, and
// the store fans out, schedules, records and prunes deliveries.
#include "vidq/store/notice_store.hpp"

#include "support/test_db.hpp"
#include "vidq/store/account_store.hpp"

#include <boost/json/parse.hpp>

#include <gtest/gtest.h>

namespace vidq::store {
namespace {

struct NoticeStore : ::testing::Test {
  test::test_db t;
  notice_store notices{t.db, t.clock};

  void add_jobs(const std::string& batch, int n) {
    for (int i = 0; i < n; ++i) {
      t.exec("INSERT INTO jobs(model, prompt, batch) VALUES ('cogvideox-3', 'p', '" + batch + "')");
    }
  }
  std::int64_t count(const std::string& where) { return t.scalar("SELECT count(*) FROM notices WHERE " + where); }
};

TEST_F(NoticeStore, RawSqlStateChangesWriteJobAndBatchNotices) {
  add_jobs("b", 3);
  add_jobs("other", 1);
  t.exec("UPDATE jobs SET state = 'submitting' WHERE id = 1");
  t.exec("UPDATE jobs SET state = 'succeeded', cost = 1250, video_path = '/v/1.mp4' WHERE id = 1");
  t.exec("UPDATE jobs SET state = 'failed', error_code = '1301', error_message = 'unsafe' WHERE id = 2");
  EXPECT_EQ(count("event = 'job_succeeded' AND job_id = 1"), 1);
  EXPECT_EQ(count("event = 'job_failed' AND job_id = 2"), 1);
  EXPECT_EQ(count("event = 'batch_finished'"), 0);  // job 3 is still queued

  t.exec("UPDATE jobs SET state = 'cancelled' WHERE id = 3");  // an operator's cancel finishes it
  ASSERT_EQ(count("event = 'batch_finished'"), 1);
  const auto payload = boost::json::parse(t.text("SELECT payload FROM notices WHERE event = 'batch_finished'"));
  EXPECT_EQ(payload.at("batch").as_string(), "b");
  EXPECT_EQ(payload.at("total").as_int64(), 3);
  EXPECT_EQ(payload.at("counts").at("succeeded").as_int64(), 1);
  EXPECT_EQ(payload.at("counts").at("failed").as_int64(), 1);
  EXPECT_EQ(payload.at("counts").at("cancelled").as_int64(), 1);
  const auto job = boost::json::parse(t.text("SELECT payload FROM notices WHERE event = 'job_succeeded'"));
  EXPECT_EQ(job.at("video_path").as_string(), "/v/1.mp4");
  EXPECT_DOUBLE_EQ(job.at("cost_cny").as_double(), 1.25);
  EXPECT_EQ(count("batch = 'other'"), 0);
}

TEST_F(NoticeStore, ARolledBackChangeLeavesNoNotice) {
  add_jobs("b", 1);
  t.exec("BEGIN IMMEDIATE; UPDATE jobs SET state = 'failed' WHERE id = 1; ROLLBACK;");
  EXPECT_EQ(t.scalar("SELECT count(*) FROM notices"), 0);
  {
    auto tx = transaction::begin(t.db);
    ASSERT_TRUE(tx);
    t.exec("UPDATE jobs SET state = 'cancelled' WHERE id = 1");
    EXPECT_EQ(t.scalar("SELECT count(*) FROM notices"), 1);  // batch_finished, seen inside the transaction
  }                                                          // destroyed uncommitted: rolled back
  EXPECT_EQ(t.scalar("SELECT count(*) FROM notices"), 0);
  EXPECT_EQ(t.text("SELECT state FROM jobs WHERE id = 1"), "queued");
}

TEST_F(NoticeStore, OneBatchNoticeForAMultiRowCancel) {
  add_jobs("b", 50);
  t.exec("UPDATE jobs SET state = 'processing' WHERE id <= 10");
  t.exec("UPDATE jobs SET state = 'cancelled' WHERE batch = 'b'");
  EXPECT_EQ(count("event = 'batch_finished'"), 1);
  EXPECT_EQ(count("event = 'job_failed' OR event = 'job_succeeded'"), 0);
}

TEST_F(NoticeStore, ARetriedBatchFinishesAgainAndDeletingTheLastOpenJobFinishesIt) {
  add_jobs("b", 2);
  t.exec("UPDATE jobs SET state = 'failed' WHERE batch = 'b'");
  EXPECT_EQ(count("event = 'batch_finished'"), 1);
  t.exec("UPDATE jobs SET state = 'queued' WHERE id = 2");  // vidq retry
  EXPECT_EQ(count("event = 'batch_finished'"), 1);
  t.exec("DELETE FROM jobs WHERE id = 2");
  EXPECT_EQ(count("event = 'batch_finished'"), 2);
  t.exec("DELETE FROM jobs WHERE id = 1");  // a finished job: nothing left to finish
  EXPECT_EQ(count("event = 'batch_finished'"), 2);
}

TEST_F(NoticeStore, PausesNotifyWhenTheyBeginOrChangeHands) {
  account_store accounts(t.db, t.clock);
  ASSERT_TRUE(accounts.pause("main", "1113: arrears", std::nullopt, paused_by::provider));
  ASSERT_TRUE(accounts.pause("main", "1113: arrears again", std::nullopt, paused_by::provider));  // repeat: quiet
  EXPECT_EQ(count("event = 'account_paused'"), 1);
  ASSERT_TRUE(accounts.pause("main", "by hand", std::nullopt, paused_by::operator_));
  EXPECT_EQ(count("event = 'account_paused'"), 2);
  t.exec("INSERT INTO account_pauses(account, reason, paused_by) VALUES ('other', 'sqlite3', 'operator')");
  EXPECT_EQ(count("event = 'account_paused' AND account = 'other'"), 1);
}

TEST_F(NoticeStore, FanOutScheduleRecordAndList) {
  add_jobs("b", 1);
  t.exec("UPDATE jobs SET state = 'failed' WHERE id = 1");  // job_failed + batch_finished
  auto pending = notices.to_fan_out(10);
  ASSERT_TRUE(pending);
  ASSERT_EQ(pending->size(), 2u);
  t.clock.set(1'000'000);
  ASSERT_TRUE(notices.fan_out((*pending)[0].id, (*pending)[0].payload, {"hook", "cmd"}).value());
  EXPECT_FALSE(notices.fan_out((*pending)[0].id, "{}", {"hook"}).value());   // once only
  ASSERT_TRUE(notices.fan_out((*pending)[1].id, R"({"x":1})", {}).value());  // no target wants it
  EXPECT_EQ(notices.to_fan_out(10)->size(), 0u);
  EXPECT_EQ(t.text("SELECT payload FROM notices WHERE id = " + std::to_string((*pending)[1].id)), R"({"x":1})");

  auto due = notices.due(1'000'000, 10);
  ASSERT_TRUE(due);
  ASSERT_EQ(due->size(), 2u);
  EXPECT_EQ((*due)[0].notice.id, (*pending)[0].id);
  ASSERT_TRUE(notices.record_failed((*pending)[0].id, "hook", "HTTP 500", 1'005'000));
  ASSERT_TRUE(notices.record_delivered((*pending)[0].id, "cmd"));
  EXPECT_EQ(notices.due(1'000'000, 10)->size(), 0u);
  EXPECT_EQ(notices.next_due().value(), std::optional<millis>(1'005'000));
  ASSERT_EQ(notices.due(1'005'000, 10)->size(), 1u);
  EXPECT_EQ(notices.due(1'005'000, 10)->front().attempts, 1);

  auto counts = notice_counts(t.db);
  ASSERT_TRUE(counts);
  EXPECT_EQ(counts->pending, 1);
  EXPECT_EQ(counts->failed, 0);
  ASSERT_TRUE(notices.record_failed((*pending)[0].id, "hook", "HTTP 500", std::nullopt));  // given up
  EXPECT_EQ(notice_counts(t.db)->failed, 1);
  EXPECT_FALSE(notices.next_due().value().has_value());

  auto failed = notices.list(delivery_status::failed, 10);
  ASSERT_TRUE(failed);
  ASSERT_EQ(failed->size(), 1u);
  EXPECT_EQ(failed->front().target, "hook");
  EXPECT_EQ(failed->front().attempts, 2);
  EXPECT_EQ(failed->front().last_error, std::optional<std::string>("HTTP 500"));
  EXPECT_EQ(notices.list(delivery_status::delivered, 10)->size(), 1u);
  EXPECT_EQ(notices.list(std::nullopt, 10)->size(), 2u);
  EXPECT_EQ(t.scalar("SELECT count(*) FROM notice_status"), 2);
}

TEST_F(NoticeStore, PruneKeepsPendingAndRecentNotices) {
  add_jobs("b", 3);
  t.exec("UPDATE jobs SET state = 'failed' WHERE id = 1");
  t.exec("UPDATE jobs SET state = 'failed' WHERE id = 2");
  auto rows = notices.to_fan_out(10).value();
  ASSERT_EQ(rows.size(), 2u);
  ASSERT_TRUE(notices.fan_out(rows[0].id, rows[0].payload, {"hook"}));
  ASSERT_TRUE(notices.fan_out(rows[1].id, rows[1].payload, {"hook"}));
  ASSERT_TRUE(notices.record_delivered(rows[0].id, "hook"));  // rows[1] stays pending
  t.exec("UPDATE jobs SET state = 'failed' WHERE id = 3");    // not fanned out
  t.exec("UPDATE notices SET at = 0");
  EXPECT_EQ(notices.prune(1, 100).value(), 1);
  EXPECT_EQ(t.scalar("SELECT count(*) FROM notices"), 3);  // pending, unfanned and the batch notice stay
  EXPECT_EQ(t.scalar("SELECT count(*) FROM notice_deliveries"), 1);
  EXPECT_EQ(notices.prune(0, 100).value(), 0);  // nothing older than the cutoff
}

// A batch's spend in batch_finished comes from the ledger (charge_store::spent_by_batch,
// tests/component/charge_ledger_test.cpp).
TEST_F(NoticeStore, BudgetBlockIsRecorded) {
  ASSERT_TRUE(notices.record_budget_blocked("daily budget 10.000 reached"));
  EXPECT_EQ(count("event = 'budget_blocked'"), 1);
}

}  // namespace
}  // namespace vidq::store
