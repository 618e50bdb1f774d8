#pragma once
// A provider's real task durations from what polls can see (issue 13, "learn from censored
// observations"). A poll never sees the finish itself: SUCCESS at age R after a PROCESSING
// answer at age L says only that the task ended in (L, R]; a task still running at its last
// poll (given up, cancelled) says only "longer than L". Taking the midpoint of (L, R], as
// duration_estimator does, is biased whenever polls are sparse, and worst exactly when the
// prior is too slow: then the first poll comes long after every finish, (0, R] is all that
// is known, and the midpoint R/2 keeps the schedule slow for many rounds.
//
// fit_duration() is the maximum a posteriori log-normal for such intervals, by EM on
// ln(duration) (each E-step replaces an interval by the moments of the current normal
// truncated to it), with the prior as pseudo-observations so that a handful of intervals
// cannot make the fit arbitrary. Older observations weigh less (a half-life counted in
// observations), so the fit follows a provider that slows down at busy hours and speeds up
// after. Pure and deterministic; tests/unit/duration_fit_test.cpp checks it on simulated
// poll histories (a prior 100× too slow: within 25 % of the truth after 27 completions,
// against 97 for the midpoint estimator).
//
// The daemon keeps one per kind of job in duration_learner (engine/duration_learner.hpp),
// rebuilt at start from the duration_samples table (migration 0007).

#include "vidq/core/clock.hpp"
#include "vidq/engine/expected_duration.hpp"

#include <optional>
#include <span>

namespace vidq::engine {

// The task's duration lies in (at_least, at_most]; at_most = nullopt: still running then.
struct censored_duration {
  millis at_least = 0;
  std::optional<millis> at_most;
};

// μ and σ of ln(ms).
struct log_normal_params {
  double mu = 0;
  double sigma = 1;
};

struct fit_options {
  double half_life = 100;     // observations after which one weighs half
  double prior_weight = 1;    // pseudo-observations of the prior (median and spread)
  int max_iterations = 200;
  double tolerance = 1e-6;    // on μ and σ of ln(ms), between two EM steps
  // Where EM starts (the previous fit, when one more observation arrived): the same fixed
  // point in a few steps instead of the prior's dozens. nullopt: the prior.
  std::optional<log_normal_params> start;
};

struct duration_fit {
  duration_dist dist;
  double mu = 0;          // of ln(ms)
  double sigma = 0;       // of ln(ms)
  double weight = 0;      // Σ of the observations' weights (excluding the prior)
  int iterations = 0;
};

// `oldest_first`: the observations in the order they were made (the newest weighs 1).
// Intervals with at_most <= at_least or at_most <= 0 are ignored. σ stays in [0.05, 3].
// `current`: tasks still running (at_least only): "longer than its age", as of now. Each
// weighs as much as an average observation of `oldest_first` (1 if there is none), times
// `current_weight` (a sample of many running tasks passes the number each stands for), so
// that finished and running tasks keep their proportion whatever the decay did.
duration_fit fit_duration(std::span<const censored_duration> oldest_first, const duration_dist& prior,
                          const fit_options& options = {}, std::span<const censored_duration> current = {},
                          double current_weight = 1.0);

}  // namespace vidq::engine
