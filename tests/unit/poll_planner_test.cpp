// The backlog poll rule (engine/poll_planner.hpp) against what it claims: the expected loss
// it integrates is the real one, and on the API.md §12 run times it detects finishes as soon
// as a fixed-interval loop does with far fewer polls.
#include "vidq/engine/poll_planner.hpp"

#include "support/seeded_rng.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <vector>

namespace vidq::engine {
namespace {

constexpr duration_dist cogvideox3{120'000, 240'000};  // API.md §12, the simulator's default

// E[(t − D)⁺ | D > a] by Monte Carlo over the same log-normal.
double sampled_unseen(const duration_dist& d, millis a, millis t, int n = 400'000) {
  test::seeded_rng r(7);
  double sum = 0;
  int kept = 0;
  for (int i = 0; i < n; ++i) {
    const millis run = r.lognormal(d);
    if (run <= a) continue;
    ++kept;
    sum += static_cast<double>(std::max<millis>(0, t - run));
  }
  return sum / kept;
}

TEST(PollPlanner, ExpectedUnseenTimeIsTheIntegralItClaims) {
  for (const auto& [a, t] : {std::pair<millis, millis>{0, 60'000}, {60'000, 65'000}, {120'000, 130'000},
                             {200'000, 260'000}}) {
    const double exact = expected_unseen_ms(cogvideox3, a, t);
    const double sampled = sampled_unseen(cogvideox3, a, t);
    EXPECT_NEAR(exact, sampled, 0.03 * sampled + 1.0) << "a=" << a << " t=" << t;
  }
  EXPECT_EQ(expected_unseen_ms(cogvideox3, 50'000, 50'000), 0.0);
  EXPECT_EQ(expected_unseen_ms(cogvideox3, 50'000, 10'000), 0.0);
  // Increasing in t (the bisection relies on it).
  double last = 0;
  for (millis t = 100'000; t < 400'000; t += 997) {
    const double v = expected_unseen_ms(cogvideox3, 100'000, t);
    EXPECT_GE(v, last);
    last = v;
  }
}

TEST(PollPlanner, TheNextLookIsWhereTheExpectedLossReachesAPollsWorth) {
  backlog_poll_settings s;
  s.poll_worth_ms = 35;
  s.min_gap = 100;
  s.max_gap = 60'000;
  const millis t = next_look_age(cogvideox3, 100'000, s);
  EXPECT_GT(t, 100'000 + s.min_gap);
  EXPECT_LT(t, 100'000 + s.max_gap);
  EXPECT_GE(expected_unseen_ms(cogvideox3, 100'000, t), s.poll_worth_ms);
  EXPECT_LT(expected_unseen_ms(cogvideox3, 100'000, t - 1), s.poll_worth_ms);
  // A dearer poll waits longer; nothing worth waiting for → the longest gap.
  s.poll_worth_ms = 350;
  EXPECT_GT(next_look_age(cogvideox3, 100'000, s), t);
  s.poll_worth_ms = 1e12;
  EXPECT_EQ(next_look_age(cogvideox3, 100'000, s), 100'000 + s.max_gap);
  s.poll_worth_ms = 0;
  EXPECT_EQ(next_look_age(cogvideox3, 100'000, s), 100'000 + s.min_gap);
}

TEST(PollPlanner, TheProbeLadderDoublesFromTheMinimumGap) {
  backlog_poll_settings s;
  s.min_gap = 2'000;
  s.probe = true;
  std::vector<millis> ages;
  millis a = 0;
  for (int i = 0; i < 5; ++i) ages.push_back(a = next_look_age(cogvideox3, a, s));
  EXPECT_EQ(ages, (std::vector<millis>{2'000, 4'000, 8'000, 16'000, 32'000}));
  s.probe = false;
  EXPECT_GT(next_look_age(cogvideox3, 0, s), 20'000);  // the rule alone: nothing finishes that early
}

TEST(PollPlanner, AFarTailTaskIsLookedAtRarely) {
  backlog_poll_settings s;
  s.max_gap = 60'000;
  EXPECT_EQ(next_look_age(cogvideox3, 100 * cogvideox3.median, s), 100 * cogvideox3.median + s.max_gap);
}

struct schedule_figures {
  double polls = 0;
  double delay_ms = 0;
};

// P(D > x) of the log-normal.
double survival(const duration_dist& d, millis x) {
  if (x <= 0) return 1.0;
  const double z = (std::log(static_cast<double>(x)) - std::log(static_cast<double>(d.median))) / d.sigma();
  return 0.5 * std::erfc(z / std::sqrt(2.0));
}

// Expected polls and detection delay per task of the schedule `next` (age → next age): a
// poll at t happens when the task ran past the previous look, and finds it done if D ≤ t.
template <class Next>
schedule_figures expected_figures(const duration_dist& d, Next next) {
  schedule_figures f;
  millis prev = 0;
  for (int i = 0; i < 100'000 && survival(d, prev) > 1e-9; ++i) {
    const millis t = next(prev);
    f.polls += survival(d, prev);
    f.delay_ms += expected_unseen_ms(d, prev, t) * survival(d, prev);
    prev = t;
  }
  return f;
}

// The claim in the header: the rule matches a fixed 2 s loop's detection delay with at most
// ~3/4 of its polls (the optimum on this distribution is ~0.73×; bench/poll_frontier.py).
TEST(PollPlanner, BeatsAFixedIntervalAtEqualDelay) {
  const auto loop = expected_figures(cogvideox3, [](millis a) { return a + 2'000; });
  EXPECT_NEAR(loop.delay_ms, 1'000, 5);
  backlog_poll_settings s;
  s.min_gap = 100;
  // The worth at which the rule's mean delay equals the loop's, by bisection on the worth.
  double lo = 0.1, hi = 1'000;
  schedule_figures rule;
  for (int i = 0; i < 40; ++i) {
    s.poll_worth_ms = std::sqrt(lo * hi);
    rule = expected_figures(cogvideox3, [&](millis a) { return next_look_age(cogvideox3, a, s); });
    (rule.delay_ms < loop.delay_ms ? lo : hi) = s.poll_worth_ms;
  }
  std::printf("fixed 2 s: %.1f polls, %.0f ms delay; rule (worth %.1f ms): %.1f polls, %.0f ms delay\n", loop.polls,
              loop.delay_ms, s.poll_worth_ms, rule.polls, rule.delay_ms);
  EXPECT_NEAR(rule.delay_ms, loop.delay_ms, 20);
  EXPECT_LT(rule.polls, 0.78 * loop.polls);
  // And the table the defaults were chosen from (docs/ENGINE_DECISIONS.md §6).
  for (double worth : {10.0, 20.0, 35.0, 50.0, 100.0, 250.0, 500.0}) {
    s.poll_worth_ms = worth;
    const auto f = expected_figures(cogvideox3, [&](millis a) { return next_look_age(cogvideox3, a, s); });
    std::printf("  worth %6.1f ms: %5.1f polls per job, mean delay %6.0f ms\n", worth, f.polls, f.delay_ms);
  }
}

TEST(PollPlanner, BudgetPressureBringsTheSpendUnderTheBudget) {
  EXPECT_EQ(budget_pressure(5, 10), 1.0);
  EXPECT_EQ(budget_pressure(8, 10), 1.0);
  // Rates go as 1/√worth: scaling the worth by the pressure lands at headroom × budget.
  const double planned = 30, budget = 10;
  const double p = budget_pressure(planned, budget);
  EXPECT_NEAR(planned / std::sqrt(p), 0.8 * budget, 1e-9);
  EXPECT_EQ(budget_pressure(1, 0), budget_pressure(1, 1e-9));  // no budget: everything is over it
}

}  // namespace
}  // namespace vidq::engine
