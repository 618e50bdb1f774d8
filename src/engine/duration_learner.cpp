#include "vidq/engine/duration_learner.hpp"

#include <vector>

namespace vidq::engine {

void duration_learner::observe(const std::string& key, const censored_duration& seen) {
  auto& k = kinds_[key];
  k.seen.push_back(seen);
  while (k.seen.size() > options_.window) k.seen.pop_front();
  k.stale = true;
}

void duration_learner::note_running(const std::string& key, std::int64_t task, millis age) {
  if (age <= 0) return;  // "longer than 0" says nothing
  kinds_[key].running.insert_or_assign(task, age);
  running_kind_.insert_or_assign(task, key);
}

void duration_learner::forget_running(std::int64_t task) {
  auto it = running_kind_.find(task);
  if (it == running_kind_.end()) return;
  if (auto k = kinds_.find(it->second); k != kinds_.end()) k->second.running.erase(task);
  running_kind_.erase(it);
}

const duration_fit& duration_learner::fit(const std::string& key, const duration_dist& prior) {
  auto& k = kinds_[key];
  const bool prior_changed = k.fitted_prior.median != prior.median || k.fitted_prior.p90 != prior.p90;
  if (k.stale || prior_changed) {
    fit_options o = options_.fit;
    if (!prior_changed && k.fitted.iterations > 0) o.start = log_normal_params{k.fitted.mu, k.fitted.sigma};
    const std::vector<censored_duration> oldest_first(k.seen.begin(), k.seen.end());
    // The tasks still running: every stride-th, each weighing for `stride` tasks, so that the
    // fit's cost (linear in them) stays at most a window's worth however many run.
    const std::size_t stride = (k.running.size() + options_.window - 1) / std::max<std::size_t>(options_.window, 1);
    std::vector<censored_duration> running;
    std::size_t index = 0;
    for (const auto& [task, age] : k.running) {
      if (index++ % std::max<std::size_t>(stride, 1) == 0) running.push_back({age, std::nullopt});
    }
    k.fitted = fit_duration(oldest_first, prior, o, running, static_cast<double>(std::max<std::size_t>(stride, 1)));
    k.fitted_prior = prior;
    k.stale = false;
  }
  return k.fitted;
}

bool duration_learner::next_task_probes(const std::string& key, const duration_dist& prior) {
  fit(key, prior);  // so that summary() shows this kind from its first task on
  auto& k = kinds_[key];
  ++k.tasks;
  if (k.seen.size() < options_.confident_observations) return true;
  return options_.probe_every > 0 && k.tasks % static_cast<std::uint64_t>(options_.probe_every) == 0;
}

std::vector<duration_learner::kind_summary> duration_learner::summary() const {
  std::vector<kind_summary> out;
  for (const auto& [key, k] : kinds_) {
    if (k.fitted_prior.median <= 0) continue;  // observed, never fitted yet
    out.push_back({key, k.fitted.dist, k.fitted_prior, k.seen.size()});
  }
  return out;
}

std::size_t duration_learner::observations(const std::string& key) const {
  auto it = kinds_.find(key);
  return it == kinds_.end() ? 0 : it->second.seen.size();
}

}  // namespace vidq::engine
