// libFuzzer: the TOML config loader (toml++ then vidq's checks). A config_error is the
// expected answer to garbage; anything else escaping, or a sanitizer report, is a bug.
#include "vidq/ops/config.hpp"

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = [] {
    char dir_template[] = "/tmp/vidq-fuzz-XXXXXX";
    const char* dir = ::mkdtemp(dir_template);
    if (dir == nullptr) std::abort();
    return std::string(dir) + "/vidq.toml";
  }();
  std::FILE* out = std::fopen(path.c_str(), "wb");
  if (out == nullptr) std::abort();
  if (size > 0) std::fwrite(data, 1, size, out);
  std::fclose(out);
  try {
    (void)vidq::ops::load_config(path);
  } catch (const vidq::ops::config_error&) {
  }
  return 0;
}
