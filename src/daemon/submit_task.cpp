// One claimed job's submit (DESIGN.md §2 "Submit is write-ahead"): the row is already
// committed as `submitting` with its request_id; the task id is committed as `processing`
// before anything polls it. Every other answer becomes a requeue, a failure or a pause.
#include "vidq/daemon/job_log.hpp"
#include "vidq/daemon/row_spec.hpp"
#include "vidq/daemon/scheduler.hpp"
#include "vidq/daemon/task_sleep.hpp"
#include "vidq/engine/backoff.hpp"
#include "vidq/ops/log.hpp"

namespace vidq::daemon {

namespace asio = boost::asio;
using provider::action;

asio::awaitable<void> scheduler::submit_task(store::job_row row) {
  const millis claimed_at = now();
  row_problem problem;
  auto spec = spec_from_row(row, problem);
  if (!spec) {
    // A row from raw SQL that import would have refused: it fails alone, nothing is sent.
    metrics_.bump(metrics_.submits, "failed");
    refund(row);
    co_await fail_submitting(std::move(row), problem.error_code, problem.message, true);
    co_return;
  }
  auto client_it = clients_.find(row.account);
  if (client_it == clients_.end()) {
    // The account vanished in a reload between claim and now: back to the queue, unharmed.
    (void)co_await persist(row, [&] {
      return store_.record_requeued(row, *row.request_id, now(), "unknown_account", "account removed from config",
                                    true);
    });
    refund(row);
    release(row.account, row.model);
    busy_jobs_.erase(row.id);
    co_return;
  }
  provider::provider_client& client = *client_it->second;
  const std::string request_id = row.request_id.value_or("");
  int ambiguous_resubmits = 0;

  for (;;) {
    // A submit recorded only in a deleted file is a task paid for twice after the restart:
    // look right before the POST (two stat calls). The claim goes back, nothing was sent.
    if (database_lost()) {
      (void)co_await persist(
          row, [&] { return store_.record_requeued(row, request_id, now(), "database_lost", *db_lost_, true); });
      refund(row);
      release(row.account, row.model);
      break;
    }
    auto reply = co_await client.submit(*spec, request_id);
    const millis t = now();
    if (auto* ok = std::get_if<provider::submit_accepted>(&reply)) {
      note_healthy_reply(row.account);
      note_submitted(row);
      const millis first_poll = plan_poll(row, t, t, 0);
      const std::int64_t price = engine::price_of(row.model, cfg_.budget);
      // Write-ahead: the task id (and its charge) is committed before the first poll. With the
      // write lock held elsewhere this task waits for it (the loop does not); it gives up only
      // when a shutdown cancels it, and then says which task the row would have recorded.
      auto applied =
          co_await persist(row, [&] { return store_.record_accepted(row, request_id, ok->task_id, first_poll, price); });
      metrics_.bump(metrics_.submits, "accepted");
      if (!applied) {
        log_job(log::level::error, "task_id_not_recorded", row,
                {{"task_id", ok->task_id}, {"request_id", request_id}, {"error", applied.error().message()},
                 {"detail", "the row stays submitting: the next start fails it submit_ambiguous"}});
      } else if (*applied) {
        next_poll_ = next_poll_ ? std::min(*next_poll_, first_poll) : first_poll;
        log_job(log::level::info, "job_submitted", row,
                {{"from", "submitting"},
                 {"to", "processing"},
                 {"task_id", ok->task_id},
                 {"request_id", request_id},
                 {"submit_ms", t - claimed_at},
                 {"first_poll_in_ms", first_poll - t}});
      } else {
        // An operator cancelled it while the POST was in flight: the provider task runs on,
        // unobserved. Its slot is given back (AIMD absorbs a 1302 if the provider disagrees).
        log_job(log::level::warn, "job_accepted_after_cancel", row, {{"task_id", ok->task_id}});
        release(row.account, row.model);
      }
      break;
    }
    auto v = std::get<provider::verdict>(std::move(reply));
    metrics_.bump(metrics_.provider_errors, v.error_code);
    if (v.what == action::ambiguous && cfg_.retry.on_ambiguous_submit == ops::ambiguous_submit_policy::resubmit &&
        !stopping_ && row.attempts + ambiguous_resubmits < cfg_.retry.max_attempts) {
      ++ambiguous_resubmits;
      log_job(log::level::warn, "submit_ambiguous_resubmit", row,
              {{"request_id", request_id}, {"code", v.error_code}, {"message", v.message}});
      const millis at = engine::retry_at(v, static_cast<int>(row.attempts) + ambiguous_resubmits, cfg_.retry, t,
                                         random01());
      if (!co_await sleep_for(at - t)) {
        v.message = "shutdown while waiting to resubmit; " + v.message;
      } else {
        continue;  // the same request_id: the provider can deduplicate it
      }
    }
    co_await after_submit_verdict(row, std::move(v));
    break;
  }
  busy_jobs_.erase(row.id);
  wake();
}

asio::awaitable<void> scheduler::after_submit_verdict(const store::job_row& row, provider::verdict v) {
  const bool breaker_open = co_await note_account_fault(row.account, v);
  if (breaker_open && v.what == action::retry) {
    // The account's endpoint is down, not this job: back to the queue with its attempt,
    // to be claimed again (by this account or, for a pool job, any other) once it is not.
    metrics_.bump(metrics_.submits, "breaker");
    refund(row);
    const std::string row_request_id = row.request_id.value_or("");
    if (is_true(co_await persist(
            row, [&] { return store_.record_requeued(row, row_request_id, now(), v.error_code, v.message, true); }))) {
      log_job(log::level::info, "job_requeued", row, {{"code", v.error_code}, {"message", v.message}, {"breaker", true}});
    }
    release(row.account, row.model);
    co_return;
  }
  // "resubmit" was handled in place (same request_id); what reaches here fails.
  v = provider::resolve_ambiguous(v, ops::ambiguous_submit_policy::fail);
  v = provider::apply_attempt_limit(v, static_cast<int>(row.attempts), cfg_.retry);
  const millis t = now();
  const std::string request_id = row.request_id.value_or("");
  switch (v.what) {
    case action::fail_job:
    case action::ambiguous: {
      const bool ambiguous = v.error_code == "submit_ambiguous";
      // No answer may still have created a task; 1231 says an earlier submit of this
      // request_id did. Either is charged (the ledger keeps it); any other refusal is not.
      const auto charged = ambiguous                ? std::optional(store::charge_origin::ambiguous)
                           : v.error_code == "1231" ? std::optional(store::charge_origin::duplicate)
                                                    : std::nullopt;
      metrics_.bump(metrics_.submits, ambiguous ? "ambiguous" : "failed");
      if (!charged) refund(row);
      if (is_true(co_await persist(row, [&] {
            return charged ? store_.record_failed_charged(row, *charged, v.error_code, v.message,
                                                          engine::price_of(row.model, cfg_.budget))
                           : store_.record_failed(row, job_state::submitting, v.error_code, v.message);
          }))) {
        log_job(ambiguous ? log::level::warn : log::level::info, "job_failed", row,
                {{"from", "submitting"}, {"to", "failed"}, {"code", v.error_code}, {"message", v.message}});
      }
      break;
    }
    case action::retry: {
      const bool limited = v.hint == provider::retry_hint::rate_limited;
      if (limited) {
        admission_.on_rate_limited(row.account, row.model, t);
        // Other daemons on the lane back off too (PostgreSQL; nothing on SQLite).
        const int cap = configured_cap(row.account);
        if (auto shared = co_await store_.share_rate_limit(row.account, row.model, cap); !shared) {
          log::warn("rate_limit_not_shared", {{"account", row.account}, {"error", shared.error().message()}});
        }
      }
      metrics_.bump(metrics_.submits, limited ? "rate_limited" : "retry");
      const millis at = engine::retry_at(v, static_cast<int>(row.attempts), cfg_.retry, t, random01());
      refund(row);
      if (is_true(co_await persist(row, [&] {
            return store_.record_requeued(row, request_id, at, v.error_code, v.message, !v.consumes_attempt);
          }))) {
        note_requeue(at);
        log_job(log::level::info, "job_requeued", row,
                {{"code", v.error_code}, {"message", v.message}, {"retry_in_ms", at - t}, {"attempt", row.attempts}});
      }
      break;
    }
    case action::pause_account: {
      metrics_.bump(metrics_.submits, "paused");
      co_await pause_from_provider(row.account, v);
      refund(row);
      const millis at = v.not_before.value_or(t);
      if (is_true(co_await persist(row, [&] {
            return store_.record_requeued(row, request_id, at, v.error_code, v.message, !v.consumes_attempt);
          }))) {
        log_job(log::level::warn, "job_requeued", row, {{"code", v.error_code}, {"message", v.message}});
      }
      break;
    }
  }
  release(row.account, row.model);
}

void scheduler::refund(const store::job_row& row) {
  const std::int64_t price = engine::price_of(row.model, cfg_.budget);
  spend_today_ -= price;
  if (auto it = batch_spend_.find(row.batch); it != batch_spend_.end()) it->second -= price;
}

}  // namespace vidq::daemon
