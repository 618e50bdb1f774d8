#pragma once
// What most subcommands start with: the config, and the database opened (and migrated
// when the command may create it). Failures are printed here with the right exit code.

#include "command.hpp"
#include "vidq/core/clock.hpp"
#include "vidq/ops/config.hpp"
#include "vidq/store/sqlite.hpp"

#include <optional>

namespace vidq::cli {

struct session {
  ops::config config;
  store::database db;
  system_clock clock;
};

enum class db_access {
  create,        // create and migrate when missing (enqueue, import, migrate)
  existing,      // must exist and be at this binary's schema version
};

// Loads the config (exit 2 on a bad file) and opens the database (exit 2 when it is newer
// than this binary, 1 when it cannot be opened). nullopt when ctx.exit_code was set.
std::optional<session> open_session(context& ctx, db_access access);

// Loads only the config. nullopt (and exit 2) on error.
std::optional<ops::config> load_config_or_report(context& ctx);

// Prints "vidq: <what>: <reason>" to stderr, with secrets redacted.
void report_error(std::string_view what, std::string_view reason);

}  // namespace vidq::cli
