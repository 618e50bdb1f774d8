#pragma once

namespace vidq::ops {

// Parses argv, runs the chosen subcommand, and returns the process exit code:
// 0 ok, 1 runtime failure, 2 usage or configuration error (DESIGN.md §4).
int run_cli(int argc, char** argv);

}  // namespace vidq::ops
