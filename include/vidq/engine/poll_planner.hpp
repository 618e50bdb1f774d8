#pragma once
// When to look at a task next while its lane has work waiting for a slot (issue 13). Every
// millisecond a finished task goes unseen is then a paid slot left idle, so the question is
// the classic one of value of information: poll when the slot time expected to have been
// lost since the last look reaches what one poll is worth.
//
//   next look at age t such that  E[(t − D)⁺ | D > a] = worth
//
// where D is the task's run time (the learned log-normal of its model and parameters) and a
// the age at which a poll last saw it running. Early on, while the hazard of finishing is
// tiny, that makes the gap long; around the median it is about √(2·worth / hazard). On the
// API.md §12 distributions this rule is within a poll or two per job of the optimal schedule
// for every mean-delay/polls trade-off (bench/poll_frontier.py prints both); a fixed
// interval needs ~1.4× its polls for the same detection delay because it also polls while
// nothing is likely to have finished.
//
// The GET budget is shared by an account's tasks: when what the tasks' plans would spend
// exceeds it, every poll must buy proportionally more (budget_pressure), which stretches all
// gaps by the same factor: the polls go where the hazard is highest, as the Lagrangian of
// "least idle time for at most B polls per second" asks. Lanes with nothing waiting keep the
// frugal schedule of poll_schedule.hpp (idle slots cost nothing then).
//
// While the duration fit has seen few completions of a kind, the plan is capped by a
// doubling probe ladder (min_gap, 2·min_gap, 4·min_gap, … from submit): a prior 100× too
// slow then costs at most a doubling of the first tasks' run time instead of 25× (the first
// look of the rule under that prior), and what the ladder sees teaches the fit.
// docs/ENGINE_DECISIONS.md §6 has the figures.

#include "vidq/core/clock.hpp"
#include "vidq/engine/expected_duration.hpp"

namespace vidq::engine {

// E[(t − D)⁺ | D > a] in ms for D log-normal per `d`: the slot time expected to be lost
// between a look at age `a` that saw the task running and the next look at age `t`.
// 0 for t ≤ a.
double expected_unseen_ms(const duration_dist& d, millis a, millis t) noexcept;

struct backlog_poll_settings {
  double poll_worth_ms = 35;  // slot time one GET is worth (polling.backlog_poll_worth_ms)
  millis min_gap = 2'000;     // polling.min_interval
  millis max_gap = 60'000;    // polling.max_interval
  bool probe = false;         // cap by the probe ladder (the fit is not yet confident)
};

// The probe ladder's next age after a look at age `last_running`: max(min_gap, 2 · age).
millis probe_ladder_age(millis last_running, millis min_gap) noexcept;

// The age of the next look at a task seen running at age `last_running` (0: just
// submitted): where expected_unseen_ms reaches the poll's worth, within
// [last_running + min_gap, last_running + max_gap], and with `probe` at most
// max(min_gap, 2 · last_running). Deterministic; about 60 log-normal evaluations.
millis next_look_age(const duration_dist& d, millis last_running, const backlog_poll_settings& s) noexcept;

// The factor (≥ 1) by which what a poll must buy grows when an account's tasks would spend
// `planned_per_second` GETs against a budget of `budget_per_second`: gaps grow as the square
// root of the worth, so (planned / (headroom · budget))² brings the spend under the budget
// with `headroom` left for retries and re-polls.
double budget_pressure(double planned_per_second, double budget_per_second, double headroom = 0.8) noexcept;

}  // namespace vidq::engine
