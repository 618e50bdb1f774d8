#include "vidq/ops/cli.hpp"

#include "command.hpp"
#include "vidq/ops/log.hpp"

#include <cstdio>
#include <cstdlib>
#include <exception>

namespace vidq::ops {

int run_cli(int argc, char** argv) {
  cli::context ctx;
  CLI::App app{"vidq: a durable queue that turns video-generation jobs into files"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every subcommand");
  if (const char* env = std::getenv("VIDQ_CONFIG")) ctx.config_path = env;
  app.add_option("-c,--config", ctx.config_path, "TOML config file (default: $VIDQ_CONFIG)");
  app.add_option("--db", ctx.database_override, "SQLite database path (overrides [database] path)");

  cli::register_migrate(app, ctx);
  cli::register_enqueue(app, ctx);
  cli::register_import(app, ctx);
  cli::register_list(app, ctx);
  cli::register_show(app, ctx);
  cli::register_status(app, ctx);
  cli::register_export(app, ctx);
  cli::register_cancel_retry(app, ctx);
  cli::register_account(app, ctx);
  cli::register_db(app, ctx);
  cli::register_notify(app, ctx);
  cli::register_doctor(app, ctx);
  cli::register_run(app, ctx);
  cli::register_sim(app, ctx);
  cli::register_version(app, ctx);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? cli::exit_ok : cli::exit_usage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vidq: %s\n", log::redact(e.what()).c_str());
    return cli::exit_failure;
  }
  return ctx.exit_code;
}

}  // namespace vidq::ops
