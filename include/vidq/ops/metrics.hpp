#pragma once
// What `vidq run` counts while it works, for GET /metrics (issue 5). The daemon bumps these
// from its one io_context thread and the status server reads them on the same thread, so
// plain integers suffice. Gauges that the database knows (jobs by state, spend, oldest
// queued job) are not here: the status server reads them from SQLite at scrape time.
#include "vidq/core/latency_histogram.hpp"

#include <array>
#include <cstdint>
#include <map>
#include <string>

namespace vidq::ops {

// Cumulative histogram with fixed upper bounds in seconds (Prometheus `le` buckets).
class histogram {
 public:
  static constexpr std::array<double, 12> bounds{5, 10, 20, 30, 60, 90, 120, 180, 300, 600, 1200, 3600};
  void observe(double seconds) {
    ++count_;
    sum_ += seconds;
    for (std::size_t i = 0; i < bounds.size(); ++i) {
      if (seconds <= bounds[i]) ++buckets_[i];
    }
  }
  std::uint64_t bucket(std::size_t i) const { return buckets_[i]; }  // cumulative: ≤ bounds[i]
  std::uint64_t count() const { return count_; }
  double sum() const { return sum_; }

 private:
  std::array<std::uint64_t, bounds.size()> buckets_{};
  std::uint64_t count_ = 0;
  double sum_ = 0;
};

// Label values → count. Keys are short fixed words (outcomes) or provider codes.
using counter_family = std::map<std::string, std::uint64_t, std::less<>>;

struct metrics {
  // Outcome words: submits  accepted | retry | rate_limited | paused | failed | ambiguous
  //                polls    running | succeeded | failed | retry | paused | deadline | expired
  //                downloads ok | retry | expired | refetch | failed
  counter_family submits;
  counter_family polls;
  counter_family downloads;
  counter_family provider_errors;  // error_code of every non-accepted provider reply
  // Account circuit breaker: opened | probe_failed | closed (engine/breaker.hpp)
  counter_family breaker;
  // [[notify]] delivery attempts: delivered | failed | gave_up (targets: `vidq notify list`)
  counter_family notices;
  std::uint64_t download_bytes = 0;
  histogram job_duration;          // submitted_at → succeeded, seconds
  std::uint64_t loop_ticks = 0;    // scheduler passes; a stuck loop stops counting
  latency_histogram loop_tick;     // wall time of each scheduler pass (steady clock)

  static void bump(counter_family& family, std::string_view label, std::uint64_t by = 1) {
    auto it = family.find(label);
    if (it == family.end()) it = family.emplace(std::string(label), 0).first;
    it->second += by;
  }
};

}  // namespace vidq::ops
