#include "vidq/store/job_store.hpp"

#include "support/test_db.hpp"

#include <gtest/gtest.h>

namespace vidq::store {
namespace {

TEST(JobStore, InsertsAndReadsBack) {
  test::test_db t;
  job_store jobs(t.db, t.clock);
  auto job = test::make_job("vidu2-start-end", "spring", "sku-1");
  job.spec.images = {"https://e.com/a.png", "https://e.com/b.png"};
  job.spec.params = {{"movement_amplitude", "small"}};
  job.priority = 7;
  std::int64_t id = 0;
  ASSERT_EQ(jobs.insert(job, &id).value(), insert_outcome::inserted);
  auto row = jobs.get(id).value();
  ASSERT_TRUE(row);
  EXPECT_EQ(row->key, "sku-1");
  EXPECT_EQ(row->batch, "spring");
  EXPECT_EQ(row->priority, 7);
  EXPECT_EQ(row->image_url, R"(["https://e.com/a.png","https://e.com/b.png"])");
  EXPECT_EQ(row->params, R"({"movement_amplitude":"small"})");
  EXPECT_EQ(row->state, job_state::queued);
  EXPECT_EQ(row->created_at, t.clock.now());
  EXPECT_FALSE(jobs.get(id + 1).value());
}

TEST(JobStore, DuplicateKeyIsANoOp) {
  test::test_db t;
  job_store jobs(t.db, t.clock);
  ASSERT_EQ(jobs.insert(test::make_job("cogvideox-3", "b", "k")).value(), insert_outcome::inserted);
  ASSERT_EQ(jobs.insert(test::make_job("cogvideox-2", "b", "k")).value(), insert_outcome::duplicate_key);
  ASSERT_EQ(jobs.insert(test::make_job()).value(), insert_outcome::inserted);  // NULL keys never collide
  ASSERT_EQ(jobs.insert(test::make_job()).value(), insert_outcome::inserted);
  EXPECT_EQ(t.scalar("SELECT count(*) FROM jobs"), 3);
  EXPECT_EQ(t.text("SELECT model FROM jobs WHERE key = 'k'"), "cogvideox-3");
}

TEST(JobStore, ListFiltersAndSummaries) {
  test::test_db t;
  job_store jobs(t.db, t.clock);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(jobs.insert(test::make_job("cogvideox-3", "a")));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(jobs.insert(test::make_job("vidu2-image", "b")));
  t.exec("UPDATE jobs SET state = 'succeeded', cost = 1250 WHERE batch = 'b'");
  // Spend per batch is the ledger's (migrations/0005): one charge per accepted task.
  t.exec("INSERT INTO charges(job_id, attempt, request_id, task_id, account, model, batch, price, origin) "
         "SELECT id, 1, 'rq-' || id, 'task-' || id, account, model, batch, cost, 'accepted' FROM jobs WHERE cost > 0");
  EXPECT_EQ(jobs.list({}).value().size(), 8u);
  EXPECT_EQ(jobs.list({.batch = "a"}).value().size(), 5u);
  EXPECT_EQ(jobs.list({.state = job_state::succeeded}).value().size(), 3u);
  EXPECT_EQ(jobs.list({.model = "vidu2-image", .limit = 2}).value().size(), 2u);
  EXPECT_EQ(jobs.list({}).value().front().id, 8) << "newest first";
  auto summaries = jobs.batch_summaries().value();
  ASSERT_EQ(summaries.size(), 2u);
  EXPECT_EQ(summaries[0].batch, "a");
  EXPECT_EQ(summaries[0].count(job_state::queued), 5);
  EXPECT_EQ(summaries[1].count(job_state::succeeded), 3);
  EXPECT_EQ(summaries[1].cost, 3750);
}

TEST(JobStore, CancelOnlyTouchesNonTerminalJobsAndRecordsEvents) {
  test::test_db t;
  job_store jobs(t.db, t.clock);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(jobs.insert(test::make_job("cogvideox-3", "x")));
  t.exec("UPDATE jobs SET state = 'succeeded' WHERE id = 1");
  t.exec("UPDATE jobs SET state = 'processing', task_id = 't2' WHERE id = 2");
  t.clock.advance(1000);
  EXPECT_EQ(jobs.cancel({.batch = "x"}).value(), 3);
  EXPECT_EQ(t.text("SELECT state FROM jobs WHERE id = 1"), "succeeded");
  auto events = jobs.events(2).value();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].from_state, "processing");
  EXPECT_EQ(events[1].to_state, "cancelled");
  EXPECT_EQ(events[1].at, t.clock.now());
  EXPECT_EQ(events[1].detail, "cancelled: cancelled by operator");
}

TEST(JobStore, RetryRequeuesFailedAndCancelledWithAFreshBudget) {
  test::test_db t;
  job_store jobs(t.db, t.clock);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(jobs.insert(test::make_job()));
  t.exec("UPDATE jobs SET state = 'failed', attempts = 5, request_id = 'r1', task_id = 't1', "
         "error_code = 'submit_ambiguous', error_message = 'no answer' WHERE id = 1");
  t.exec("UPDATE jobs SET state = 'cancelled' WHERE id = 2");
  EXPECT_EQ(jobs.retry({.ids = {1, 2, 3}}).value(), 2);
  auto row = jobs.get(1).value();
  EXPECT_EQ(row->state, job_state::queued);
  EXPECT_EQ(row->attempts, 0);
  EXPECT_FALSE(row->request_id);
  EXPECT_FALSE(row->task_id);
  EXPECT_FALSE(row->error_code);
  EXPECT_EQ(jobs.events(1).value().back().detail, "requeued by operator");
}

}  // namespace
}  // namespace vidq::store
