#include "session.hpp"

#include "vidq/engine/routing.hpp"
#include "vidq/ops/log.hpp"
#include "vidq/store/migrations.hpp"
#include "vidq/store/postgres/operator_store.hpp"
#include "vidq/store/sqlite_operator_store.hpp"

#include <cstdio>
#include <filesystem>

namespace vidq::cli {
namespace {

// How long a command waits for the PostgreSQL server before it gives up.
constexpr millis pg_connect_timeout_ms = 10'000;

// What to tell the operator about a schema version this binary cannot use as it is; empty
// when it can (migrating first when `access` allows).
std::string schema_mismatch(int version, int latest, db_access access) {
  if (version > latest) {
    return "schema version " + std::to_string(version) + " is newer than this vidq (" + std::to_string(latest) +
           "); upgrade vidq";
  }
  if (version < latest && access == db_access::existing) {
    return "schema version " + std::to_string(version) + " is older than this vidq (" + std::to_string(latest) +
           "); run `vidq migrate`";
  }
  return "";
}

std::unique_ptr<session> open_postgres(context& ctx, db_access access, ops::config cfg) {
  auto s = std::make_unique<session>(session{std::move(cfg), {}, std::nullopt, nullptr});
  const auto where = store::pg::redact_conninfo(s->config.database_url);
  store::pg::failure why;
  auto pg = store::pg::postgres_operator_store::connect(s->config.database_url, s->clock, pg_connect_timeout_ms, &why);
  if (!pg) {
    report_error(where, "cannot connect: " + why.message);
    ctx.exit_code = exit_failure;
    return nullptr;
  }
  auto version = (*pg)->schema_version();
  if (!version) {
    report_error(where, (*pg)->last_error());
    ctx.exit_code = exit_failure;
    return nullptr;
  }
  const int latest = store::pg::latest_schema_version();
  if (auto bad = schema_mismatch(*version, latest, access); !bad.empty()) {
    report_error(where, bad);
    ctx.exit_code = *version > latest ? exit_usage : exit_failure;
    return nullptr;
  }
  if (*version < latest) {
    if (auto m = (*pg)->migrate(); !m) {
      report_error(where, "migration failed: " + (*pg)->last_error());
      ctx.exit_code = exit_failure;
      return nullptr;
    }
  }
  s->store = std::move(*pg);
  return s;
}

}  // namespace

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

std::unique_ptr<session> open_sqlite_session(context& ctx, db_access access, ops::config cfg) {
  const auto path = cfg.database_path;
  if (access == db_access::existing && path != ":memory:" && !std::filesystem::exists(path)) {
    report_error(path, "no database here; create it with `vidq migrate` or `vidq import`");
    ctx.exit_code = exit_failure;
    return nullptr;
  }
  auto db = store::database::open(path, {.create = access == db_access::create});
  if (!db) {
    report_error(path, "cannot open the database (check the path and its permissions)");
    ctx.exit_code = exit_failure;
    return nullptr;
  }
  auto version = store::schema_version(*db);
  if (!version) {
    report_error(path, db->last_error());
    ctx.exit_code = exit_failure;
    return nullptr;
  }
  const int latest = store::latest_schema_version();
  if (auto bad = schema_mismatch(*version, latest, access); !bad.empty()) {
    report_error(path, bad);
    ctx.exit_code = *version > latest ? exit_usage : exit_failure;
    return nullptr;
  }
  if (*version < latest) {
    if (auto m = store::migrate(*db); !m) {
      report_error(path, "migration failed: " + db->last_error());
      ctx.exit_code = exit_failure;
      return nullptr;
    }
  }
  auto s = std::make_unique<session>(session{std::move(cfg), {}, std::move(*db), nullptr});
  s->store = std::make_unique<store::sqlite_operator_store>(*s->db, s->clock);
  return s;
}

std::unique_ptr<session> open_sqlite_session(context& ctx, db_access access, std::string_view command,
                                             std::string_view instead) {
  auto cfg = load_config_or_report(ctx);
  if (!cfg) return nullptr;
  if (cfg->uses_postgres()) {
    // Refused rather than falling back to `path`: that would touch a file nobody asked for.
    report_error("[database] url", "`vidq " + std::string(command) + "` works on a SQLite file only" +
                                       (instead.empty() ? std::string() : "; " + std::string(instead)));
    ctx.exit_code = exit_usage;
    return nullptr;
  }
  return open_sqlite_session(ctx, access, std::move(*cfg));
}

std::unique_ptr<session> open_session(context& ctx, db_access access) {
  auto cfg = load_config_or_report(ctx);
  if (!cfg) return nullptr;
  if (cfg->uses_postgres()) return open_postgres(ctx, access, std::move(*cfg));
  return open_sqlite_session(ctx, access, std::move(*cfg));
}

}  // namespace vidq::cli
