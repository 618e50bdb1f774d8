#pragma once
// Observations of the simulator that are not per task (private to src/sim).

#include "vidq/sim/simulator.hpp"
#include "vidq/sim/sliding_peak.hpp"

#include <cstdint>
#include <map>
#include <string>

namespace vidq::sim {

struct simulator::counters {
  std::uint64_t tasks_created = 0;
  std::uint64_t polls = 0;
  // Authenticated polls of one key and their peak rates, so a benchmark can check that the
  // client kept to its per-account GET budget. Two windows: one second of the simulator's
  // clock, and 1000 x time_scale ms, the "second" of a time-scaled run.
  struct poll_rate {
    std::uint64_t polls = 0;
    sliding_peak per_second;
    sliding_peak per_scaled_second;
  };
  std::map<std::size_t, poll_rate> polls_by_key;    // by key index; a key that never polled is absent
  std::map<std::string, std::uint64_t> rejections;  // by business code (or HTTP status)
  struct rid {
    std::uint64_t submissions = 0;
    std::uint64_t tasks = 0;
  };
  std::map<std::string, rid> request_ids;
  std::map<std::string, std::uint64_t> faults;  // injected, by knob name
  std::uint64_t video_requests = 0, video_completed = 0, cover_completed = 0;
  std::uint64_t range_requests = 0, truncated = 0, expired = 0, interrupted = 0;
};

}  // namespace vidq::sim
