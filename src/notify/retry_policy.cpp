#include "vidq/notify/retry_policy.hpp"

#include "vidq/engine/backoff.hpp"

namespace vidq::notify {

std::optional<millis> next_attempt_at(int attempts, millis now, millis created, millis retry_for, double random01) {
  ops::retry_config shape;
  shape.base_delay = retry_base;
  shape.max_delay = retry_cap;
  const millis at = now + engine::backoff_delay(attempts, shape, random01);
  if (at > created + retry_for) return std::nullopt;
  return at;
}

}  // namespace vidq::notify
