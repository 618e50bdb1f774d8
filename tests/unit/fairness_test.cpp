#include "vidq/engine/fairness.hpp"

#include <gtest/gtest.h>

#include <map>

namespace vidq::engine {
namespace {

store::queue_group g(std::string batch, std::int64_t priority = 0) { return {"acct", "cogvideox-3", priority, std::move(batch)}; }

std::map<std::string, int> by_batch(const std::vector<claim_share>& plan) {
  std::map<std::string, int> out;
  for (const auto& s : plan) out[s.group.batch] += s.count;
  return out;
}

TEST(Fairness, NothingToDo) {
  fair_share f;
  EXPECT_TRUE(f.plan({}, 5).empty());
  const std::vector<store::queue_group> groups{g("a")};
  EXPECT_TRUE(f.plan(groups, 0).empty());
}

TEST(Fairness, HighestPriorityTakesEverySlot) {
  fair_share f;
  const std::vector<store::queue_group> groups{g("bulk", 0), g("urgent", 5), g("other", 0)};
  const auto plan = f.plan(groups, 4);
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_EQ(plan[0].group.batch, "urgent");
  EXPECT_EQ(plan[0].count, 4);
}

TEST(Fairness, EqualPriorityBatchesShareSlots) {
  fair_share f;
  const std::vector<store::queue_group> groups{g("huge"), g("tiny"), g("mid")};
  EXPECT_EQ(by_batch(f.plan(groups, 6)), (std::map<std::string, int>{{"huge", 2}, {"mid", 2}, {"tiny", 2}}));
  const auto plan = f.plan(groups, 3);
  EXPECT_EQ(plan.size(), 3u);
  for (const auto& s : plan) EXPECT_EQ(s.count, 1);
}

TEST(Fairness, OneSlotAtATimeRotatesAcrossCalls) {
  // The common steady state: one task finishes, one slot frees. A 5,000-row batch must not
  // win every time against a 10-row one.
  fair_share f;
  const std::vector<store::queue_group> groups{g("big"), g("small")};
  std::map<std::string, int> served;
  for (int i = 0; i < 10; ++i) {
    const auto plan = f.plan(groups, 1);
    ASSERT_EQ(plan.size(), 1u);
    served[plan[0].group.batch] += plan[0].count;
  }
  EXPECT_EQ(served["big"], 5);
  EXPECT_EQ(served["small"], 5);
}

TEST(Fairness, TurnSurvivesBatchesComingAndGoing) {
  fair_share f;
  std::vector<store::queue_group> groups{g("a"), g("c")};
  EXPECT_EQ(f.plan(groups, 1)[0].group.batch, "a");
  groups = {g("a"), g("b"), g("c")};  // b appears
  EXPECT_EQ(f.plan(groups, 1)[0].group.batch, "b");
  groups = {g("a"), g("c")};  // b empties
  EXPECT_EQ(f.plan(groups, 1)[0].group.batch, "c");
  EXPECT_EQ(f.plan(groups, 1)[0].group.batch, "a");  // wraps around
}

TEST(Fairness, OddSlotsStartAfterTheLastServed) {
  fair_share f;
  const std::vector<store::queue_group> groups{g("a"), g("b"), g("c")};
  const auto first = f.plan(groups, 4);  // a, b, c, a
  EXPECT_EQ(by_batch(first), (std::map<std::string, int>{{"a", 2}, {"b", 1}, {"c", 1}}));
  const auto second = f.plan(groups, 2);  // b, c
  EXPECT_EQ(by_batch(second), (std::map<std::string, int>{{"b", 1}, {"c", 1}}));
  EXPECT_EQ(second[0].group.batch, "b");
}

TEST(Fairness, PrioritiesKeepSeparateTurns) {
  fair_share f;
  const std::vector<store::queue_group> high{g("x", 1), g("y", 1)};
  const std::vector<store::queue_group> low{g("p", 0), g("q", 0)};
  EXPECT_EQ(f.plan(high, 1)[0].group.batch, "x");
  EXPECT_EQ(f.plan(low, 1)[0].group.batch, "p");
  EXPECT_EQ(f.plan(high, 1)[0].group.batch, "y");
  EXPECT_EQ(f.plan(low, 1)[0].group.batch, "q");
}

}  // namespace
}  // namespace vidq::engine
