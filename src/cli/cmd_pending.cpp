#include "command.hpp"
// Temporary: subcommands not written yet. Removed as each cmd_*.cpp lands.
namespace vidq::cli {
void register_migrate(CLI::App&, context&) {}
void register_enqueue(CLI::App&, context&) {}
void register_import(CLI::App&, context&) {}
void register_list(CLI::App&, context&) {}
void register_show(CLI::App&, context&) {}
void register_status(CLI::App&, context&) {}
void register_cancel_retry(CLI::App&, context&) {}
}  // namespace vidq::cli
