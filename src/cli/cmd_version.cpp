#include "command.hpp"

#include <sqlite3.h>

#include <boost/version.hpp>
#include <openssl/opensslv.h>

#include <cstdio>

namespace vidq::cli {

void register_version(CLI::App& root, context&) {
  auto* cmd = root.add_subcommand("version", "Print the version of vidq and its libraries");
  cmd->callback([] {
    std::printf("vidq %s (sqlite %s, boost %d.%d, %s)\n", VIDQ_VERSION, sqlite3_libversion(),
                BOOST_VERSION / 100000, BOOST_VERSION / 100 % 1000, OPENSSL_VERSION_TEXT);
  });
}

}  // namespace vidq::cli
