// Account-wide faults (engine/breaker.hpp, docs/DAEMON.md "Account-wide faults"): the
// breaker decides, this file pauses the account, persists the pause and runs the probes.
#include "vidq/daemon/scheduler.hpp"
#include "vidq/ops/log.hpp"

#include <cstdio>

namespace vidq::daemon {

namespace {

// A task id no provider has: polling it creates nothing and costs nothing, and a provider
// answers it with its own "task not found", which is all the probe needs to hear.
std::string probe_task_id(double r) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "vidq-probe-%012llx", static_cast<unsigned long long>(r * 281474976710655.0));
  return buf;
}

}  // namespace

boost::asio::awaitable<bool> scheduler::note_account_fault(const std::string& account, const provider::verdict& v) {
  if (v.fault == provider::account_fault::none) co_return breakers_.is_open(account);
  const std::string reason = "endpoint unreachable (" + std::string(provider::to_string(v.fault)) + "): " + v.message;
  if (!breakers_.on_fault(account, v.fault, reason, now())) co_return breakers_.is_open(account);
  metrics_.bump(metrics_.breaker, "opened");
  log::warn("account_breaker_open", {{"account", account},
                                     {"fault", provider::to_string(v.fault)},
                                     {"code", v.error_code},
                                     {"message", v.message},
                                     {"detail", "jobs wait in the queue with their attempts; probing the endpoint"}});
  // An operator's or the provider's pause stays in place (the breaker then only holds this
  // account's polls): writing ours over it would let the probe lift a pause it never set.
  if (admission_.is_paused(account, now())) co_return true;
  auto r = co_await store_.pause(account, reason, std::nullopt, store::paused_by::breaker);
  if (!r) log::error("pause_not_saved", {{"account", account}, {"error", r.error().message()}});
  admission_.pause(account, reason, std::nullopt);
  queue_dirty_ = true;
  co_return true;
}

void scheduler::start_probes() {
  for (auto& account : breakers_.take_due_probes(now())) {
    spawn(task_slot::kind::poll, probe_task(std::move(account)));
  }
}

boost::asio::awaitable<void> scheduler::probe_task(std::string account) {
  auto it = clients_.find(account);
  if (it == clients_.end()) {  // left the config in a reload: nothing to probe
    breakers_.close(account);
    co_return;
  }
  const std::string task_id = probe_task_id(random01());
  const provider::poll_context ctx;  // no submit time: "not found" is the expected answer
  auto reply = co_await it->second->poll(task_id, ctx);
  if (stopping_) co_return;
  const auto* v = std::get_if<provider::verdict>(&reply);
  if (v && v->error_code == "cancelled") co_return;
  const bool still_down = v && v->fault != provider::account_fault::none;
  const millis t = now();
  breakers_.on_probe_result(account, !still_down, still_down ? v->message : std::string(), t);
  if (still_down) {
    metrics_.bump(metrics_.breaker, "probe_failed");
    log::info("account_probe_failed", {{"account", account},
                                       {"message", v->message},
                                       {"failed_probes", breakers_.failed_probes(account)},
                                       {"next_probe_in_ms", breakers_.next_probe().value_or(t) - t}});
    wake();
    co_return;
  }
  metrics_.bump(metrics_.breaker, "closed");
  // Only the breaker's own pause is lifted: an operator's (or the provider's) stays.
  auto lifted = co_await store_.lift(account, store::paused_by::breaker);
  if (!lifted) log::error("pause_not_saved", {{"account", account}, {"error", lifted.error().message()}});
  log::info("account_resumed", {{"account", account}, {"by", "breaker"}, {"detail", "the endpoint answers again"}});
  co_await sync_pauses();
  // The endpoint answers, but maybe with "your key is bad": that pause is the provider's.
  if (v && v->what == provider::action::pause_account) co_await pause_from_provider(account, *v);
  queue_dirty_ = true;
  wake();
}

}  // namespace vidq::daemon
