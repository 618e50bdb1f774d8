#include "vidq/ops/cli.hpp"

int main(int argc, char** argv) { return vidq::ops::run_cli(argc, argv); }
