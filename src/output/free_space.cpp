#include "vidq/output/free_space.hpp"

#include <sys/statvfs.h>

namespace vidq::output {

std::optional<std::uint64_t> free_bytes(const std::filesystem::path& dir) {
  std::filesystem::path at = dir.empty() ? std::filesystem::path(".") : dir;
  for (int up = 0; up < 64; ++up) {
    struct statvfs st {};
    if (::statvfs(at.c_str(), &st) == 0) {
      return static_cast<std::uint64_t>(st.f_bavail) * static_cast<std::uint64_t>(st.f_frsize);
    }
    if (!at.has_relative_path()) break;  // the root itself failed
    at = at.parent_path();
    if (at.empty()) at = ".";
  }
  return std::nullopt;
}

}  // namespace vidq::output
