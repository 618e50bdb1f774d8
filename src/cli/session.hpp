#pragma once
// What most subcommands start with: the config, and the database opened (and migrated
// when the command may create it). Failures are printed here with the right exit code.

#include "command.hpp"
#include "vidq/core/clock.hpp"
#include "vidq/ops/config.hpp"
#include "vidq/store/operator_store.hpp"
#include "vidq/store/sqlite.hpp"

#include <memory>
#include <optional>

namespace vidq::cli {

// Held by pointer: the store refers to the clock and, on SQLite, to the connection.
struct session {
  ops::config config;
  system_clock clock;
  // The SQLite connection; empty on PostgreSQL ([database] url).
  std::optional<store::database> db;
  // Jobs, pauses, ledger and slots on whichever backend the config names.
  std::unique_ptr<store::operator_store> store;
};

enum class db_access {
  create,        // create and migrate when missing (enqueue, import, migrate)
  existing,      // must exist and be at this binary's schema version
};

// Loads the config (exit 2 on a bad file) and opens the database, SQLite or PostgreSQL
// (exit 2 when it is newer than this binary, 1 when it cannot be opened). Null when
// ctx.exit_code was set.
std::unique_ptr<session> open_session(context& ctx, db_access access);
// The same for a command that works on the SQLite file itself (`vidq db backup`,
// `checkpoint`): on PostgreSQL it says so, and what to use `instead`, and exits 2.
std::unique_ptr<session> open_sqlite_session(context& ctx, db_access access, std::string_view command,
                                             std::string_view instead = {});
// The same with the config already loaded (`vidq run`).
std::unique_ptr<session> open_sqlite_session(context& ctx, db_access access, ops::config cfg);

// Loads only the config. nullopt (and exit 2) on error.
std::optional<ops::config> load_config_or_report(context& ctx);

// Prints "vidq: <what>: <reason>" to stderr, with secrets redacted.
void report_error(std::string_view what, std::string_view reason);

}  // namespace vidq::cli
