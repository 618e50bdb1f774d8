#pragma once
// When a failed delivery is tried again, and when it is given up. Pure: the attempt count,
// the clock and a random draw in, a time out (engine/backoff's jittered exponential shape).

#include "vidq/core/clock.hpp"

#include <optional>

namespace vidq::notify {

// Delays for notices: 1 s × 2^attempts with jitter, capped at 5 minutes, so a receiver
// that is down for an hour sees about one request per target every 5 minutes.
inline constexpr millis retry_base = 1'000;
inline constexpr millis retry_cap = 5 * 60'000;

// After the `attempts`-th failed attempt (counted from 1) at `now`: the next attempt time,
// or nullopt when the notice, created at `created`, is older than `retry_for` by then (the
// delivery is given up). random01 outside [0, 1] is clamped.
std::optional<millis> next_attempt_at(int attempts, millis now, millis created, millis retry_for, double random01);

}  // namespace vidq::notify
