#include "vidq/core/utc_text.hpp"

#include <ctime>

namespace vidq {

std::string utc_text(millis at, const char* format) {
  const std::time_t secs = static_cast<std::time_t>(at / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  const std::size_t n = std::strftime(buf, sizeof buf, format, &tm);
  return std::string(buf, n);
}

}  // namespace vidq
