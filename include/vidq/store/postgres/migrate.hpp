#pragma once
// Brings a PostgreSQL database to the newest embedded schema (migrations/postgres/), the way
// store::migrate does for SQLite: each migration in its own transaction together with its
// schema_migrations row, so a crash leaves the database at a whole version. Several daemons
// starting at once (or `vidq migrate` while they run) take turns on a transaction-level
// advisory lock; the second finds the work done.

#include "vidq/core/error.hpp"
#include "vidq/store/postgres/connection.hpp"
#include "vidq/store/postgres/migrations.hpp"

namespace vidq::store::pg {

struct migrate_outcome {
  int from_version = 0;
  int to_version = 0;
};

// Errors: errc::schema_too_new when the database was migrated by a newer vidq (nothing is
// touched); the connection's errors otherwise (details in c.last_failure()).
boost::asio::awaitable<result<migrate_outcome>> migrate(connection& c,
                                                        std::span<const migration> all = embedded_migrations());

// The version recorded in schema_migrations (0 for an empty database).
boost::asio::awaitable<result<int>> schema_version(connection& c);

int latest_schema_version();

}  // namespace vidq::store::pg
