#pragma once
// How the poll benchmarks judge a lane (docs/PERFORMANCE.md "Poll policy"): its makespan at
// the provider against an oracle's on the same run times, and the plain statistics they print.

#include "vidq/core/clock.hpp"

#include <optional>
#include <string>
#include <vector>

namespace vidq::bench {

// One provider task as the simulator's stats report it (created_at_ms, finished_at_ms).
struct task_rec {
  std::string request_id;
  millis created = 0;
  std::optional<millis> finished;  // nullopt: still running when the stats were read
};

// The makespan of an oracle that list-schedules the tasks' run times, in the order given
// (creation order), on `cap` slots with zero detection delay and zero hand-off. An
// unfinished task counts as a zero run time.
double oracle_makespan(const std::vector<task_rec>& by_creation, int cap);

// First task created → last task finished (or created, if later), at the provider.
double makespan(const std::vector<task_rec>& tasks);

// Oracle makespan / makespan on `cap` slots: 1 is as good as any client could do on these
// run times. Sorts `tasks` by creation. NaN when the lane is empty or nothing finished.
double lane_efficiency(std::vector<task_rec> tasks, int cap);

// Linear interpolation between closest ranks; NaN when empty.
double quantile(std::vector<double> v, double q);
double mean(const std::vector<double>& v);

}  // namespace vidq::bench
