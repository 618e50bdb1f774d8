#include "vidq/engine/duration_fit.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace vidq::engine {
namespace {

constexpr double z90 = 1.2815515655446004;
constexpr double inv_sqrt_2pi = 0.3989422804014327;
constexpr double sigma_min = 0.05;
constexpr double sigma_max = 3.0;

double pdf(double z) { return std::isinf(z) ? 0.0 : inv_sqrt_2pi * std::exp(-0.5 * z * z); }

// P(a < Z <= b) for standard normal Z, accurate in both tails (erfc of the far side).
double mass(double a, double b) {
  if (a >= 0) return 0.5 * (std::erfc(a / std::sqrt(2.0)) - std::erfc(b / std::sqrt(2.0)));
  if (b <= 0) return 0.5 * (std::erfc(-b / std::sqrt(2.0)) - std::erfc(-a / std::sqrt(2.0)));
  return 1.0 - 0.5 * std::erfc(-a / std::sqrt(2.0)) - 0.5 * std::erfc(b / std::sqrt(2.0));
}

// z·φ(z), 0 at ±∞.
double zpdf(double z) { return std::isinf(z) ? 0.0 : z * pdf(z); }

// E[Z] and E[Z²] of a standard normal truncated to (a, b].
struct moments {
  double m1, m2;
};
moments truncated(double a, double b) {
  const double p = mass(a, b);
  if (p > 1e-12) {
    const double m1 = (pdf(a) - pdf(b)) / p;
    const double m2 = 1.0 + (zpdf(a) - zpdf(b)) / p;
    return {m1, std::max(m2, m1 * m1)};
  }
  // The interval lies far in a tail of the current fit: all its mass sits at the end nearest
  // the centre (the tail decays faster than any interval is long).
  const double edge = a >= 0 ? a : (std::isinf(b) ? a : b);
  if (std::isinf(edge)) return {0.0, 1.0};
  return {edge, edge * edge};
}

}  // namespace

duration_fit fit_duration(std::span<const censored_duration> oldest_first, const duration_dist& prior,
                          const fit_options& options, std::span<const censored_duration> current,
                          double current_weight) {
  struct log_interval {
    double lo, hi, w;  // ln(ms); lo = -inf for at_least <= 0, hi = +inf for still running
  };
  std::vector<log_interval> obs;
  obs.reserve(oldest_first.size());
  const double n = static_cast<double>(oldest_first.size());
  double total_weight = 0;
  for (std::size_t i = 0; i < oldest_first.size(); ++i) {
    const auto& o = oldest_first[i];
    if (o.at_most && (*o.at_most <= 0 || *o.at_most <= o.at_least)) continue;
    const double age = n - 1.0 - static_cast<double>(i);  // newer observations after this one
    const double w = std::exp2(-age / std::max(options.half_life, 1e-9));
    const double lo = o.at_least > 0 ? std::log(static_cast<double>(o.at_least)) : -std::numeric_limits<double>::infinity();
    const double hi = o.at_most ? std::log(static_cast<double>(*o.at_most)) : std::numeric_limits<double>::infinity();
    obs.push_back({lo, hi, w});
    total_weight += w;
  }
  // Tasks still running, at the average weight of a finished one: the decay is a stand-in
  // for time, and they belong to the same stretch of time as the observations around them.
  const double average = obs.empty() ? 1.0 : total_weight / static_cast<double>(obs.size());
  for (const auto& o : current) {
    if (o.at_least <= 0 || o.at_most) continue;
    const double w = std::max(current_weight, 0.0) * average;
    obs.push_back({std::log(static_cast<double>(o.at_least)), std::numeric_limits<double>::infinity(), w});
    total_weight += w;
  }

  const double mu0 = std::log(static_cast<double>(std::max<millis>(prior.median, 1)));
  const double sigma0 = std::clamp(prior.sigma(), sigma_min, sigma_max);
  const double k = std::max(options.prior_weight, 1e-9);

  duration_fit fit;
  fit.weight = total_weight;
  double mu = mu0, sigma = sigma0;
  if (options.start && std::isfinite(options.start->mu) && std::isfinite(options.start->sigma)) {
    mu = options.start->mu;
    sigma = std::clamp(options.start->sigma, sigma_min, sigma_max);
  }
  for (int it = 0; it < options.max_iterations; ++it) {
    // E-step: the expected ln(duration) and its square within each interval under (μ, σ).
    double s1 = 0, s2 = 0, sw = 0;
    for (const auto& o : obs) {
      const auto m = truncated((o.lo - mu) / sigma, (o.hi - mu) / sigma);
      const double x1 = mu + sigma * m.m1;
      const double x2 = mu * mu + 2 * mu * sigma * m.m1 + sigma * sigma * m.m2;
      s1 += o.w * x1;
      s2 += o.w * x2;
      sw += o.w;
    }
    // M-step: the weighted normal of those moments. The prior counts k times for the
    // centre and, separately, k times for the spread around the new centre: a prior that is
    // off by ×100 must cost a little bias in μ, not a σ inflated by its own distance.
    const double next_mu = (k * mu0 + s1) / (k + sw);
    const double spread = s2 - 2 * next_mu * s1 + next_mu * next_mu * sw;  // Σ w E[(x − μ)²]
    const double next_sigma =
        std::clamp(std::sqrt(std::max((k * sigma0 * sigma0 + spread) / (k + sw), 0.0)), sigma_min, sigma_max);
    fit.iterations = it + 1;
    const bool settled = std::abs(next_mu - mu) < options.tolerance && std::abs(next_sigma - sigma) < options.tolerance;
    mu = next_mu;
    sigma = next_sigma;
    if (settled) break;
  }
  fit.mu = mu;
  fit.sigma = sigma;
  fit.dist.median = static_cast<millis>(std::llround(std::exp(mu)));
  fit.dist.p90 = std::max(fit.dist.median + 1, static_cast<millis>(std::llround(std::exp(mu + z90 * sigma))));
  return fit;
}

}  // namespace vidq::engine
