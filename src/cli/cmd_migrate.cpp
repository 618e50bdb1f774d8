#include "command.hpp"
#include "session.hpp"
#include "vidq/store/migrations.hpp"
#include "vidq/store/postgres/migrate.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdio>

namespace vidq::cli {
namespace {

namespace asio = boost::asio;

// `vidq migrate` with [database] url: the same runner the daemon will use, on a loop of its own.
void migrate_postgres(const ops::config& cfg, context& ctx) {
  const auto where = store::pg::redact_conninfo(cfg.database_url);
  asio::io_context ioc;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        store::pg::failure why;
        auto c = co_await store::pg::connection::open(ioc.get_executor(), cfg.database_url, 10'000, &why);
        if (!c) {
          report_error(where, "cannot connect: " + why.message);
          ctx.exit_code = exit_failure;
          co_return;
        }
        auto outcome = co_await store::pg::migrate(**c);
        if (!outcome) {
          if (outcome.error() == errc::schema_too_new) {
            report_error(where, "the database was migrated by a newer vidq (this binary knows schema " +
                                    std::to_string(store::pg::latest_schema_version()) + "); upgrade vidq");
            ctx.exit_code = exit_usage;
          } else {
            report_error(where, "migration failed: " + (*c)->last_failure().message);
            ctx.exit_code = exit_failure;
          }
          co_return;
        }
        if (outcome->from_version == outcome->to_version) {
          std::printf("%s: schema already at version %d\n", where.c_str(), outcome->to_version);
        } else {
          std::printf("%s: schema migrated from version %d to %d\n", where.c_str(), outcome->from_version,
                      outcome->to_version);
        }
      },
      asio::detached);
  ioc.run();
}

}  // namespace

void register_migrate(CLI::App& root, context& ctx) {
  auto* cmd = root.add_subcommand("migrate", "Create the database or bring its schema up to date");
  cmd->footer("Safe to run any number of times, also while the daemon runs.");
  cmd->callback([&ctx] {
    auto cfg = load_config_or_report(ctx);
    if (!cfg) return;
    if (cfg->uses_postgres()) return migrate_postgres(*cfg, ctx);
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
