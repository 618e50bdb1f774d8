#include "support/oracle.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <queue>

namespace vidq::bench {

double oracle_makespan(const std::vector<task_rec>& by_creation, int cap) {
  std::priority_queue<double, std::vector<double>, std::greater<>> free_at;
  for (int i = 0; i < cap; ++i) free_at.push(0);
  double end = 0;
  for (const auto& t : by_creation) {
    const double run = t.finished ? static_cast<double>(*t.finished - t.created) : 0;
    const double start = free_at.top();
    free_at.pop();
    free_at.push(start + run);
    end = std::max(end, start + run);
  }
  return end;
}

double makespan(const std::vector<task_rec>& tasks) {
  if (tasks.empty()) return 0;
  millis first = tasks.front().created;
  millis last = tasks.front().created;
  for (const auto& t : tasks) {
    first = std::min(first, t.created);
    last = std::max({last, t.created, t.finished.value_or(t.created)});
  }
  return static_cast<double>(last - first);
}

double lane_efficiency(std::vector<task_rec> tasks, int cap) {
  std::stable_sort(tasks.begin(), tasks.end(), [](const auto& a, const auto& b) { return a.created < b.created; });
  const double span = makespan(tasks);
  if (!(span > 0)) return std::nan("");
  return oracle_makespan(tasks, cap) / span;
}

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const auto hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

double mean(const std::vector<double>& v) {
  return v.empty() ? std::nan("") : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

}  // namespace vidq::bench
