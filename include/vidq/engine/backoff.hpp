#pragma once
// Retry delays (docs/ENGINE_DECISIONS.md §3). Pure functions of (attempt, policy, random draw)
// so tests pin the draw and the driver passes a seeded RNG's next double in [0, 1).

#include "vidq/core/clock.hpp"
#include "vidq/ops/config.hpp"
#include "vidq/provider/error_class.hpp"

#include <optional>

namespace vidq::engine {

// Exponential backoff with jitter over [base, ceiling]: ceiling = base × 2^attempt, capped
// at max_delay; delay = base + random01 × (ceiling − base). attempt counts from 1 (the
// attempt that just failed). Never below base_delay, so a herd of retries still spreads.
// random01 outside [0, 1] is clamped.
millis backoff_delay(int attempt, const ops::retry_config& cfg, double random01) noexcept;

// The longer schedule for overload (1305, 1312, 1120, HTTP 503): base 15 × base_delay
// (30 s by default), cap 2 × max_delay (10 min), same jitter. RL: "retry later with growing
// intervals, avoid immediate high-frequency retries".
millis long_backoff_delay(int attempt, const ops::retry_config& cfg, double random01) noexcept;

// After 1302: the job goes back to queued and waits for a slot of the lowered cap anyway;
// this short pause (base_delay × [1, 2)) only stops it from being re-claimed in the same tick.
millis rate_limited_delay(const ops::retry_config& cfg, double random01) noexcept;

// The delay for a retry verdict: picks the schedule from the hint, and never returns less
// than what the provider asked (verdict.not_before, e.g. Retry-After), capped at the long
// schedule's cap. Returns an absolute time (now + delay).
millis retry_at(const provider::verdict& v, int attempt, const ops::retry_config& cfg, millis now,
                double random01) noexcept;

}  // namespace vidq::engine
