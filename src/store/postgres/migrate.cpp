#include "vidq/store/postgres/migrate.hpp"

#include <string>

namespace vidq::store::pg {

namespace asio = boost::asio;
using asio::awaitable;

namespace {

// Any constant both runners agree on: the lock only serializes vidq's own migrations.
constexpr const char* migration_lock = "SELECT pg_advisory_xact_lock(7469647105)";  // "vidq" + 1

constexpr const char* create_tracking =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INT PRIMARY KEY, name TEXT NOT NULL,"
    " applied_at BIGINT NOT NULL DEFAULT (extract(epoch from clock_timestamp()) * 1000)::bigint)";

awaitable<result<void>> run(connection& c, std::string_view sql) {
  auto r = co_await c.query(sql);
  if (!r) co_return r.error();
  co_return result<void>{};
}

awaitable<void> roll_back(connection& c) {
  if (c.in_transaction()) (void)co_await c.query("ROLLBACK");
}

}  // namespace

int latest_schema_version() {
  const auto all = embedded_migrations();
  return all.empty() ? 0 : all.back().version;
}

awaitable<result<int>> schema_version(connection& c) {
  auto exists = co_await c.query("SELECT to_regclass('schema_migrations') IS NOT NULL");
  if (!exists) co_return exists.error();
  if (exists->text(0, 0) != "t") co_return 0;
  auto v = co_await c.query("SELECT coalesce(max(version), 0) FROM schema_migrations");
  if (!v) co_return v.error();
  co_return static_cast<int>(v->int64(0, 0));
}

awaitable<result<migrate_outcome>> migrate(connection& c, std::span<const migration> all) {
  const int target = all.empty() ? 0 : all.back().version;
  auto before = co_await schema_version(c);
  if (!before) co_return before.error();
  migrate_outcome outcome{*before, *before};
  if (*before > target) co_return make_error_code(errc::schema_too_new);

  for (const auto& m : all) {
    if (m.version <= outcome.to_version) continue;
    auto step = [&]() -> awaitable<result<bool>> {
      if (auto r = co_await run(c, "BEGIN"); !r) co_return result<bool>(boost::system::in_place_error, r.error());
      if (auto r = co_await run(c, migration_lock); !r) co_return result<bool>(boost::system::in_place_error, r.error());
      if (auto r = co_await run(c, create_tracking); !r) {
        co_return result<bool>(boost::system::in_place_error, r.error());
      }
      // Under the lock: another process may have migrated meanwhile.
      auto now = co_await schema_version(c);
      if (!now) co_return result<bool>(boost::system::in_place_error, now.error());
      if (*now >= m.version) {
        outcome.to_version = *now;
        co_return false;
      }
      if (auto r = co_await c.exec_script(m.sql); !r) co_return result<bool>(boost::system::in_place_error, r.error());
      auto recorded = co_await c.query("INSERT INTO schema_migrations(version, name) VALUES ($1, $2)",
                                       args(std::to_string(m.version), std::string(m.name)));
      if (!recorded) co_return result<bool>(boost::system::in_place_error, recorded.error());
      co_return true;
    };
    auto applied = co_await step();
    if (!applied) {
      co_await roll_back(c);
      co_return applied.error();
    }
    if (auto r = co_await run(c, "COMMIT"); !r) co_return r.error();
    if (*applied) outcome.to_version = m.version;
  }
  co_return outcome;
}

}  // namespace vidq::store::pg
