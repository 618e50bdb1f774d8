#include "command.hpp"
#include "vidq/ops/doctor.hpp"

#include <cmath>
#include <cstdio>

namespace vidq::cli {
namespace {

struct doctor_flags {
  double timeout_seconds = 10;
  bool quick = false;
  bool offline = false;
};

void run_doctor(context& ctx, const doctor_flags& f) {
  ops::doctor_options o;
  o.config_path = ctx.config_path;
  o.database_override = ctx.database_override;
  o.network_timeout = std::chrono::milliseconds(std::llround(f.timeout_seconds * 1000));
  o.quick = f.quick;
  o.offline = f.offline;
  // Lines are printed as they are decided: a slow probe does not hide the earlier ones.
  const auto report = ops::run_doctor(o, [](const ops::check_line& l) {
    std::printf("%-4s  %-26s %s\n", std::string(ops::to_string(l.level)).c_str(), l.name.c_str(), l.detail.c_str());
    std::fflush(stdout);
  });
  ctx.exit_code = report.failed() ? exit_failure : exit_ok;
}

}  // namespace

void register_doctor(CLI::App& root, context& ctx) {
  auto f = std::make_shared<doctor_flags>();
  auto* cmd = root.add_subcommand("doctor", "Check the config, database, output folder, TLS trust and provider access");
  cmd->add_option("--timeout", f->timeout_seconds, "Seconds allowed for each step of each provider probe")
      ->check(CLI::Range(0.1, 600.0))
      ->capture_default_str();
  cmd->add_flag("--quick", f->quick, "PRAGMA quick_check instead of the full integrity_check (large databases)");
  cmd->add_flag("--offline", f->offline, "Skip the provider round trips");
  cmd->footer(
      "One line per check: ok, warn or FAIL. Exit status 0 when nothing failed, 1 otherwise.\n"
      "The provider probe polls a made-up task id with the account's key: it creates no task and\n"
      "costs nothing; a 404 'task not found' proves the host is reachable, trusted and the key\n"
      "accepted. Nothing is changed anywhere; API keys are never printed.");
  cmd->callback([&ctx, f] { run_doctor(ctx, *f); });
}

}  // namespace vidq::cli
