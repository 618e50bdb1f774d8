#include "vidq/engine/poll_schedule.hpp"

#include <algorithm>
#include <cmath>

namespace vidq::engine {
namespace {

// The share of its window the GET budget keeps free for requests that arrive bunched.
constexpr double arrival_margin = 0.1;

double clamp01(double r) noexcept { return std::isnan(r) ? 0.5 : std::clamp(r, 0.0, 1.0); }

double jitter_factor(const ops::polling_config& cfg, double random01) noexcept {
  const double j = std::clamp(cfg.jitter, 0.0, 0.9);
  return 1.0 + j * (2.0 * clamp01(random01) - 1.0);
}

}  // namespace

millis poll_delay(int polls_done, const duration_dist& expected, const ops::polling_config& cfg, double random01,
                  const poll_shape& shape) noexcept {
  const double min_interval = static_cast<double>(std::max<millis>(cfg.min_interval, 1));
  double base;
  if (polls_done <= 0) {
    base = static_cast<double>(expected.quantile(shape.first_z));
  } else {
    const double growth = std::max(cfg.growth, 1.0);
    const double cap = std::min(static_cast<double>(cfg.max_interval), shape.interval_cap * static_cast<double>(expected.p90));
    // Exponent bounded: past ~60 steps every interval is the cap anyway.
    base = shape.first_interval * static_cast<double>(expected.median) * std::pow(growth, std::min(polls_done - 1, 60));
    base = std::min(base, std::max(cap, min_interval));
  }
  const double delay = std::max(min_interval, base * jitter_factor(cfg, random01));
  return static_cast<millis>(std::llround(delay));
}

millis poll_deadline(const duration_dist& expected, const ops::polling_config& cfg) noexcept {
  const double scaled = cfg.deadline_factor * static_cast<double>(expected.median);
  return std::max(cfg.deadline_min, static_cast<millis>(std::llround(scaled)));
}

millis next_poll_at(millis submitted_at, millis now, int polls_done, const duration_dist& expected,
                    const ops::polling_config& cfg, double random01, const poll_shape& shape) noexcept {
  const millis due = (polls_done <= 0 ? submitted_at : now) + poll_delay(polls_done, expected, cfg, random01, shape);
  return std::min(due, std::max(now, submitted_at + poll_deadline(expected, cfg)));
}

bool deadline_passed(millis submitted_at, millis now, const duration_dist& expected,
                     const ops::polling_config& cfg) noexcept {
  return now >= submitted_at + poll_deadline(expected, cfg);
}

request_budget::request_budget(double per_second, millis window) {
  set_rate(per_second, window);
}

void request_budget::set_rate(double per_second, millis window) {
  const double r = std::isfinite(per_second) && per_second > 0 ? per_second : 1.0;
  const double w = static_cast<double>(std::max<millis>(window, 1));
  const double n = std::clamp(std::floor(r * w / 1000.0), 1.0, 1e6);
  count_ = static_cast<std::size_t>(n);
  // n / r would be exactly the rate as the daemon sends; the provider counts arrivals, which
  // network and connection set-up bunch by a few ms. A tenth of the window keeps them under.
  span_ = std::max<millis>(1, std::llround(n / r * 1000.0 * (1.0 + arrival_margin)));
  while (granted_.size() > count_) granted_.pop_front();
}

bool request_budget::try_take(millis now) {
  if (next_available(now) > now) return false;
  granted_.push_back(std::max(now, granted_.empty() ? now : granted_.back()));
  if (granted_.size() > count_) granted_.pop_front();
  return true;
}

millis request_budget::next_available(millis now) const {
  if (granted_.size() < count_) return now;
  return std::max(now, granted_.front() + span_);
}

}  // namespace vidq::engine
