#include "vidq/provider/image_file.hpp"

#include <array>
#include <cstring>
#include <fstream>

namespace vidq::provider {

image_format sniff_image_format(std::span<const unsigned char> head) noexcept {
  static constexpr unsigned char png[] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  if (head.size() >= sizeof png && std::memcmp(head.data(), png, sizeof png) == 0) return image_format::png;
  if (head.size() >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF) return image_format::jpeg;
  if (head.size() >= 12 && std::memcmp(head.data(), "RIFF", 4) == 0 &&
      std::memcmp(head.data() + 8, "WEBP", 4) == 0) {
    return image_format::webp;
  }
  return image_format::unknown;
}

std::string_view mime_type(image_format format) noexcept {
  switch (format) {
    case image_format::png: return "image/png";
    case image_format::jpeg: return "image/jpeg";
    case image_format::webp: return "image/webp";
    case image_format::unknown: return "";
  }
  return "";
}

result<image_file_info> inspect_image_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return make_error_code(errc::not_found);
  image_file_info info;
  info.bytes = std::filesystem::file_size(path, ec);
  if (ec) return make_error_code(errc::io_error);
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error_code(errc::io_error);
  std::array<unsigned char, 12> head{};
  in.read(reinterpret_cast<char*>(head.data()), head.size());
  info.format = sniff_image_format(std::span(head.data(), static_cast<std::size_t>(in.gcount())));
  return info;
}

}  // namespace vidq::provider
