#include "vidq/core/retry_decision.hpp"

#include <gtest/gtest.h>

namespace vidq {
namespace {

TEST(RetryDecision, PlainRetryNeverPaysAgainForASucceededTask) {
  EXPECT_EQ(decide_retry(job_state::failed, true, true, retry_mode::plain), retry_decision::needs_resubmit);
  EXPECT_EQ(decide_retry(job_state::cancelled, true, true, retry_mode::plain), retry_decision::needs_resubmit);
  // FAIL at the provider, an ambiguous submit, a rejected one: nothing paid was produced.
  EXPECT_EQ(decide_retry(job_state::failed, true, false, retry_mode::plain), retry_decision::requeue);
  EXPECT_EQ(decide_retry(job_state::failed, false, false, retry_mode::plain), retry_decision::requeue);
}

TEST(RetryDecision, ResubmitRequeuesWhateverTheTaskDid) {
  EXPECT_EQ(decide_retry(job_state::failed, true, true, retry_mode::resubmit), retry_decision::requeue);
  EXPECT_EQ(decide_retry(job_state::cancelled, false, false, retry_mode::resubmit), retry_decision::requeue);
}

TEST(RetryDecision, DownloadOnlyRefetchesASucceededStoredTask) {
  EXPECT_EQ(decide_retry(job_state::failed, true, true, retry_mode::download), retry_decision::refetch);
  EXPECT_EQ(decide_retry(job_state::failed, true, false, retry_mode::download), retry_decision::nothing_to_fetch);
  EXPECT_EQ(decide_retry(job_state::failed, false, false, retry_mode::download), retry_decision::nothing_to_fetch);
  // A result URL without a task id (an operator's UPDATE) cannot be polled.
  EXPECT_EQ(decide_retry(job_state::failed, false, true, retry_mode::download), retry_decision::nothing_to_fetch);
}

TEST(RetryDecision, OnlyFailedOrCancelledJobsAreRetried) {
  for (const auto mode : {retry_mode::plain, retry_mode::resubmit, retry_mode::download}) {
    for (const auto s : {job_state::queued, job_state::submitting, job_state::processing, job_state::downloading,
                         job_state::succeeded}) {
      EXPECT_EQ(decide_retry(s, true, true, mode), retry_decision::not_retryable) << to_string(s);
    }
  }
}

}  // namespace
}  // namespace vidq
