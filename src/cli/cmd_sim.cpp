#include "command.hpp"

#include <cstdio>

namespace vidq::cli {

// Placeholder until the simulator lands (issue 3); replaced by the real command.
void register_sim(CLI::App& root, context& ctx) {
  auto* cmd = root.add_subcommand("sim", "Run the provider simulator (not built yet)");
  cmd->callback([&ctx] {
    std::fputs("vidq sim: not available in this build\n", stderr);
    ctx.exit_code = exit_failure;
  });
}

}  // namespace vidq::cli
