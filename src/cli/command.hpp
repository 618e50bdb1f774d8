#pragma once
// Shared plumbing of the `vidq` subcommands: each cmd_*.cpp registers one subcommand on the
// root app and records its outcome in the context.

#include <CLI/CLI.hpp>

#include <string>

namespace vidq::cli {

// 3: `import` inserted the valid lines but reported invalid ones (cmd_import.cpp).
// 4: `run --exit-when-idle` stopped with queued work that cannot move without an operator.
// 5: `vidq retry` left jobs alone whose provider task succeeded (their result is paid for).
// 6: `run` stopped because its database file or WAL was deleted or replaced under it
//    (systemd's Restart=on-failure starts it again on the real file).
enum exit_code : int {
  exit_ok = 0,
  exit_failure = 1,
  exit_usage = 2,
  exit_stranded = 4,
  exit_paid_result = 5,
  exit_db_lost = 6,
};

struct context {
  std::string config_path;  // --config, else $VIDQ_CONFIG, else empty (built-in defaults)
  std::string database_override;  // --db: wins over [database] path
  int exit_code = exit_ok;
};

void register_migrate(CLI::App& root, context& ctx);
void register_enqueue(CLI::App& root, context& ctx);
void register_import(CLI::App& root, context& ctx);
void register_list(CLI::App& root, context& ctx);
void register_show(CLI::App& root, context& ctx);
void register_status(CLI::App& root, context& ctx);
void register_export(CLI::App& root, context& ctx);
void register_cancel_retry(CLI::App& root, context& ctx);
void register_account(CLI::App& root, context& ctx);
void register_db(CLI::App& root, context& ctx);
void register_db_copy(CLI::App& db, context& ctx);  // `vidq db copy`, under register_db's `db`
void register_notify(CLI::App& root, context& ctx);
void register_doctor(CLI::App& root, context& ctx);
void register_sim(CLI::App& root, context& ctx);
void register_run(CLI::App& root, context& ctx);
void register_version(CLI::App& root, context& ctx);

}  // namespace vidq::cli
