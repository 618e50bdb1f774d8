#include "command.hpp"
#include "format.hpp"
#include "session.hpp"
#include "vidq/store/dispatch_store.hpp"
#include "vidq/store/job_store.hpp"

#include <boost/json/serialize.hpp>

#include <cstdio>

namespace vidq::cli {
namespace {

std::string bar(double fraction, int width) {
  const int filled = static_cast<int>(fraction * width + 0.5);
  return std::string(static_cast<std::size_t>(filled), '#') + std::string(static_cast<std::size_t>(width - filled), '.');
}

void run_status(context& ctx, bool json) {
  auto s = open_session(ctx, db_access::existing);
  if (!s) return;
  store::job_store jobs(s->db, s->clock);
  store::dispatch_store dispatch(s->db, s->clock);
  auto batches = jobs.batch_summaries();
  auto inflight = dispatch.inflight_counts();
  if (!batches || !inflight) {
    report_error("status", s->db.last_error());
    ctx.exit_code = exit_failure;
    return;
  }
  if (json) {
    boost::json::array out;
    for (const auto& b : *batches) {
      boost::json::object o;
      o["batch"] = b.batch;
      o["total"] = b.total;
      for (job_state st : all_job_states) o[to_string(st)] = b.count(st);
      o["spent_cny"] = static_cast<double>(b.cost) / 1000.0;
      out.push_back(std::move(o));
    }
    std::puts(boost::json::serialize(out).c_str());
    return;
  }
  std::printf("%-20s %6s %6s %6s %6s %6s %6s  %-21s %9s\n", "BATCH", "TOTAL", "QUEUED", "RUN", "OK", "FAILED", "CANCEL",
              "DONE", "SPENT CNY");
  for (const auto& b : *batches) {
    using enum job_state;
    const auto running = b.count(submitting) + b.count(processing) + b.count(downloading);
    const auto done = b.count(succeeded) + b.count(failed) + b.count(cancelled);
    const double fraction = b.total ? static_cast<double>(done) / static_cast<double>(b.total) : 0.0;
    std::printf("%-20s %6lld %6lld %6lld %6lld %6lld %6lld  %s %3.0f%% %9s\n", b.batch.substr(0, 20).c_str(),
                static_cast<long long>(b.total), static_cast<long long>(b.count(queued)),
                static_cast<long long>(running), static_cast<long long>(b.count(succeeded)),
                static_cast<long long>(b.count(failed)), static_cast<long long>(b.count(cancelled)),
                bar(fraction, 16).c_str(), 100 * fraction, format_cny(b.cost).c_str());
  }
  if (!inflight->empty()) {
    std::printf("\n%-16s %-18s %9s %4s\n", "ACCOUNT", "MODEL", "IN FLIGHT", "CAP");
    for (const auto& c : *inflight) {
      const auto* account = s->config.find_account(c.account);
      std::printf("%-16s %-18s %9lld %4s\n", c.account.c_str(), c.model.c_str(), static_cast<long long>(c.count),
                  account ? std::to_string(account->cap()).c_str() : "?");
    }
  }
}

}  // namespace

void register_status(CLI::App& root, context& ctx) {
  auto json = std::make_shared<bool>(false);
  auto* cmd = root.add_subcommand("status", "Progress per batch and slots in use per account");
  cmd->add_flag("--json", *json, "JSON array of batches");
  cmd->callback([&ctx, json] { run_status(ctx, *json); });
}

}  // namespace vidq::cli
