#include "vidq/store/migrations.hpp"

#include "vidq/store/sqlite.hpp"

#include <string>

namespace vidq::store {

int latest_schema_version() {
  const auto all = embedded_migrations();
  return all.empty() ? 0 : all.back().version;
}

result<int> schema_version(database& db) {
  auto stmt = db.prepare("PRAGMA user_version");
  if (!stmt) return stmt.error();
  auto row = stmt->step();
  if (!row) return row.error();
  return static_cast<int>(stmt->get_int64(0));
}

result<migrate_outcome> migrate(database& db, std::span<const migration> all) {
  const int target = all.empty() ? 0 : all.back().version;
  auto current = schema_version(db);
  if (!current) return current.error();
  migrate_outcome outcome{*current, *current};
  if (*current > target) return make_error_code(errc::schema_too_new);

  for (const auto& m : all) {
    if (m.version <= outcome.to_version) continue;
    auto tx = transaction::begin(db);
    if (!tx) return tx.error();
    // Re-read under the write lock: another process may have migrated meanwhile.
    auto now = schema_version(db);
    if (!now) return now.error();
    if (*now >= m.version) {
      outcome.to_version = *now;
      continue;
    }
    if (auto r = db.exec(m.sql); !r) return r.error();
    if (auto r = db.exec("PRAGMA user_version = " + std::to_string(m.version)); !r) return r.error();
    if (auto r = tx->commit(); !r) return r.error();
    outcome.to_version = m.version;
  }
  return outcome;
}

}  // namespace vidq::store
