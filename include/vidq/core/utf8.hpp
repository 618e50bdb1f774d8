#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace vidq {

// Number of code points in `text`, or nullopt when it is not well-formed UTF-8 (overlongs,
// surrogates and code points above U+10FFFF are rejected, as RFC 3629 requires).
std::optional<std::size_t> utf8_length(std::string_view text) noexcept;

}  // namespace vidq
