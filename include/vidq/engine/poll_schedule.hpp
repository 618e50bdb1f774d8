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

#include <deque>

namespace vidq::engine {

// The shape constants, chosen by simulation (docs/ENGINE_DECISIONS.md §6). Not in the TOML
// on purpose: growth/min/max/jitter are; these only say where the distribution is probed.
struct poll_shape {
  double first_z = -0.6744897501960817;  // first poll at the p25 of the run time
  double first_interval = 0.15;          // × median: the interval after the first poll
  double interval_cap = 0.15;            // × p90: no interval longer than this
};

// Lanes with jobs waiting for their slots use engine/poll_planner.hpp instead.

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

// The per-account GET budget (polling.requests_per_second), as the provider's frequency
// limit counts it: never more than n = max(1, ⌊per_second × window⌋) requests in any span
// of 1.1 × n / per_second ms (10/s with a 1 s window: at most 10 in any 1.1 s, so that
// arrivals bunched by the network by up to 100 ms still stay within 10 in any second). A
// token bucket would let 2 × its rate through in the second after an idle spell. Pure apart
// from its own state (the newest n grants); time comes in.
class request_budget {
 public:
  explicit request_budget(double per_second, millis window = 1'000);
  // Grants one request at `now` if the span ending at `now` has room for it.
  bool try_take(millis now);
  // When the next request may go (now if one may).
  millis next_available(millis now) const;
  void set_rate(double per_second, millis window = 1'000);  // SIGHUP; keeps the newest grants

 private:
  std::deque<millis> granted_;  // the newest grants, oldest first, at most count_
  std::size_t count_ = 1;
  millis span_ = 1'000;
};

}  // namespace vidq::engine
