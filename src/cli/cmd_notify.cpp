// `vidq notify list`: the delivery state of completion notices ([[notify]], the
// notice_status view): one line per (notice, target).

#include "command.hpp"
#include "format.hpp"
#include "session.hpp"
#include "vidq/ops/log.hpp"
#include "vidq/store/notice_store.hpp"

#include <boost/json/serialize.hpp>

#include <cstdio>
#include <memory>

namespace vidq::cli {
namespace {

struct notify_flags {
  bool pending = false;
  bool failed = false;
  bool json = false;
  int limit = 100;
};

void run_notify_list(context& ctx, const notify_flags& f) {
  if (f.pending && f.failed) {
    report_error("notify list", "--pending and --failed exclude each other");
    ctx.exit_code = exit_usage;
    return;
  }
  auto s = open_session(ctx, db_access::existing);
  if (!s) return;
  std::optional<store::delivery_status> only;
  if (f.pending) only = store::delivery_status::pending;
  if (f.failed) only = store::delivery_status::failed;
  auto rows = s->store->deliveries(only, f.limit);
  if (!rows) {
    report_error("notify list", s->store->last_error());
    ctx.exit_code = exit_failure;
    return;
  }
  if (f.json) {
    boost::json::array out;
    for (const auto& r : *rows) {
      out.push_back(boost::json::object{
          {"notice", r.notice_id},
          {"event", to_string(r.event)},
          {"subject", r.subject},
          {"job_id", r.job_id ? boost::json::value(*r.job_id) : boost::json::value(nullptr)},
          {"target", r.target},
          {"status", to_string(r.status)},
          {"attempts", r.attempts},
          {"last_error", r.last_error ? boost::json::value(log::redact(*r.last_error)) : boost::json::value(nullptr)},
          {"created", format_time(r.created)},
          {"next_attempt", r.status == store::delivery_status::pending ? boost::json::value(format_time(r.next_attempt))
                                                                       : boost::json::value(nullptr)},
          {"delivered", r.delivered ? boost::json::value(format_time(r.delivered)) : boost::json::value(nullptr)}});
    }
    std::puts(boost::json::serialize(out).c_str());
    return;
  }
  std::printf("%7s  %-15s %-20s %-16s %-9s %4s  %-19s  %s\n", "NOTICE", "EVENT", "SUBJECT", "TARGET", "STATUS", "TRY",
              "CREATED", "DETAIL");
  for (const auto& r : *rows) {
    std::string subject = r.job_id ? "job " + std::to_string(*r.job_id) + " " + r.subject : r.subject;
    std::string detail = r.status == store::delivery_status::delivered ? "at " + format_time(r.delivered)
                         : r.status == store::delivery_status::pending ? "next " + format_time(r.next_attempt)
                                                                       : std::string("given up");
    if (r.last_error && r.status != store::delivery_status::delivered) detail += ": " + log::redact(*r.last_error);
    std::printf("%7lld  %-15s %-20s %-16s %-9s %4d  %-19s  %s\n", static_cast<long long>(r.notice_id),
                std::string(to_string(r.event)).c_str(), subject.c_str(), r.target.c_str(),
                std::string(to_string(r.status)).c_str(), r.attempts, format_time(r.created).c_str(), detail.c_str());
  }
}

}  // namespace

void register_notify(CLI::App& root, context& ctx) {
  auto* cmd = root.add_subcommand("notify", "Completion notices ([[notify]] webhooks and commands)");
  cmd->require_subcommand(1);
  auto f = std::make_shared<notify_flags>();
  auto* list = cmd->add_subcommand("list", "Delivery state per notice and target, newest first");
  list->add_flag("--pending", f->pending, "Only deliveries not yet delivered (due or retrying)");
  list->add_flag("--failed", f->failed, "Only deliveries given up (retry_for_hours passed, or target removed)");
  list->add_flag("--json", f->json, "JSON array");
  list->add_option("--limit", f->limit, "At most this many lines (default 100)")->check(CLI::Range(1, 1000000));
  list->footer("Exit 0. The same rows: `SELECT * FROM notice_status` in sqlite3.");
  list->callback([&ctx, f] { run_notify_list(ctx, *f); });
}

}  // namespace vidq::cli
