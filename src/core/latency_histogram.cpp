#include "vidq/core/latency_histogram.hpp"

#include <algorithm>
#include <cmath>

namespace vidq {

void latency_histogram::record(double ms) noexcept {
  if (!(ms > 0)) ms = 0;  // also NaN
  const auto i = static_cast<std::size_t>(std::lower_bound(bounds_ms.begin(), bounds_ms.end(), ms) - bounds_ms.begin());
  ++counts_[i];
  ++count_;
  sum_ms_ += ms;
  max_ms_ = std::max(max_ms_, ms);
}

std::uint64_t latency_histogram::cumulative(std::size_t i) const noexcept {
  std::uint64_t n = 0;
  for (std::size_t b = 0; b <= std::min(i, buckets - 1); ++b) n += counts_[b];
  return n;
}

double latency_histogram::quantile(double q) const noexcept {
  if (count_ == 0) return 0;
  if (!(q > 0)) q = 0;
  q = std::min(q, 1.0);
  // The rank of the q-quantile among count_ sorted durations, 1-based.
  const auto rank = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_))));
  std::uint64_t seen = 0;
  for (std::size_t b = 0; b < bounds_ms.size(); ++b) {
    seen += counts_[b];
    if (seen >= rank) return bounds_ms[b];
  }
  return max_ms_;
}

}  // namespace vidq
