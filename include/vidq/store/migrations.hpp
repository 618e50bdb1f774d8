#pragma once
// Schema migrations: migrations/NNNN_name.sql, embedded at build time, applied in order
// inside BEGIN IMMEDIATE and tracked by PRAGMA user_version (DESIGN.md §3).

#include "vidq/core/error.hpp"

#include <span>

namespace vidq::store {

class database;

struct migration {
  int version;       // NNNN of the file name
  const char* name;  // file name without extension
  const char* sql;
};

// Every migration compiled into this binary, sorted by version.
std::span<const migration> embedded_migrations();

// The schema version this binary writes and expects.
int latest_schema_version();

struct migrate_outcome {
  int from_version = 0;
  int to_version = 0;
};

// Brings `db` to latest_schema_version(). A no-op when already there. Each migration runs
// in its own BEGIN IMMEDIATE transaction together with its user_version bump, so a crash
// leaves the DB at a whole version. Errors: errc::schema_too_new when the DB was written
// by a newer vidq (nothing is touched), errc::database_error / database_busy otherwise.
result<migrate_outcome> migrate(database& db, std::span<const migration> all = embedded_migrations());

// Reads PRAGMA user_version.
result<int> schema_version(database& db);

}  // namespace vidq::store
