#include "vidq/engine/backoff.hpp"

#include <algorithm>
#include <cmath>

namespace vidq::engine {
namespace {

millis jittered(int attempt, millis base, millis cap, double random01) noexcept {
  base = std::max<millis>(base, 1);
  cap = std::max(cap, base);
  const int exponent = std::clamp(attempt, 0, 40);  // 2^40 × base overflows nothing: capped below
  const double ceiling = std::min(static_cast<double>(cap), static_cast<double>(base) * std::ldexp(1.0, exponent));
  const double r = std::isnan(random01) ? 0.0 : std::clamp(random01, 0.0, 1.0);
  return static_cast<millis>(std::llround(static_cast<double>(base) + r * (ceiling - static_cast<double>(base))));
}

millis long_base(const ops::retry_config& cfg) noexcept { return 15 * std::max<millis>(cfg.base_delay, 1); }
millis long_cap(const ops::retry_config& cfg) noexcept {
  return std::max(2 * cfg.max_delay, long_base(cfg));
}

}  // namespace

millis backoff_delay(int attempt, const ops::retry_config& cfg, double random01) noexcept {
  return jittered(attempt, cfg.base_delay, cfg.max_delay, random01);
}

millis long_backoff_delay(int attempt, const ops::retry_config& cfg, double random01) noexcept {
  return jittered(attempt, long_base(cfg), long_cap(cfg), random01);
}

millis rate_limited_delay(const ops::retry_config& cfg, double random01) noexcept {
  const double r = std::isnan(random01) ? 0.0 : std::clamp(random01, 0.0, 1.0);
  const millis base = std::max<millis>(cfg.base_delay, 1);
  return base + static_cast<millis>(std::llround(r * static_cast<double>(base)));
}

millis retry_at(const provider::verdict& v, int attempt, const ops::retry_config& cfg, millis now,
                double random01) noexcept {
  millis delay = 0;
  switch (v.hint) {
    case provider::retry_hint::normal: delay = backoff_delay(attempt, cfg, random01); break;
    case provider::retry_hint::long_backoff: delay = long_backoff_delay(attempt, cfg, random01); break;
    case provider::retry_hint::rate_limited: delay = rate_limited_delay(cfg, random01); break;
    case provider::retry_hint::refresh_urls: delay = 0; break;  // re-poll at once: URLs expire
    case provider::retry_hint::local_disk: delay = backoff_delay(attempt, cfg, random01); break;  // the pause decides
  }
  millis at = now + delay;
  if (v.not_before) at = std::max(at, std::min(*v.not_before, now + long_cap(cfg)));
  return at;
}

}  // namespace vidq::engine
