#pragma once
// What the daemon knows of each kind of job's run time (duration_key → fit): the prior of
// API.md §12 corrected by the censored observations its own polls made (duration_fit.hpp).
// Pure apart from its own state; the scheduler feeds it each finished task's interval and
// rebuilds it at start from the duration_samples table.

#include "vidq/engine/duration_fit.hpp"
#include "vidq/engine/expected_duration.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

namespace vidq::engine {

struct learner_options {
  // Observations kept per kind: with a half-life of 100, the 400th weighs 6 %.
  std::size_t window = 400;
  // Finished (or given-up) tasks from which the fit is trusted enough to stop the probe
  // ladder (poll_planner.hpp) on most tasks. Tasks still running do not count: they say
  // "longer than", which a prior far too slow agrees with.
  std::size_t confident_observations = 8;
  // Past that, one task in this many still probes, so a provider that became much faster
  // shows itself (a too-slow fit never polls early enough to see it otherwise). 0: never.
  int probe_every = 20;
  fit_options fit;
};

class duration_learner {
 public:
  explicit duration_learner(learner_options options = {}) : options_(options) {}

  void observe(const std::string& key, const censored_duration& seen);
  // A task of `key` was seen running at age `age`. Until forget_running(), fits count it as
  // "longer than age": a fit made while many tasks run (a cold start with 2,000 in flight)
  // would otherwise see only the short ones that finished first and expect every task to
  // be that short. Does not trigger a refit by itself (that waits for the next observe()).
  void note_running(const std::string& key, std::int64_t task, millis age);
  void forget_running(std::int64_t task);
  // The fit of `key` under `prior`: refitted (warm, from the last fit) only when an
  // observation arrived or the prior changed (SIGHUP: duration_scale) since the last call.
  const duration_fit& fit(const std::string& key, const duration_dist& prior);
  // Whether the next task of `key` should probe: the fit is not yet confident, or it is this
  // kind's turn (every probe_every-th call) to check that the fit has not become too slow.
  bool next_task_probes(const std::string& key, const duration_dist& prior);
  std::size_t observations(const std::string& key) const;

  // Every kind fitted so far, with its last fit (refitted by fit(), not here).
  struct kind_summary {
    std::string key;
    duration_dist fitted;
    duration_dist prior;
    std::size_t observations = 0;
  };
  std::vector<kind_summary> summary() const;

 private:
  struct kind {
    std::deque<censored_duration> seen;  // oldest first
    std::map<std::int64_t, millis> running;  // task → age last seen running
    duration_fit fitted;
    duration_dist fitted_prior{0, 0};
    bool stale = true;
    std::uint64_t tasks = 0;
  };
  learner_options options_;
  std::map<std::string, kind, std::less<>> kinds_;
  std::map<std::int64_t, std::string> running_kind_;  // task → its kind, for forget_running
};

}  // namespace vidq::engine
