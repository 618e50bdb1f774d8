#include "session.hpp"

#include "vidq/engine/routing.hpp"
#include "vidq/ops/log.hpp"
#include "vidq/store/migrations.hpp"

#include <cstdio>
#include <filesystem>

namespace vidq::cli {

void report_error(std::string_view what, std::string_view reason) {
  const auto text = log::redact("vidq: " + std::string(what) + ": " + std::string(reason) + "\n");
  std::fputs(text.c_str(), stderr);
}

std::optional<ops::config> load_config_or_report(context& ctx) {
  try {
    auto cfg = ctx.config_path.empty() ? ops::default_config() : ops::load_config(ctx.config_path);
    if (!ctx.database_override.empty()) cfg.database_path = ctx.database_override;
    if (auto bad = engine::check_account_models(cfg)) {
      report_error("config", *bad);
      ctx.exit_code = exit_usage;
      return std::nullopt;
    }
    return cfg;
  } catch (const ops::config_error& e) {
    report_error("config", e.what());
    ctx.exit_code = exit_usage;
    return std::nullopt;
  }
}

std::optional<session> open_session(context& ctx, db_access access) {
  auto cfg = load_config_or_report(ctx);
  if (!cfg) return std::nullopt;
  if (cfg->uses_postgres()) {
    // The PostgreSQL store exists below the seam (store/postgres/), but the commands that
    // read and write jobs still speak SQLite: refuse rather than touch a file nobody asked for.
    report_error("[database] url", "this command works on SQLite only in this version; on PostgreSQL, "
                                   "`vidq migrate` creates the schema (docs/SCALING.md says what else is ready)");
    ctx.exit_code = exit_usage;
    return std::nullopt;
  }
  const auto& path = cfg->database_path;
  if (access == db_access::existing && path != ":memory:" && !std::filesystem::exists(path)) {
    report_error(path, "no database here; create it with `vidq migrate` or `vidq import`");
    ctx.exit_code = exit_failure;
    return std::nullopt;
  }
  auto db = store::database::open(path, {.create = access == db_access::create});
  if (!db) {
    report_error(path, "cannot open the database (check the path and its permissions)");
    ctx.exit_code = exit_failure;
    return std::nullopt;
  }
  auto version = store::schema_version(*db);
  if (!version) {
    report_error(path, db->last_error());
    ctx.exit_code = exit_failure;
    return std::nullopt;
  }
  if (*version > store::latest_schema_version()) {
    report_error(path, "schema version " + std::to_string(*version) + " is newer than this vidq (" +
                           std::to_string(store::latest_schema_version()) + "); upgrade vidq");
    ctx.exit_code = exit_usage;
    return std::nullopt;
  }
  if (*version < store::latest_schema_version()) {
    if (access == db_access::existing) {
      report_error(path, "schema version " + std::to_string(*version) + " is older than this vidq (" +
                             std::to_string(store::latest_schema_version()) + "); run `vidq migrate`");
      ctx.exit_code = exit_failure;
      return std::nullopt;
    }
    if (auto m = store::migrate(*db); !m) {
      report_error(path, "migration failed: " + db->last_error());
      ctx.exit_code = exit_failure;
      return std::nullopt;
    }
  }
  return session{std::move(*cfg), std::move(*db), {}};
}

}  // namespace vidq::cli
