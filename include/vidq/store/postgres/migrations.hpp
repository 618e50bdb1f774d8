#pragma once
// The PostgreSQL backend's schema migrations: migrations/postgres/NNNN_name.sql, embedded at
// build time (cmake/embed_pg_migrations.cmake). Each is applied in its own transaction
// together with its row in schema_migrations(version, name, applied_at), which the runner
// creates: PostgreSQL has no PRAGMA user_version.

#include <span>

namespace vidq::store::pg {

struct migration {
  int version;       // NNNN of the file name
  const char* name;  // file name without extension
  const char* sql;   // one script, possibly many statements (simple query protocol)
};

// Every PostgreSQL migration compiled into this binary, sorted by version.
std::span<const migration> embedded_migrations();

}  // namespace vidq::store::pg
