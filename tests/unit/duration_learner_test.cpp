// duration_learner with the backlog poll rule, in a deterministic model of one lane: `cap`
// slots, a queue of tasks with log-normal run times, each slot's next task submitted the
// moment a look sees the previous one done. The daemon's plan_poll does exactly this for a
// backlogged lane (src/daemon/poll_plan.cpp), minus the network.
#include "vidq/engine/duration_learner.hpp"
#include "vidq/engine/poll_planner.hpp"

#include "support/seeded_rng.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <queue>
#include <vector>

namespace vidq::engine {
namespace {

constexpr duration_dist truth{120'000, 240'000};  // cogvideox-3 speed, API.md §12

duration_dist scaled(const duration_dist& d, double f) {
  return {static_cast<millis>(static_cast<double>(d.median) * f), static_cast<millis>(static_cast<double>(d.p90) * f)};
}

struct lane_outcome {
  double eff = 0;  // oracle makespan / this makespan
  double polls_per_job = 0;
  int completions_to_learn = -1;  // first completion after which the fit's median stays within 25 %
};

lane_outcome run_lane(const duration_dist& prior, int jobs, int cap, std::uint64_t seed, double worth_ms = 20) {
  test::seeded_rng r(seed);
  std::vector<millis> runs(jobs);
  for (auto& d : runs) d = std::max<millis>(1, r.lognormal(truth));

  // The oracle: each job starts the instant a slot frees.
  std::priority_queue<millis, std::vector<millis>, std::greater<>> free_at;
  for (int i = 0; i < cap; ++i) free_at.push(0);
  millis oracle = 0;
  for (const millis d : runs) {
    const millis start = free_at.top();
    free_at.pop();
    free_at.push(start + d);
    oracle = std::max(oracle, start + d);
  }

  duration_learner learner;
  const std::string key = "k";
  backlog_poll_settings s;
  s.poll_worth_ms = worth_ms;
  s.min_gap = 2'000;
  s.max_gap = 60'000;
  struct task {
    int job;
    millis submitted;
    millis last_running = 0;  // age
    millis next_look;         // absolute
    bool probe;
  };
  auto cmp = [](const task& a, const task& b) { return a.next_look > b.next_look; };
  std::priority_queue<task, std::vector<task>, decltype(cmp)> looks(cmp);
  int next_job = 0;
  auto submit = [&](millis t) {
    if (next_job >= jobs) return;
    task k{next_job++, t, 0, 0, learner.next_task_probes(key, prior)};
    s.probe = k.probe;
    k.next_look = t + next_look_age(learner.fit(key, prior).dist, 0, s);
    looks.push(k);
  };
  for (int i = 0; i < cap; ++i) submit(0);
  lane_outcome out;
  long polls = 0;
  int completions = 0;
  millis makespan = 0;
  while (!looks.empty()) {
    task k = looks.top();
    looks.pop();
    ++polls;
    const millis age = k.next_look - k.submitted;
    if (age >= runs[k.job]) {
      learner.observe(key, {k.last_running, age});
      ++completions;
      const double ratio = static_cast<double>(learner.fit(key, prior).dist.median) / static_cast<double>(truth.median);
      const bool close = ratio > 0.75 && ratio < 1.25;
      if (!close) {
        out.completions_to_learn = -1;
      } else if (out.completions_to_learn < 0) {
        out.completions_to_learn = completions;
      }
      makespan = std::max(makespan, k.next_look);
      submit(k.next_look);
      continue;
    }
    k.last_running = age;
    s.probe = k.probe;
    k.next_look = k.submitted + next_look_age(learner.fit(key, prior).dist, age, s);
    looks.push(k);
  }
  out.eff = static_cast<double>(oracle) / static_cast<double>(makespan);
  out.polls_per_job = static_cast<double>(polls) / jobs;
  return out;
}

TEST(DurationLearner, NoObservationsGiveThePriorAndProbe) {
  duration_learner l;
  const auto& fit = l.fit("k", truth);
  EXPECT_EQ(fit.dist.median, truth.median);
  EXPECT_TRUE(l.next_task_probes("k", truth));
  EXPECT_EQ(l.observations("k"), 0u);
}

TEST(DurationLearner, KeepsItsWindowAndRefitsWhenThePriorChanges) {
  learner_options o;
  o.window = 50;
  duration_learner l(o);
  for (int i = 0; i < 120; ++i) l.observe("k", {59'000, 61'000});
  EXPECT_EQ(l.observations("k"), 50u);
  EXPECT_NEAR(static_cast<double>(l.fit("k", truth).dist.median), 60'000, 1'500);
  // Another prior (SIGHUP changed duration_scale): a fresh fit, still near the data.
  EXPECT_NEAR(static_cast<double>(l.fit("k", scaled(truth, 10)).dist.median), 60'000, 6'000);
}

TEST(DurationLearner, OnceConfidentOneTaskInTwentyStillProbes) {
  duration_learner l;
  for (int i = 0; i < 40; ++i) l.observe("k", {119'000, 121'000});
  int probes = 0;
  for (int i = 0; i < 200; ++i) probes += l.next_task_probes("k", truth) ? 1 : 0;
  EXPECT_EQ(probes, 10);
}

// A cold start with 2,000 tasks in flight (bench_many_accounts): 70 s in, only the short
// ones have finished. Fitted from those alone, every task looks short and the next tasks'
// first looks go far past the fast tail; counting the running ones as "longer than their
// age" keeps the fit near the truth.
TEST(DurationLearner, TasksStillRunningKeepAColdStartFromLearningOnlyTheShortOnes) {
  test::seeded_rng r(5);
  duration_learner with_running, finished_only;
  const millis now = 70'000;
  for (std::int64_t task = 0; task < 2'000; ++task) {
    const millis d = std::max<millis>(1, r.lognormal(truth));
    if (d <= now) {
      const censored_duration seen{std::max<millis>(0, d - 2'000), d};  // polled every 2 s
      with_running.observe("k", seen);
      finished_only.observe("k", seen);
    } else {
      with_running.note_running("k", task, now - 1'000);
    }
  }
  const auto biased = finished_only.fit("k", truth).dist;
  const auto fair = with_running.fit("k", truth).dist;
  std::printf("70 s into a cold start: finished only median %.1f s p90 %.1f s; with the running ones %.1f s / %.1f s "
              "(truth 120 / 240)\n",
              static_cast<double>(biased.median) / 1000, static_cast<double>(biased.p90) / 1000,
              static_cast<double>(fair.median) / 1000, static_cast<double>(fair.p90) / 1000);
  EXPECT_LT(biased.median, 80'000) << "the survivorship bias this guards against";
  EXPECT_NEAR(static_cast<double>(fair.median), 120'000, 24'000);
  // Once they finish and are forgotten as running, only their real intervals count.
  for (std::int64_t task = 0; task < 2'000; ++task) with_running.forget_running(task);
  with_running.observe("k", {119'000, 121'000});
  EXPECT_LT(with_running.fit("k", truth).dist.median, 90'000);
  // Running tasks are no finished observations: a fit that only saw them still probes.
  duration_learner cold;
  for (std::int64_t task = 0; task < 20; ++task) cold.note_running("k", task, 5'000);
  EXPECT_TRUE(cold.next_task_probes("k", truth));
}

// Issue 13's targets in this model: matched prior, off by ×3 and ×1/3 within 0.01 of it,
// off by ×10 and ×100 still ≥ 0.95 over 400 jobs. The daemon adds hand-off and network
// (bench/poll_policy measures those); this pins the decision logic alone.
TEST(DurationLearner, APriorFarOffIsLearnedWithinAFewDozenCompletions) {
  const auto matched = run_lane(truth, 400, 20, 11);
  std::printf("prior x1: eff %.4f, %.1f polls/job, fit within 25%% after %d completions\n", matched.eff,
              matched.polls_per_job, matched.completions_to_learn);
  EXPECT_GT(matched.eff, 0.985);
  for (const double off : {3.0, 1.0 / 3.0, 10.0, 100.0}) {
    const auto o = run_lane(scaled(truth, off), 400, 20, 11);
    std::printf("prior x%g: eff %.4f, %.1f polls/job, fit within 25%% after %d completions\n", off, o.eff,
                o.polls_per_job, o.completions_to_learn);
    if (off == 3.0 || off == 1.0 / 3.0) {
      EXPECT_GT(o.eff, matched.eff - 0.01) << off;
    }
    EXPECT_GT(o.eff, 0.95) << off;
    EXPECT_GT(o.completions_to_learn, 0) << off;
    EXPECT_LE(o.completions_to_learn, 60) << off;
  }
}

}  // namespace
}  // namespace vidq::engine
