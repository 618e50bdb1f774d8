#pragma once
// Local image files given as job inputs: recognised by their first bytes, never by name.

#include "vidq/core/error.hpp"

#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>

namespace vidq::provider {

enum class image_format { unknown, png, jpeg, webp };

image_format sniff_image_format(std::span<const unsigned char> head) noexcept;
std::string_view mime_type(image_format format) noexcept;  // "image/png", ... ; "" for unknown

struct image_file_info {
  image_format format = image_format::unknown;
  std::uintmax_t bytes = 0;
};

// Reads the first bytes of `path`. Errors: errc::not_found (missing or not a regular
// file), errc::io_error (unreadable).
result<image_file_info> inspect_image_file(const std::filesystem::path& path);

}  // namespace vidq::provider
