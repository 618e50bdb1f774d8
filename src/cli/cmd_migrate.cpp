#include "command.hpp"
#include "session.hpp"
#include "vidq/store/migrations.hpp"

#include <cstdio>

namespace vidq::cli {

void register_migrate(CLI::App& root, context& ctx) {
  auto* cmd = root.add_subcommand("migrate", "Create the database or bring its schema up to date");
  cmd->footer("Safe to run any number of times, also while the daemon runs.");
  cmd->callback([&ctx] {
    auto cfg = load_config_or_report(ctx);
    if (!cfg) return;
    auto db = store::database::open(cfg->database_path);
    if (!db) {
      report_error(cfg->database_path, "cannot open the database");
      ctx.exit_code = exit_failure;
      return;
    }
    auto outcome = store::migrate(*db);
    if (!outcome) {
      if (outcome.error() == errc::schema_too_new) {
        report_error(cfg->database_path, "the database was written by a newer vidq (schema " +
                                             std::to_string(store::schema_version(*db).value()) +
                                             ", this binary knows " +
                                             std::to_string(store::latest_schema_version()) + "); upgrade vidq");
        ctx.exit_code = exit_usage;
      } else {
        report_error(cfg->database_path, "migration failed: " + db->last_error());
        ctx.exit_code = exit_failure;
      }
      return;
    }
    if (outcome->from_version == outcome->to_version) {
      std::printf("%s: schema already at version %d\n", cfg->database_path.c_str(), outcome->to_version);
    } else {
      std::printf("%s: schema migrated from version %d to %d\n", cfg->database_path.c_str(), outcome->from_version,
                  outcome->to_version);
    }
  });
}

}  // namespace vidq::cli
