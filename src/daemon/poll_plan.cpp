// When each processing task is looked at next, and what the looks teach about run times
// (issue 13; docs/ENGINE_DECISIONS.md §6). The decisions are engine/poll_planner.hpp (lanes
// with work waiting), engine/poll_schedule.hpp (lanes without) and engine/duration_learner.hpp;
// this file only feeds them the row, the lane's state and the account's GET spend.
#include "vidq/daemon/scheduler.hpp"
#include "vidq/engine/poll_planner.hpp"
#include "vidq/ops/log.hpp"

#include <boost/json/parse.hpp>

#include <algorithm>
#include <map>
#include <cmath>

namespace vidq::daemon {

scheduler::job_kind scheduler::kind_of(const store::job_row& row) const {
  boost::system::error_code ec;
  auto params = boost::json::parse(row.params.empty() ? "{}" : row.params, ec);
  const boost::json::object empty;
  const auto& obj = (!ec && params.is_object()) ? params.as_object() : empty;
  auto prior = engine::builtin_duration(row.model, obj);
  const double scale = cfg_.polling.duration_scale;
  prior.median = std::max<millis>(1, static_cast<millis>(static_cast<double>(prior.median) * scale));
  prior.p90 = std::max<millis>(prior.median + 1, static_cast<millis>(static_cast<double>(prior.p90) * scale));
  return {engine::duration_key(row.model, obj), prior};
}

engine::duration_dist scheduler::expected_for(const store::job_row& row) {
  const auto kind = kind_of(row);
  return learner_.fit(kind.key, kind.prior).dist;
}

void scheduler::note_submitted(const store::job_row& row) {
  const auto kind = kind_of(row);
  if (learner_.next_task_probes(kind.key, kind.prior)) probing_jobs_.insert(row.id);
}

bool scheduler::hurried(const store::job_row& row) {
  if (!cfg_.polling.hurry_when_queued) return false;
  const std::pair<std::string, std::string> lane{row.account, row.model};
  // A lane that had work waiting stays dense until its last task is in: the batch's user
  // waits for that one too, and the drain is a few tasks' polls.
  if (backlogged_.contains(lane)) dense_lanes_.insert(lane);
  return dense_lanes_.contains(lane);
}

millis scheduler::plan_poll(const store::job_row& row, millis submitted, millis t, int polls_done) {
  const auto kind = kind_of(row);
  const millis age = std::max<millis>(t - submitted, 0);  // the look just made saw it running
  learner_.note_running(kind.key, row.id, age);
  const auto expected = learner_.fit(kind.key, kind.prior).dist;
  const bool probe = probing_jobs_.contains(row.id);
  millis at;
  double pressure = 1.0;
  if (hurried(row)) {
    engine::backlog_poll_settings s;
    s.min_gap = cfg_.polling.min_interval;
    s.max_gap = cfg_.polling.max_interval;
    s.probe = probe;
    const auto rate = planned_rate_.find(row.account);
    pressure =
        engine::budget_pressure(rate == planned_rate_.end() ? 0.0 : rate->second, cfg_.polling.requests_per_second);
    s.poll_worth_ms = cfg_.polling.backlog_poll_worth_ms * pressure;
    at = submitted + engine::next_look_age(expected, age, s);
  } else {
    at = engine::next_poll_at(submitted, t, polls_done, expected, cfg_.polling, random01());
    if (probe) at = std::min(at, submitted + engine::probe_ladder_age(age, cfg_.polling.min_interval));
  }
  // Never past the deadline: the last look happens exactly at it.
  at = std::min(at, std::max(t, submitted + engine::poll_deadline(expected, cfg_.polling)));
  note_plan(row, t, std::max<millis>(at, t + 1), pressure);
  return at;
}

void scheduler::note_plan(const store::job_row& row, millis t, millis at, double pressure) {
  // Counted at the worth the config asks for, not the one pressure raised: gaps go as
  // √worth, so this is what the task would spend unpressured, and the pressure computed
  // from the sum stays put instead of swinging with its own effect.
  const double per_second = 1000.0 / static_cast<double>(at - t) * std::sqrt(pressure);
  auto [it, inserted] = poll_plans_.try_emplace(row.id, poll_plan{row.account, 0.0, at});
  if (!inserted) planned_rate_[it->second.account] -= it->second.per_second;
  it->second = {row.account, per_second, at};
  planned_rate_[row.account] += per_second;
}

void scheduler::forget_task(std::int64_t id) {
  probing_jobs_.erase(id);
  learner_.forget_running(id);
  auto it = poll_plans_.find(id);
  if (it == poll_plans_.end()) return;
  planned_rate_[it->second.account] -= it->second.per_second;
  poll_plans_.erase(it);
}

void scheduler::forget_stale_plans() {
  // Rows that left `processing` without a poll of ours seeing it (an operator's cancel):
  // their plan would count against the account's GET spend forever.
  const millis t = now();
  const millis stale = 2 * std::max(cfg_.polling.max_interval, cfg_.polling.min_interval);
  std::vector<std::int64_t> gone;
  for (const auto& [id, plan] : poll_plans_) {
    if (plan.at + stale < t && !busy_jobs_.contains(id)) gone.push_back(id);
  }
  for (const auto id : gone) forget_task(id);
}

void scheduler::observe_duration(const store::job_row& row, millis submitted, std::optional<millis> detected) {
  engine::censored_duration seen;
  seen.at_least = std::max<millis>(row.seen_running_at.value_or(submitted) - submitted, 0);
  if (detected)
    seen.at_most = std::max(*detected - submitted, seen.at_least + 1);
  else if (seen.at_least <= 0)
    return;  // never seen running: nothing learned
  learner_.observe(kind_of(row).key, seen);
}

boost::asio::awaitable<void> scheduler::load_duration_samples() {
  // What migration 0007's triggers kept of earlier runs, newest first; fed oldest first so
  // the fit weighs the recent ones most. The learner keeps its window per kind.
  auto samples = co_await store_.recent_duration_samples(20'000);
  if (!samples) {
    log::warn("duration_samples_unreadable", {{"error", samples.error().message()}});
    co_return;
  }
  store::job_row probe;
  std::map<std::string, engine::duration_dist> priors;
  for (auto it = samples->rbegin(); it != samples->rend(); ++it) {
    probe.model = it->model;
    probe.params = it->params;
    auto kind = kind_of(probe);
    learner_.observe(kind.key, {it->at_least, it->at_most});
    priors.insert_or_assign(kind.key, kind.prior);
  }
  // Fitted now, so that the status server shows what was learned before the first job.
  for (const auto& [key, prior] : priors) learner_.fit(key, prior);
  if (!priors.empty()) log::info("durations_learned", {{"samples", samples->size()}, {"kinds", priors.size()}});
}

std::vector<duration_view> scheduler::learned_durations() const {
  std::vector<duration_view> out;
  for (const auto& k : learner_.summary())
    out.push_back({k.key, k.fitted.median, k.fitted.p90, k.prior.median, k.observations});
  return out;
}

}  // namespace vidq::daemon
