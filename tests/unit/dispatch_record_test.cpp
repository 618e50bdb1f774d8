#include "vidq/store/dispatch_store.hpp"

#include "support/test_db.hpp"

#include <gtest/gtest.h>

namespace vidq::store {
namespace {

struct dispatch_record : ::testing::Test {
  test::test_db t;
  job_store jobs{t.db, t.clock};
  dispatch_store dispatch{t.db, t.clock};

  job_row claim_one() {
    EXPECT_TRUE(jobs.insert(test::make_job()));
    auto claimed = dispatch.claim({"default", "cogvideox-3", 0, "default"}, 1).value();
    EXPECT_EQ(claimed.size(), 1u);
    return claimed.front();
  }
  job_row row(std::int64_t id) { return *jobs.get(id).value(); }
  std::string last_event(std::int64_t id) {
    const auto events = jobs.events(id).value();
    const auto& e = events.back();
    return e.from_state.value_or("") + ">" + e.to_state + " " + e.detail.value_or("");
  }
};

TEST_F(dispatch_record, HappyPathWritesEveryStepAndItsEvent) {
  const auto job = claim_one();
  t.clock.advance(1000);
  ASSERT_TRUE(dispatch.record_accepted(job, *job.request_id, "task-77", t.clock.now() + 60'000, 1000).value());
  auto r = row(job.id);
  EXPECT_EQ(r.state, job_state::processing);
  EXPECT_EQ(r.task_id, "task-77");
  EXPECT_EQ(r.submitted_at, t.clock.now());
  EXPECT_EQ(r.cost, 1000) << "charged at creation, so budgets see running tasks";
  EXPECT_EQ(last_event(job.id), "submitting>processing task task-77");

  ASSERT_TRUE(dispatch.record_polled(job.id, t.clock.now() + 90'000).value());
  EXPECT_EQ(row(job.id).polls, 1);
  EXPECT_EQ(row(job.id).next_poll_at, t.clock.now() + 90'000);

  ASSERT_TRUE(dispatch.record_remote_success(job.id, "https://cdn/v.mp4", "").value());
  r = row(job.id);
  EXPECT_EQ(r.state, job_state::downloading);
  EXPECT_EQ(r.polls, 2);
  EXPECT_FALSE(r.cover_url) << "an empty cover URL is stored as NULL";
  EXPECT_FALSE(r.next_poll_at);

  ASSERT_TRUE(dispatch.record_succeeded(job.id, {"/out/b/1.mp4", 1234, "ab12", "", 1000}).value());
  r = row(job.id);
  EXPECT_EQ(r.state, job_state::succeeded);
  EXPECT_EQ(r.video_bytes, 1234);
  EXPECT_EQ(r.cost, 1000);
  EXPECT_FALSE(r.cover_path);
  EXPECT_EQ(r.finished_at, t.clock.now());
  EXPECT_EQ(last_event(job.id), "downloading>succeeded /out/b/1.mp4 (1234 bytes)");
}

TEST_F(dispatch_record, RequeueKeepsOrRefundsTheAttempt) {
  const auto job = claim_one();
  ASSERT_TRUE(
      dispatch.record_requeued(job.id, *job.request_id, t.clock.now() + 5000, "1302", "account full", true).value());
  auto r = row(job.id);
  EXPECT_EQ(r.state, job_state::queued);
  EXPECT_EQ(r.attempts, 0) << "a 1302 says nothing about the job";
  EXPECT_EQ(r.not_before, t.clock.now() + 5000);
  EXPECT_EQ(last_event(job.id), "submitting>queued 1302: account full");

  t.clock.advance(5000);
  const auto again = dispatch.claim({"default", "cogvideox-3", 0, "default"}, 1).value().front();
  EXPECT_NE(again.request_id, job.request_id) << "every attempt gets a fresh request_id";
  ASSERT_TRUE(dispatch.record_requeued(again.id, *again.request_id, 0, "500", "server error", false).value());
  EXPECT_EQ(row(job.id).attempts, 1);
}

TEST_F(dispatch_record, AStaleAttemptCannotOverwriteANewerOne) {
  const auto job = claim_one();
  EXPECT_FALSE(dispatch.record_accepted(job, "some-older-request", "task-1", 0, 0).value());
  EXPECT_EQ(row(job.id).state, job_state::submitting);
}

TEST_F(dispatch_record, AnOperatorsCancelWins) {
  const auto job = claim_one();
  ASSERT_EQ(jobs.cancel({.ids = {job.id}}).value(), 1);
  EXPECT_FALSE(dispatch.record_accepted(job, *job.request_id, "task-1", 0, 0).value());
  EXPECT_FALSE(dispatch.record_failed(job.id, job_state::submitting, "submit_ambiguous", "no answer").value());
  EXPECT_EQ(row(job.id).state, job_state::cancelled);
}

TEST_F(dispatch_record, FailureAndExpiredUrls) {
  const auto job = claim_one();
  ASSERT_TRUE(dispatch.record_accepted(job, *job.request_id, "task-9", 0, 0).value());
  ASSERT_TRUE(dispatch.record_remote_success(job.id, "https://cdn/v.mp4", "https://cdn/c.png").value());
  ASSERT_TRUE(dispatch.record_urls_expired(job.id).value());
  auto r = row(job.id);
  EXPECT_EQ(r.state, job_state::processing);
  EXPECT_EQ(r.next_poll_at, t.clock.now());
  EXPECT_EQ(dispatch.due_polls(10).value().size(), 1u) << "polled again at once for fresh URLs";
  ASSERT_TRUE(dispatch.record_failed(job.id, job_state::processing, "poll_deadline", "still PROCESSING").value());
  r = row(job.id);
  EXPECT_EQ(r.state, job_state::failed);
  EXPECT_EQ(r.finished_at, t.clock.now());
  EXPECT_FALSE(r.next_poll_at);
  EXPECT_EQ(last_event(job.id), "processing>failed poll_deadline: still PROCESSING");
  EXPECT_FALSE(dispatch.record_failed(job.id, job_state::processing, "x", "y").value()) << "already failed";
}

}  // namespace
}  // namespace vidq::store
