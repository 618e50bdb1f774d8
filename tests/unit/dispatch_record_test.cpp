#include "vidq/store/dispatch_store.hpp"
#include "vidq/store/housekeeping.hpp"

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

// Migration 0007: the interval a task's polls bracketed is kept by trigger, so the learned
// run times survive a restart (docs/DATA.md "duration_samples").
TEST_F(dispatch_record, ASuccessKeepsTheIntervalThePollsBracketed) {
  const auto job = claim_one();
  ASSERT_TRUE(dispatch.record_accepted(job, *job.request_id, "task-1", t.clock.now() + 1'000, 1000).value());
  t.clock.advance(40'000);
  ASSERT_TRUE(dispatch.record_polled(job.id, t.clock.now() + 5'000).value());  // saw it running at 40 s
  t.clock.advance(5'000);
  ASSERT_TRUE(dispatch.record_polled(job.id, t.clock.now() + 5'000, false).value());  // a network error: learned nothing
  EXPECT_EQ(row(job.id).seen_running_at, t.clock.now() - 5'000);
  t.clock.advance(7'000);
  ASSERT_TRUE(dispatch.record_remote_success(job.id, "https://cdn/v.mp4", "").value());
  auto samples = dispatch.recent_duration_samples(10).value();
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(samples[0].model, "cogvideox-3");
  EXPECT_EQ(samples[0].at_least, 40'000);
  EXPECT_EQ(samples[0].at_most, 52'000);
  // A re-poll for fresh URLs (downloading → processing → downloading) teaches nothing new.
  ASSERT_TRUE(dispatch.record_urls_expired(job.id).value());
  ASSERT_TRUE(dispatch.record_remote_success(job.id, "https://cdn/v2.mp4", "").value());
  EXPECT_EQ(dispatch.recent_duration_samples(10).value().size(), 1u);
}

TEST_F(dispatch_record, AGiveUpIsRightCensoredAndAProviderFailIsNoSample) {
  const auto given_up = claim_one();
  ASSERT_TRUE(dispatch.record_accepted(given_up, *given_up.request_id, "task-1", t.clock.now() + 1'000, 0).value());
  t.clock.advance(900'000);
  ASSERT_TRUE(dispatch.record_polled(given_up.id, t.clock.now()).value());
  ASSERT_TRUE(dispatch.record_failed(given_up.id, job_state::processing, "poll_deadline", "too long").value());
  const auto failed = claim_one();
  ASSERT_TRUE(dispatch.record_accepted(failed, *failed.request_id, "task-2", t.clock.now() + 1'000, 0).value());
  t.clock.advance(30'000);
  ASSERT_TRUE(dispatch.record_polled(failed.id, t.clock.now()).value());
  ASSERT_TRUE(dispatch.record_failed(failed.id, job_state::processing, "1301", "unsafe").value());
  auto samples = dispatch.recent_duration_samples(10).value();
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(samples[0].at_least, 900'000);
  EXPECT_FALSE(samples[0].at_most) << "still running when given up: it took at least that long";
}

TEST_F(dispatch_record, TrimKeepsTheNewestSamples) {
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(t.db.exec("INSERT INTO duration_samples(job_id, model, params, at_least_ms, at_most_ms, at) "
                          "VALUES (" + std::to_string(i) + ", 'cogvideox-3', '{}', " + std::to_string(i) + ", " +
                          std::to_string(i + 1) + ", 0)"));
  }
  EXPECT_EQ(trim_duration_samples(t.db, 10, 15).value(), 15) << "at most max_rows per call";
  EXPECT_EQ(trim_duration_samples(t.db, 10, 15).value(), 5);
  EXPECT_EQ(trim_duration_samples(t.db, 10, 15).value(), 0);
  const auto left = dispatch.recent_duration_samples(100).value();
  ASSERT_EQ(left.size(), 10u);
  EXPECT_EQ(left.front().at_least, 29) << "newest first";
  EXPECT_EQ(left.back().at_least, 20);
}

}  // namespace
}  // namespace vidq::store
