#include "vidq/engine/poll_planner.hpp"

#include <algorithm>
#include <cmath>

namespace vidq::engine {
namespace {

constexpr double sqrt2 = 1.4142135623730951;

// P(Z > z) for standard normal Z, accurate far into the upper tail.
double upper(double z) noexcept { return 0.5 * std::erfc(z / sqrt2); }

struct log_normal {
  double mu, sigma;
  explicit log_normal(const duration_dist& d)
      : mu(std::log(static_cast<double>(std::max<millis>(d.median, 1)))), sigma(d.sigma()) {}
  double z(double x) const noexcept { return (std::log(x) - mu) / sigma; }
  // P(D > x)
  double survival(double x) const noexcept { return x <= 0 ? 1.0 : upper(z(x)); }
  // E[D; D > x] / E[D]: the share of the mean carried by run times above x
  double upper_mean_share(double x) const noexcept { return x <= 0 ? 1.0 : upper(z(x) - sigma); }
  double mean() const noexcept { return std::exp(mu + 0.5 * sigma * sigma); }
};

}  // namespace

double expected_unseen_ms(const duration_dist& d, millis a, millis t) noexcept {
  if (t <= a) return 0.0;
  const log_normal ln(d);
  const double from = static_cast<double>(std::max<millis>(a, 0));
  const double to = static_cast<double>(t);
  const double running = ln.survival(from);
  // Far in the tail the conditional law is numerically gone: the task is most likely stuck
  // or much slower than its kind, and looking sooner buys nothing measurable.
  if (running < 1e-12) return 0.0;
  // ∫_a^t (t − s) f(s) ds = t·(S(a) − S(t)) − (E[D; D > a] − E[D; D > t]), each difference
  // from upper-tail functions so it keeps its digits when both terms are small.
  const double finished = running - ln.survival(to);
  const double mean_part = ln.mean() * (ln.upper_mean_share(from) - ln.upper_mean_share(to));
  return std::max(0.0, (to * finished - mean_part) / running);
}

millis probe_ladder_age(millis last_running, millis min_gap) noexcept {
  return std::max(std::max<millis>(min_gap, 1), 2 * std::max<millis>(last_running, 0));
}

millis next_look_age(const duration_dist& d, millis last_running, const backlog_poll_settings& s) noexcept {
  const millis a = std::max<millis>(last_running, 0);
  const millis min_gap = std::max<millis>(s.min_gap, 1);
  millis lo = a + min_gap;
  millis hi = a + std::max(s.max_gap, min_gap);
  if (s.probe) hi = std::min(hi, probe_ladder_age(a, min_gap));
  hi = std::max(hi, lo);
  const double worth = std::max(s.poll_worth_ms, 0.0);
  if (expected_unseen_ms(d, a, lo) >= worth) return lo;
  if (expected_unseen_ms(d, a, hi) < worth) return hi;
  // expected_unseen_ms is increasing in t: bisect to the millisecond.
  while (hi - lo > 1) {
    const millis mid = lo + (hi - lo) / 2;
    (expected_unseen_ms(d, a, mid) < worth ? lo : hi) = mid;
  }
  return hi;
}

double budget_pressure(double planned_per_second, double budget_per_second, double headroom) noexcept {
  const double allowed = std::max(budget_per_second, 1e-9) * std::clamp(headroom, 0.01, 1.0);
  if (!(planned_per_second > allowed)) return 1.0;
  const double over = planned_per_second / allowed;
  return over * over;
}

}  // namespace vidq::engine
