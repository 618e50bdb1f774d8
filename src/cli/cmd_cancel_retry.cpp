#include "command.hpp"
#include "session.hpp"
#include "vidq/store/job_store.hpp"

#include <cstdio>

namespace vidq::cli {
namespace {

struct selector_options {
  std::vector<std::int64_t> ids;
  std::string batch;
  std::string state;  // retry only
  std::string code;   // retry only
  bool download = false;  // retry only: fetch the paid result again from the stored task
  bool resubmit = false;  // retry only: pay for a new task even when the old one succeeded
};

// Why an id the operator named was left alone, in words.
std::string why_unchanged(const store::transition_miss& m, bool cancel, const selector_options& o) {
  if (!m.state) return "no such job";
  const std::string id = std::to_string(m.id);
  if (!cancel && m.why == retry_decision::needs_resubmit) {
    return "its provider task succeeded and was paid for; `vidq retry --download " + id +
           "` fetches the result again without paying, `vidq retry --resubmit " + id + "` pays for a new task";
  }
  if (!cancel && m.why == retry_decision::nothing_to_fetch) {
    return "no successful provider task is stored (" + m.error_code.value_or("no code") +
           "), nothing to download; plain `vidq retry " + id + "` submits it again";
  }
  const std::string state(to_string(*m.state));
  if (cancel) {
    return is_terminal(*m.state) ? "already " + state + "; nothing to cancel" : "is " + state;
  }
  if (*m.state != job_state::failed && *m.state != job_state::cancelled) {
    return "is " + state + ", not failed or cancelled; nothing to retry";
  }
  if (!o.state.empty() && state != o.state) return "is " + state + ", not " + o.state;
  if (!o.code.empty() && m.error_code.value_or("") != o.code) {
    return "failed with " + m.error_code.value_or("no code") + ", not " + o.code;
  }
  return "left as " + state;
}

void run(context& ctx, const selector_options& o, bool cancel) {
  const char* verb = cancel ? "cancel" : "retry";
  if (o.ids.empty() && o.batch.empty() && o.state.empty() && o.code.empty()) {
    report_error(verb, cancel ? "name job ids or --batch" : "name job ids, --batch, --state or --code");
    ctx.exit_code = exit_usage;
    return;
  }
  auto s = open_session(ctx, db_access::existing);
  if (!s) return;
  auto& jobs = *s->store;
  store::job_selector which{o.ids, o.batch.empty() ? std::nullopt : std::optional(o.batch), std::nullopt,
                            std::nullopt};
  if (!o.state.empty()) which.state = parse_job_state(o.state);
  if (!o.code.empty()) which.error_code = o.code;
  if (o.download && o.resubmit) {
    report_error(verb, "--download and --resubmit exclude each other");
    ctx.exit_code = exit_usage;
    return;
  }
  const retry_mode mode = o.download ? retry_mode::download : o.resubmit ? retry_mode::resubmit : retry_mode::plain;
  std::vector<store::transition_miss> missed;
  auto changed = cancel ? jobs.cancel(which, &missed) : jobs.retry(which, &missed, mode);
  if (!changed) {
    report_error(verb, s->store->last_error());
    ctx.exit_code = exit_failure;
    return;
  }
  bool paid_results_left = false;
  for (const auto& m : missed) {
    std::printf("job %lld: %s\n", static_cast<long long>(m.id), why_unchanged(m, cancel, o).c_str());
    paid_results_left = paid_results_left || (!cancel && m.why == retry_decision::needs_resubmit);
  }
  std::printf("%s %d job(s)\n", cancel ? "cancelled" : o.download ? "re-downloading" : "requeued", *changed);
  // Scripts must not take "nothing happened" for success when vidq refused to pay again.
  if (paid_results_left) {
    report_error(verb, "some jobs already have a paid result: pass --download or --resubmit");
    ctx.exit_code = exit_paid_result;
  }
}

void add(CLI::App& root, context& ctx, bool cancel) {
  auto o = std::make_shared<selector_options>();
  auto* cmd = cancel ? root.add_subcommand("cancel", "Cancel queued or running jobs")
                     : root.add_subcommand("retry", "Put failed or cancelled jobs back in the queue");
  cmd->add_option("ids", o->ids, "Job ids");
  cmd->add_option("-b,--batch", o->batch, "Every matching job of this batch");
  if (!cancel) {
    cmd->add_option("-s,--state", o->state, "Only jobs in this state")->check(CLI::IsMember({"failed", "cancelled"}));
    cmd->add_option("-c,--code", o->code, "Only jobs that failed with this error code (e.g. task_failed)");
    cmd->add_flag("--download", o->download,
                  "Fetch the paid result again from the stored provider task (re-poll for fresh URLs), never a "
                  "new submit");
    cmd->add_flag("--resubmit", o->resubmit,
                  "Submit again even jobs whose provider task succeeded (a new task is created and paid for)");
  }
  cmd->footer(cancel ? "A provider task already running is not stopped (the API has no cancel); its result is "
                       "ignored. Each named id left alone is listed with the reason."
                     : "A retried job is submitted afresh with a new request_id and a fresh attempt budget.\n"
                       "A job whose provider task succeeded (a failed download) is left alone unless --download\n"
                       "(fetch it again, free) or --resubmit (pay for a new task) is given; exit code 5 then.\n"
                       "--state/--code alone select every matching job, e.g. `vidq retry --code task_failed`.\n"
                       "Each named id left alone is listed with the reason.");
  cmd->callback([&ctx, o, cancel] { run(ctx, *o, cancel); });
}

}  // namespace

void register_cancel_retry(CLI::App& root, context& ctx) {
  add(root, ctx, true);
  add(root, ctx, false);
}

}  // namespace vidq::cli
