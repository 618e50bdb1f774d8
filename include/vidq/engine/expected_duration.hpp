#pragma once
// How long a task of (model, params) runs at the provider (docs/ENGINE_DECISIONS.md §6):
// built-in log-normal defaults from API.md §12, replaced by what this installation observed
// once there are enough finished jobs of the same kind. Pure; the driver feeds observations.

#include "vidq/core/clock.hpp"

#include <boost/json/object.hpp>

#include <map>
#include <string>
#include <string_view>

namespace vidq::engine {

// A log-normal run time given by its median and 90th percentile.
struct duration_dist {
  millis median = 120'000;
  millis p90 = 240'000;
  double sigma() const noexcept;                // of ln(duration); ≥ 0.05
  millis quantile(double z) const noexcept;     // median × exp(z σ); z = -0.674 is p25
};

// Jobs whose durations are learned together: "model|quality|Ns|hd" (quality only for the
// CogVideoX family; "hd" = 4K or 60 fps, the §12 ×2 factor). Stable text, fine as a DB key.
std::string duration_key(std::string_view model, const boost::json::object& params);

// API.md §12: per-model median/p90, ×1.8 for 10 s clips, ×2 (median) and ×2.5 (p90) for
// 4K or 60 fps. Unknown models get cogvideox-3 speed's figures (2 min / 4 min).
duration_dist builtin_duration(std::string_view model, const boost::json::object& params);

// What one finished job says about its run time. `last_running_at` is the last poll that
// still saw it running (or the submit time): the task ended somewhere between, so the
// midpoint removes most of the detection delay a naive finished − submitted would add.
millis observed_duration(millis submitted_at, millis last_running_at, millis detected_at) noexcept;

// Per-key running estimate of ln(duration): mean and variance, averaged over the first
// `window` observations and exponentially (weight 1/window) after, so it follows a
// provider that gets slower or faster without being swayed by one stuck task.
class duration_estimator {
 public:
  explicit duration_estimator(int min_samples = 8, int window = 50) : min_samples_(min_samples), window_(window) {}

  // Ignores non-positive durations.
  void observe(const std::string& key, millis duration);
  // The learned distribution once `min_samples` were observed, else `prior`. σ is kept in
  // [0.15, 1.5] so a run of identical durations cannot make the schedule overconfident.
  duration_dist estimate(const std::string& key, const duration_dist& prior) const;
  // builtin_duration(), overridden by the learned value for duration_key(model, params).
  duration_dist expected(std::string_view model, const boost::json::object& params) const;
  int samples(const std::string& key) const;

 private:
  struct stats {
    int n = 0;
    double mean = 0;  // of ln(ms)
    double var = 0;
  };
  int min_samples_;
  int window_;
  std::map<std::string, stats, std::less<>> stats_;
};

}  // namespace vidq::engine
