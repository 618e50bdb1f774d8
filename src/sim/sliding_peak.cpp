#include "vidq/sim/sliding_peak.hpp"

#include <algorithm>

namespace vidq::sim {

sliding_peak::sliding_peak(millis window_ms) : window_ms_(std::max<millis>(1, window_ms)) {}

void sliding_peak::add(millis t) {
  if (!recent_.empty()) t = std::max(t, recent_.back());
  // Differences of event times, not t - window_ms_, which can overflow for a huge window.
  while (!recent_.empty() && t - recent_.front() >= window_ms_) recent_.pop_front();
  recent_.push_back(t);
  peak_ = std::max<std::uint64_t>(peak_, recent_.size());
}

}  // namespace vidq::sim
