#pragma once
// Epoch milliseconds as UTC text, for every place that prints a time (CLI tables, manifests,
// doctor, status --watch): one strftime wrapper instead of one per file.
#include "vidq/core/clock.hpp"

#include <string>

namespace vidq {

// `format` is a strftime format of at most 48 output characters, e.g. "%Y-%m-%d %H:%M:%S".
std::string utc_text(millis at, const char* format);

}  // namespace vidq
