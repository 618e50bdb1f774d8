#include "vidq/core/job_state.hpp"

#include <gtest/gtest.h>

namespace vidq {
namespace {

TEST(JobState, RoundTripsThroughText) {
  for (job_state s : all_job_states) EXPECT_EQ(parse_job_state(to_string(s)), s);
  EXPECT_FALSE(parse_job_state("done").has_value());
  EXPECT_FALSE(parse_job_state("").has_value());
}

TEST(JobState, OnlySubmittingAndProcessingHoldASlot) {
  EXPECT_TRUE(holds_slot(job_state::submitting));
  EXPECT_TRUE(holds_slot(job_state::processing));
  EXPECT_FALSE(holds_slot(job_state::queued));
  EXPECT_FALSE(holds_slot(job_state::downloading));
}

TEST(JobState, TerminalStatesOnlyLeaveByOperatorRetry) {
  EXPECT_TRUE(is_legal_transition(job_state::failed, job_state::queued));
  EXPECT_TRUE(is_legal_transition(job_state::cancelled, job_state::queued));
  EXPECT_FALSE(is_legal_transition(job_state::succeeded, job_state::queued));
  EXPECT_FALSE(is_legal_transition(job_state::failed, job_state::cancelled));
  EXPECT_FALSE(is_legal_transition(job_state::succeeded, job_state::cancelled));
}

TEST(JobState, PipelineTransitions) {
  EXPECT_TRUE(is_legal_transition(job_state::queued, job_state::submitting));
  EXPECT_TRUE(is_legal_transition(job_state::submitting, job_state::processing));
  EXPECT_TRUE(is_legal_transition(job_state::submitting, job_state::queued));
  EXPECT_TRUE(is_legal_transition(job_state::processing, job_state::downloading));
  EXPECT_TRUE(is_legal_transition(job_state::downloading, job_state::succeeded));
  EXPECT_TRUE(is_legal_transition(job_state::downloading, job_state::processing));
  EXPECT_FALSE(is_legal_transition(job_state::queued, job_state::processing));
  EXPECT_FALSE(is_legal_transition(job_state::queued, job_state::succeeded));
  EXPECT_FALSE(is_legal_transition(job_state::processing, job_state::submitting));
  for (job_state s : all_job_states) EXPECT_FALSE(is_legal_transition(s, s));
}

}  // namespace
}  // namespace vidq
