#pragma once
// Wall durations of a short, frequent operation (the scheduler's pass) in fixed buckets:
// recording costs a few compares and no allocation, and the daemon keeps it for its whole
// life. Pure; the daemon records into it, GET /metrics exposes it as a Prometheus histogram
// (vidq_loop_tick_seconds) and `daemon_stopped` logs its p99 and max.

#include <array>
#include <cstddef>
#include <cstdint>

namespace vidq {

class latency_histogram {
 public:
  // Inclusive upper bounds in milliseconds (Prometheus `le`); one more bucket above the last
  // holds everything longer (+Inf).
  static constexpr std::array<double, 12> bounds_ms{0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 50, 100, 250, 1000};
  static constexpr std::size_t buckets = bounds_ms.size() + 1;

  // A negative or NaN duration counts as 0.
  void record(double ms) noexcept;

  std::uint64_t count() const noexcept { return count_; }
  double sum_ms() const noexcept { return sum_ms_; }
  double max() const noexcept { return max_ms_; }  // 0 before the first record
  // Durations ≤ bounds_ms[i] (i < bounds_ms.size()), or all of them (i == bounds_ms.size()).
  std::uint64_t cumulative(std::size_t i) const noexcept;

  // The upper bound of the bucket holding the q-quantile (q in [0, 1], clamped): an upper
  // bound on the true quantile. The +Inf bucket answers max(). 0 when nothing was recorded.
  double quantile(double q) const noexcept;

 private:
  std::array<std::uint64_t, buckets> counts_{};  // per bucket, not cumulative
  std::uint64_t count_ = 0;
  double sum_ms_ = 0;
  double max_ms_ = 0;
};

}  // namespace vidq
