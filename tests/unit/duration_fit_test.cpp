// fit_duration on simulated poll histories: what a daemon's polls would have seen of tasks
// whose true durations are known here.
#include "vidq/engine/duration_fit.hpp"
#include "vidq/engine/poll_schedule.hpp"

#include "support/seeded_rng.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <vector>

namespace vidq::engine {
namespace {

constexpr duration_dist truth{90'000, 170'000};
// A dense fixed-shape schedule: first look at the p10, then every 4 % of the p90 (the
// daemon's backlog schedule before engine/poll_planner.hpp).
constexpr poll_shape dense_shape{-1.2815515655446004, 100.0, 0.04};  // σ ≈ 0.5, about cogvideox-flash's median

double ratio(millis a, millis b) { return static_cast<double>(a) / static_cast<double>(b); }

// What polls at `ages` (ascending, from submit) see of a task that runs `run` ms.
censored_duration seen_by(const std::vector<millis>& ages, millis run) {
  censored_duration c;
  for (const millis t : ages) {
    if (t >= run) {
      c.at_most = t;
      return c;
    }
    c.at_least = t;
  }
  return c;  // still running at the last poll
}

TEST(DurationFit, NoObservationsGiveThePrior) {
  const auto fit = fit_duration({}, truth);
  EXPECT_NEAR(ratio(fit.dist.median, truth.median), 1.0, 0.001);
  EXPECT_NEAR(ratio(fit.dist.p90, truth.p90), 1.0, 0.001);
  EXPECT_EQ(fit.weight, 0.0);
}

// Intervals of ±0.5 s around each duration: the fit is the sample's own log-normal (the
// mean and spread of ln d), whatever the prior said.
TEST(DurationFit, NarrowIntervalsRecoverTheDistribution) {
  test::seeded_rng r(1);
  std::vector<censored_duration> obs;
  double sum = 0, sum2 = 0;
  for (int i = 0; i < 400; ++i) {
    const millis d = r.lognormal(truth);
    obs.push_back({d - 500, d + 500});
    sum += std::log(static_cast<double>(d));
    sum2 += std::log(static_cast<double>(d)) * std::log(static_cast<double>(d));
  }
  const double sample_mu = sum / 400, sample_sigma = std::sqrt(sum2 / 400 - sample_mu * sample_mu);
  const duration_dist wrong_prior{30'000, 40'000};
  const auto fit = fit_duration(obs, wrong_prior, {.half_life = 1e9});
  EXPECT_NEAR(fit.mu, sample_mu, 0.005);
  EXPECT_NEAR(fit.sigma, sample_sigma, 0.01);
  EXPECT_NEAR(ratio(fit.dist.median, truth.median), 1.0, 0.08);
}

// Sparse polls: first at 60 s, then every 45 s. A quarter of the tasks end before the first
// poll, so (0, 60 s] is all that is known of them; the midpoint makes them 30 s long.
TEST(DurationFit, SparsePollsLeaveNoBiasWhereTheMidpointHasOne) {
  test::seeded_rng r(2);
  std::vector<millis> ages;
  for (millis t = 60'000; t < 3'600'000; t += 45'000) ages.push_back(t);
  std::vector<censored_duration> obs;
  duration_estimator midpoint(8, 1'000'000);
  for (int i = 0; i < 600; ++i) {
    const auto c = seen_by(ages, r.lognormal(truth));
    obs.push_back(c);
    midpoint.observe("k", observed_duration(0, c.at_least, *c.at_most));
  }
  const auto fit = fit_duration(obs, duration_dist{}, {.half_life = 1e9});
  const auto mid = midpoint.estimate("k", duration_dist{});
  std::printf("sparse polls: fit median %.1f s sigma %.3f; midpoint median %.1f s sigma %.3f; truth %.1f s %.3f\n",
              static_cast<double>(fit.dist.median) / 1000, fit.sigma, static_cast<double>(mid.median) / 1000,
              mid.sigma(), static_cast<double>(truth.median) / 1000, truth.sigma());
  EXPECT_NEAR(ratio(fit.dist.median, truth.median), 1.0, 0.04);
  EXPECT_NEAR(fit.sigma, truth.sigma(), 0.06);
  // The fit is closer to the truth than the midpoint on both counts.
  EXPECT_LT(std::abs(fit.sigma - truth.sigma()), std::abs(mid.sigma() - truth.sigma()));
}

// Tasks still running at their last poll (the daemon gave up at its deadline) only say
// "longer than that"; leaving them out would make a slow provider look fast.
TEST(DurationFit, TasksStillRunningCountAsLongerThanTheirLastPoll) {
  test::seeded_rng r(3);
  const std::vector<millis> ages{30'000, 60'000, 90'000, 120'000, 150'000};  // gives up at 150 s
  std::vector<censored_duration> all, finished_only;
  for (int i = 0; i < 500; ++i) {
    const auto c = seen_by(ages, r.lognormal(truth));
    all.push_back(c);
    if (c.at_most) finished_only.push_back(c);
  }
  ASSERT_LT(finished_only.size(), all.size()) << "the draw must include tasks longer than 150 s";
  const auto with = fit_duration(all, duration_dist{}, {.half_life = 1e9});
  const auto without = fit_duration(finished_only, duration_dist{}, {.half_life = 1e9});
  EXPECT_NEAR(ratio(with.dist.median, truth.median), 1.0, 0.06);
  EXPECT_NEAR(ratio(with.dist.p90, truth.p90), 1.0, 0.12);
  EXPECT_LT(without.dist.p90, with.dist.p90 * 9 / 10);
}

// Old observations fade: after the provider doubles its durations, 300 new completions
// bring the fit within 12 % of the new median (the old ones keep 2^-3 of their weight).
TEST(DurationFit, OldObservationsFadeSoTheFitFollowsASlowerProvider) {
  test::seeded_rng r(4);
  const duration_dist slower{truth.median * 2, truth.p90 * 2};
  std::vector<censored_duration> obs;
  for (int i = 0; i < 300; ++i) {
    const millis d = r.lognormal(truth);
    obs.push_back({d - 1'000, d + 1'000});
  }
  for (int i = 0; i < 300; ++i) {
    const millis d = r.lognormal(slower);
    obs.push_back({d - 1'000, d + 1'000});
  }
  const auto fit = fit_duration(obs, truth);
  EXPECT_NEAR(ratio(fit.dist.median, slower.median), 1.0, 0.12);
  const auto frozen = fit_duration(obs, truth, {.half_life = 1e9});
  EXPECT_LT(ratio(frozen.dist.median, slower.median), 0.8) << "without decay the old half holds the fit back";
}

// The prior believes 100× too slow. Each task is polled with the daemon's own dense
// schedule (dense_shape) built on the current fit, and the fit is redone after each
// completion. The first tasks are seen only long after they ended, as (0, R]; the fit must
// still reach the truth within a few dozen completions. The midpoint estimator, fed the
// same kind of history, is printed for comparison. One task at a time: in a real lane the
// first cap-many tasks are all polled on the prior before any of them finishes.
TEST(DurationFit, APriorHundredTimesTooSlowIsUnlearnedWithinAFewDozenCompletions) {
  const duration_dist prior{truth.median * 100, truth.p90 * 100};
  const ops::polling_config cfg;  // min 2 s, max 60 s between polls
  auto poll_ages = [&](const duration_dist& believed, millis run) {
    std::vector<millis> ages;
    millis t = 0;
    for (int k = 0; t < run; ++k) {
      t += poll_delay(k, believed, cfg, 0.5, dense_shape);
      ages.push_back(t);
    }
    return ages;
  };
  auto completions_to_learn = [&](bool censored_fit) {
    test::seeded_rng r(5);
    std::vector<censored_duration> obs;
    duration_estimator midpoint;
    for (int n = 1; n <= 200; ++n) {
      const duration_dist believed =
          censored_fit ? fit_duration(obs, prior).dist : midpoint.estimate("k", prior);
      const millis run = r.lognormal(truth);
      const auto c = seen_by(poll_ages(believed, run), run);
      obs.push_back(c);
      midpoint.observe("k", observed_duration(0, c.at_least, *c.at_most));
      const duration_dist now = censored_fit ? fit_duration(obs, prior).dist : midpoint.estimate("k", prior);
      if (std::abs(ratio(now.median, truth.median) - 1.0) < 0.25) return n;
    }
    return 1000;
  };
  const int fit_n = completions_to_learn(true);
  const int midpoint_n = completions_to_learn(false);
  std::printf("prior 100x too slow: within 25 %% of the true median after %d completions (midpoint estimator: %d)\n",
              fit_n, midpoint_n);
  EXPECT_LE(fit_n, 36);
  EXPECT_LE(fit_n, midpoint_n);
}

}  // namespace
}  // namespace vidq::engine
