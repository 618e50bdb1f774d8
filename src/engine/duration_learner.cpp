#include "vidq/engine/duration_learner.hpp"

#include <vector>

namespace vidq::engine {

void duration_learner::observe(const std::string& key, const censored_duration& seen) {
  auto& k = kinds_[key];
  k.seen.push_back(seen);
  while (k.seen.size() > options_.window) k.seen.pop_front();
  k.stale = true;
}

const duration_fit& duration_learner::fit(const std::string& key, const duration_dist& prior) {
  auto& k = kinds_[key];
  const bool prior_changed = k.fitted_prior.median != prior.median || k.fitted_prior.p90 != prior.p90;
  if (k.stale || prior_changed) {
    fit_options o = options_.fit;
    if (!prior_changed && k.fitted.iterations > 0) o.start = log_normal_params{k.fitted.mu, k.fitted.sigma};
    const std::vector<censored_duration> oldest_first(k.seen.begin(), k.seen.end());
    k.fitted = fit_duration(oldest_first, prior, o);
    k.fitted_prior = prior;
    k.stale = false;
  }
  return k.fitted;
}

bool duration_learner::next_task_probes(const std::string& key, const duration_dist& prior) {
  const double weight = fit(key, prior).weight;
  auto& k = kinds_[key];
  ++k.tasks;
  if (weight < options_.confident_weight) return true;
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
