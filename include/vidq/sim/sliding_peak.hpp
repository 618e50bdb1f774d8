#pragma once
// The most events seen in any window of `window_ms` milliseconds: how the simulator checks a
// client's poll rate against a budget such as "10 per second per account". A window ending
// at t covers [t - window_ms + 1, t], so events exactly window_ms apart never share one:
// a client polling every 100 ms peaks at 10 per 1000 ms window, not 11. Pure; O(1)
// amortized per event, and it keeps only the events of the latest window.

#include "vidq/core/clock.hpp"

#include <cstdint>
#include <deque>

namespace vidq::sim {

class sliding_peak {
 public:
  explicit sliding_peak(millis window_ms);  // a window under 1 ms is taken as 1 ms

  // One event at `t`. A `t` before the latest event (a wall clock stepped back) counts as
  // happening at the latest event's time, so the window never runs backwards.
  void add(millis t);
  std::uint64_t peak() const { return peak_; }
  millis window_ms() const { return window_ms_; }

 private:
  millis window_ms_;
  std::deque<millis> recent_;  // event times inside the window ending at the latest event
  std::uint64_t peak_ = 0;
};

}  // namespace vidq::sim
