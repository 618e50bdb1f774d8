// Admission pass: for every (account, model) with queued rows, claim as many as its free
// slots allow (AIMD cap, pauses, budget), split across batches by fair_share, and start a
// submit task per claimed row. docs/ENGINE_DECISIONS.md §0 "claim".
#include "vidq/daemon/job_log.hpp"
#include "vidq/daemon/row_spec.hpp"
#include "vidq/daemon/scheduler.hpp"
#include "vidq/engine/routing.hpp"
#include "vidq/ops/log.hpp"
#include "vidq/ops/sd_notify.hpp"
#include "vidq/provider/models.hpp"
#include "vidq/store/sqlite.hpp"

#include <algorithm>
#include <map>
#include <utility>

namespace vidq::daemon {

namespace asio = boost::asio;

asio::awaitable<void> scheduler::admit() {
  const millis t = now();
  // Another connection holds the write lock: claims wait for the next try (the queue stays
  // dirty), and the loop does not spend a busy timeout per lane meanwhile.
  if (!db_may_write()) co_return;
  queue_dirty_ = false;
  next_rescan_ = t + opt_.rescan;
  last_admit_ = t;
  const auto blocked_before = std::exchange(budget_block_, std::nullopt);
  if (spend_day_ != 0 && engine::utc_day_start(t) != spend_day_) {
    // A new UTC day: what the ledger already holds for it (submits still in flight were
    // reserved against yesterday and are charged, if at all, with today's date).
    spend_day_ = engine::utc_day_start(t);
    auto spent = co_await store_.spent_since(spend_day_);
    spend_today_ = spent ? *spent : 0;
  }
  // The DB is the truth for slots; between two awaits memory equals it, so resyncing here
  // costs nothing and heals any drift (a row cancelled by an operator mid-task).
  auto counts = co_await store_.inflight_counts();
  if (counts) admission_.seed(*counts);

  // Results would not fit: jobs stay queued until space returns (check_disk re-dirties).
  if (disk_.admission_paused()) {
    ops::notify_status("submits held: " + disk_.view().reason);
    co_return;
  }
  auto groups = co_await store_.queued_groups();
  if (!groups) {
    log::error("queue_unreadable", {{"error", groups.error().message()}});
    co_return;
  }
  backlogged_.clear();
  // queued_groups() is ordered by (account, model, ...): consecutive runs are lanes. Jobs
  // pinned to an account go first: they can run nowhere else, pool jobs can.
  std::map<std::string, std::vector<store::queue_group>> pool;  // model → its pool groups
  auto begin = groups->begin();
  while (begin != groups->end()) {
    auto end = std::find_if(begin, groups->end(),
                            [&](const auto& g) { return g.account != begin->account || g.model != begin->model; });
    if (engine::asks_for_pool(begin->account, cfg_)) {
      pool[begin->model].insert(pool[begin->model].end(), begin, end);
    } else {
      std::vector<store::queue_group> lane(begin, end);
      co_await admit_lane(begin->account, begin->model, std::move(lane));
    }
    begin = end;
  }
  for (auto& entry : pool) co_await admit_pool(entry.first, std::move(entry.second));
  // A budget block is the scheduler's decision, not a row a trigger could see: its notice
  // is written here, when the block starts (or its reason changes).
  if (budget_block_ && budget_block_ != blocked_before) {
    log::warn("budget_blocked", {{"reason", *budget_block_}});
    auto r = co_await store_.notices().record_budget_blocked(*budget_block_);
    if (!r) log::warn("notice_record_failed", {{"event", "budget_blocked"}, {"error", r.error().message()}});
  }
  // `systemctl status` line (a no-op outside systemd).
  int in_flight = 0;
  for (const auto& [account, model] : admission_.lanes()) in_flight += admission_.in_flight(account, model);
  ops::notify_status(std::to_string(in_flight) + " in flight, " + std::to_string(groups->size()) +
                     " queued groups" + (budget_block_ ? "; " + *budget_block_ : std::string()));
}

void scheduler::claim_refused(const error_code& ec, const std::string& account, const std::string& model) {
  // Busy: nothing happened, the next pass claims (queue_dirty_ keeps it coming).
  queue_dirty_ = true;
  if (note_db_outcome(ec)) return;
  log::error("claim_failed", {{"account", account}, {"model", model}, {"error", ec.message()}});
}

int scheduler::configured_cap(std::string_view account) const {
  const auto* a = cfg_.find_account(account);
  return a ? a->cap() : 0;
}

asio::awaitable<void> scheduler::admit_lane(const std::string& account, const std::string& model,
                                            std::vector<store::queue_group> groups) {
  if (db_lock_.locked()) co_return;  // a claim of this pass met the lock
  if (!clients_.contains(account)) {
    for (const auto& g : groups) {
      const std::string message = "no [[accounts]] entry named '" + account +
                                  "' in the config (or its key could not be loaded); fix the config, reload "
                                  "(SIGHUP) and `vidq retry` the job";
      co_await fail_unclaimable(g, "unknown_account", message);
    }
    co_return;
  }
  const int cap = configured_cap(account);
  int free = admission_.free_slots(account, model, now());
  while (free > 0 && !groups.empty()) {
    const auto plan = fairness_.plan(groups, free);
    if (plan.empty()) break;
    for (const auto& share : plan) {
      const int wanted = co_await affordable(share.group.batch, model, share.count);
      auto drop = [&] { std::erase(groups, share.group); };
      if (wanted <= 0) {
        drop();
        continue;
      }
      auto rows = co_await store_.claim(share.group, wanted, account, cap);
      if (!rows) {
        claim_refused(rows.error(), account, model);
        co_return;
      }
      // Fewer rows than asked: the group has nothing more runnable now (backoff).
      if (static_cast<int>(rows->size()) < wanted) drop();
      free -= static_cast<int>(rows->size());
      co_await start_submits(account, model, share.group.batch, std::move(*rows));
    }
  }
  // Out of slots with rows left: every finished task noticed late now delays a queued job.
  if (free <= 0 && !groups.empty()) backlogged_.emplace(account, model);
}

std::vector<const ops::account_config*> scheduler::pool_accounts(std::string_view model) const {
  std::vector<const ops::account_config*> out;
  if (provider::find_model(model) == nullptr) return out;
  for (const auto& a : cfg_.accounts) {
    if (clients_.contains(a.name) && a.serves(model)) out.push_back(&a);
  }
  return out;
}

asio::awaitable<void> scheduler::admit_pool(const std::string& model, std::vector<store::queue_group> groups) {
  if (db_lock_.locked()) co_return;  // a claim of this pass met the lock
  const auto accounts = pool_accounts(model);
  if (accounts.empty()) {
    // An unknown model fails with the validation's words; a known one that no account
    // serves waits for a config change (`vidq run --exit-when-idle` says so, exit 4).
    if (provider::find_model(model) == nullptr) {
      for (const auto& g : groups) co_await fail_unclaimable(g, "invalid_request", "unknown model");
    }
    co_return;
  }
  const millis t = now();
  std::vector<engine::route_candidate> candidates;
  std::vector<int> caps;  // per candidate; read now, as `accounts` points into cfg_
  int free = 0;
  for (const auto* a : accounts) {
    candidates.push_back({a->name, admission_.free_slots(a->name, model, t)});
    caps.push_back(a->cap());
    free += candidates.back().free;
  }
  std::size_t& turn = route_turn_[model];
  while (free > 0 && !groups.empty()) {
    const auto plan = fairness_.plan(groups, free);
    if (plan.empty()) break;
    for (const auto& share : plan) {
      const int wanted = co_await affordable(share.group.batch, model, share.count);
      if (wanted <= 0) {
        std::erase(groups, share.group);
        continue;
      }
      const auto spread = engine::spread(candidates, wanted, turn);
      int claimed = 0;
      for (std::size_t i = 0; i < candidates.size(); ++i) {
        if (spread[i] == 0) continue;
        auto rows = co_await store_.claim(share.group, spread[i], candidates[i].account, caps[i]);
        if (!rows) {
          claim_refused(rows.error(), candidates[i].account, model);
          co_return;
        }
        const int n = static_cast<int>(rows->size());
        candidates[i].free -= n;
        free -= n;
        claimed += n;
        co_await start_submits(candidates[i].account, model, share.group.batch, std::move(*rows));
        if (n < spread[i]) break;  // the group ran dry
      }
      if (claimed < wanted) std::erase(groups, share.group);
    }
  }
  if (free <= 0 && !groups.empty()) {
    for (const auto& c : candidates) backlogged_.emplace(c.account, model);
  }
}

asio::awaitable<void> scheduler::start_submits(const std::string& account, const std::string& model,
                                               const std::string& batch, std::vector<store::job_row> rows) {
  if (rows.empty()) co_return;
  const int n = static_cast<int>(rows.size());
  admission_.on_claimed(account, model, n);
  const std::int64_t price = engine::price_of(model, cfg_.budget);
  spend_today_ += price * n;
  if (cfg_.budget.batch_limit) {
    const std::int64_t spent = co_await batch_spend(batch);
    batch_spend_[batch] = spent + price * n;
  }
  for (auto& row : rows) {
    busy_jobs_.insert(row.id);
    spawn(task_slot::kind::submit, submit_task(std::move(row)));
  }
}

asio::awaitable<void> scheduler::fail_unclaimable(const store::queue_group& group, std::string_view code,
                                                  std::string_view message) {
  // Bounded per pass so a million bad rows cannot stall the loop; the next pass continues.
  // These rows never hold a provider slot (they fail at once): no lane capacity applies, so
  // the cap passed is the claim's own limit.
  constexpr int chunk = 100;
  for (int round = 0; round < 10; ++round) {
    auto rows = co_await store_.claim(group, chunk, group.account, chunk);
    if (!rows) {
      claim_refused(rows.error(), group.account, group.model);
      co_return;
    }
    if (rows->empty()) co_return;
    for (const auto& row : *rows) {
      // What is wrong with the job itself is said first: an unknown model is the model's
      // fault before it is the routing's (issue 10).
      row_problem problem;
      const bool valid = spec_from_row(row, problem).has_value();
      const std::string_view why_code = valid ? code : std::string_view(problem.error_code);
      const std::string_view why = valid ? message : std::string_view(problem.message);
      auto failed = co_await store_.record_failed(row, job_state::submitting, why_code, why);
      if (is_true(failed)) {
        log_job(log::level::warn, "job_failed", row, {{"code", why_code}, {"message", why}});
      } else if (!failed && note_db_outcome(failed.error())) {
        // Claimed but not failed: a task finishes it once the lock is gone.
        busy_jobs_.insert(row.id);
        spawn(task_slot::kind::submit, fail_submitting(row, std::string(why_code), std::string(why), false));
      }
    }
    if (rows->size() < static_cast<std::size_t>(chunk)) co_return;
  }
  queue_dirty_ = true;
}

asio::awaitable<int> scheduler::affordable(const std::string& batch, const std::string& model, int wanted) {
  const auto& budget = cfg_.budget;
  if (!budget.daily_limit && !budget.batch_limit) co_return wanted;
  const std::int64_t price = engine::price_of(model, budget);
  if (price <= 0) co_return wanted;
  if (spend_day_ == 0) spend_day_ = engine::utc_day_start(now());
  std::int64_t n = wanted;
  std::int64_t batch_spent = 0;
  if (budget.batch_limit) batch_spent = co_await batch_spend(batch);
  const engine::spend_snapshot spend{spend_today_, batch_spent};
  if (budget.daily_limit) n = std::min(n, (*budget.daily_limit - spend.today) / price);
  if (budget.batch_limit) n = std::min(n, (*budget.batch_limit - spend.batch) / price);
  if (n <= 0) {
    budget_block_ = engine::budget_blocks(budget, batch, spend, price);
    if (!budget_block_) budget_block_ = "budget exhausted";
    co_return 0;
  }
  co_return static_cast<int>(n);
}

asio::awaitable<std::int64_t> scheduler::batch_spend(const std::string& batch) {
  if (auto it = batch_spend_.find(batch); it != batch_spend_.end()) co_return it->second;
  // The ledger's charges of the batch (charges_batch index), every attempt; then kept up to
  // date in memory by start_submits() and refund().
  auto spent = co_await store_.spent_by_batch(batch);
  if (!spent) log::error("spend_unreadable", {{"batch", batch}, {"error", spent.error().message()}});
  batch_spend_[batch] = spent ? *spent : 0;
  co_return batch_spend_[batch];
}

}  // namespace vidq::daemon
