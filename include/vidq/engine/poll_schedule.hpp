#pragma once
// When to poll a processing task (DESIGN.md §2, docs/ENGINE_DECISIONS.md §6). Pure: the
// schedule is a function of (polls done so far, the expected duration, config, a random
// draw), so it survives restarts from jobs.polls / submitted_at alone.
//
//   first poll   submit + p25 of the expected run time
//   then         interval_k = 0.15 × median × growth^(k−1), capped at
//                min(max_interval, 0.15 × p90), floored at min_interval, ± jitter
//   deadline     submit + max(deadline_min, deadline_factor × median) → poll_deadline
//
// On the API.md §12 distributions this averages ≈ 3.9 polls per job with a mean detection
// delay ≈ 16 % of the median (tests/unit/poll_schedule_test.cpp prints the table).

#include "vidq/core/clock.hpp"
#include "vidq/engine/expected_duration.hpp"
#include "vidq/ops/config.hpp"

namespace vidq::engine {

// The shape constants, chosen by simulation (docs/ENGINE_DECISIONS.md §6). Not in the TOML
// on purpose: growth/min/max/jitter are; these only say where the distribution is probed.
struct poll_shape {
  double first_z = -0.6744897501960817;  // first poll at the p25 of the run time
  double first_interval = 0.15;          // × median: the interval after the first poll
  double interval_cap = 0.15;            // × p90: no interval longer than this
};

// The dense shape for lanes with jobs waiting (docs/PERFORMANCE.md, bench/poll_frontier.py):
// first poll at the p10, then a constant 4 % of the p90 (the first interval is above the
// cap, so every interval is the cap).
inline constexpr poll_shape hurried_poll_shape{-1.2815515655446004, 100.0, 0.04};

// Delay until poll number polls_done + 1: from submit when polls_done == 0, else from the
// poll just made. random01 in [0, 1) draws the jitter; out-of-range values are clamped.
millis poll_delay(int polls_done, const duration_dist& expected, const ops::polling_config& cfg, double random01,
                  const poll_shape& shape = {}) noexcept;

// How long after submit the task may run before it fails poll_deadline.
millis poll_deadline(const duration_dist& expected, const ops::polling_config& cfg) noexcept;

// The absolute time of the next poll: now + poll_delay, but never after the deadline, so
// the last look happens exactly at it (then deadline_passed() is true).
millis next_poll_at(millis submitted_at, millis now, int polls_done, const duration_dist& expected,
                    const ops::polling_config& cfg, double random01, const poll_shape& shape = {}) noexcept;
bool deadline_passed(millis submitted_at, millis now, const duration_dist& expected,
                     const ops::polling_config& cfg) noexcept;

// The per-account GET budget (polling.requests_per_second): a token bucket holding up to
// one second of requests (at least one). Pure apart from its own state; time comes in.
class request_budget {
 public:
  explicit request_budget(double per_second, millis start = 0);
  // Takes one token if there is one at `now`.
  bool try_take(millis now);
  // When the next token is available (now if one is).
  millis next_available(millis now) const;
  void set_rate(double per_second);  // SIGHUP; keeps the tokens it has (capped)

 private:
  void refill(millis now);
  double rate_;       // tokens per millisecond
  double capacity_;
  double tokens_;
  millis last_;
};

}  // namespace vidq::engine
