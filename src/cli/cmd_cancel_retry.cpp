#include "command.hpp"
#include "session.hpp"
#include "vidq/store/job_store.hpp"

#include <cstdio>

namespace vidq::cli {
namespace {

struct selector_options {
  std::vector<std::int64_t> ids;
  std::string batch;
};

void run(context& ctx, const selector_options& o, bool cancel) {
  if (o.ids.empty() && o.batch.empty()) {
    report_error(cancel ? "cancel" : "retry", "name job ids or --batch");
    ctx.exit_code = exit_usage;
    return;
  }
  auto s = open_session(ctx, db_access::existing);
  if (!s) return;
  store::job_store jobs(s->db, s->clock);
  store::job_selector which{o.ids, o.batch.empty() ? std::nullopt : std::optional(o.batch)};
  auto changed = cancel ? jobs.cancel(which) : jobs.retry(which);
  if (!changed) {
    report_error(cancel ? "cancel" : "retry", s->db.last_error());
    ctx.exit_code = exit_failure;
    return;
  }
  std::printf("%s %d job(s)\n", cancel ? "cancelled" : "requeued", *changed);
}

void add(CLI::App& root, context& ctx, bool cancel) {
  auto o = std::make_shared<selector_options>();
  auto* cmd = cancel ? root.add_subcommand("cancel", "Cancel queued or running jobs")
                     : root.add_subcommand("retry", "Put failed or cancelled jobs back in the queue");
  cmd->add_option("ids", o->ids, "Job ids");
  cmd->add_option("-b,--batch", o->batch, "Every matching job of this batch");
  cmd->footer(cancel ? "A provider task already running is not stopped (the API has no cancel); its result is "
                       "ignored."
                     : "A retried job is submitted afresh with a new request_id and a fresh attempt budget.");
  cmd->callback([&ctx, o, cancel] { run(ctx, *o, cancel); });
}

}  // namespace

void register_cancel_retry(CLI::App& root, context& ctx) {
  add(root, ctx, true);
  add(root, ctx, false);
}

}  // namespace vidq::cli
