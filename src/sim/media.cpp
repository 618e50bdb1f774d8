#include "vidq/sim/media.hpp"

#include "vidq/sim/assets.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <memory>
#include <vector>

namespace vidq::sim {
namespace {

std::string_view sample() {
  const auto bytes = sample_mp4();
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

bool parse_u64(std::string_view s, std::uint64_t& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

video_file::video_file(std::string_view task_id, std::uint64_t target_size) {
  const std::string line = "vidq-sim task " + std::string(task_id) + "\n";
  const std::uint64_t min_size = sample().size() + 8 + line.size();
  size_ = std::max(min_size, target_size);
  const std::uint64_t box = size_ - sample().size();
  trailer_head_.resize(8);
  // Box header: 32-bit big-endian size, then the type. Sizes stay far below 4 GiB.
  for (int i = 0; i < 4; ++i) trailer_head_[i] = static_cast<char>((box >> (24 - 8 * i)) & 0xff);
  std::memcpy(trailer_head_.data() + 4, "free", 4);
  trailer_head_ += line;
}

void video_file::read(std::uint64_t offset, std::span<char> out) const {
  const std::string_view s = sample();
  std::size_t done = 0;
  while (done < out.size()) {
    const std::uint64_t pos = offset + done;
    std::size_t n = out.size() - done;
    if (pos < s.size()) {
      n = std::min<std::uint64_t>(n, s.size() - pos);
      std::memcpy(out.data() + done, s.data() + pos, n);
    } else if (pos < s.size() + trailer_head_.size()) {
      const std::uint64_t at = pos - s.size();
      n = std::min<std::uint64_t>(n, trailer_head_.size() - at);
      std::memcpy(out.data() + done, trailer_head_.data() + at, n);
    } else {
      std::memset(out.data() + done, 0, n);
    }
    done += n;
  }
}

std::string video_file::sha256_hex() const {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  std::vector<char> chunk(64 * 1024);
  for (std::uint64_t off = 0; off < size_;) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), size_ - off));
    read(off, std::span<char>(chunk.data(), n));
    EVP_DigestUpdate(ctx.get(), chunk.data(), n);
    off += n;
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

std::uint64_t video_size_for(const task_spec& spec, const file_sizes& sizes, stream& draw) {
  if (!sizes.realistic) return 0;
  const int long_side = std::max(spec.width, spec.height);
  std::uint64_t lo = sizes.sd_min, hi = sizes.sd_max;
  if (long_side > 2048) lo = sizes.uhd_min, hi = sizes.uhd_max;
  else if (long_side > 1920) lo = sizes.qhd_min, hi = sizes.qhd_max;
  else if (long_side > 1280) lo = sizes.fhd_min, hi = sizes.fhd_max;
  double bytes = static_cast<double>(draw.between(lo, hi)) * spec.duration_s / 5.0;
  if (spec.fps == 60) bytes *= sizes.fps60_factor;
  return static_cast<std::uint64_t>(bytes);
}

range_kind parse_range(std::string_view header, std::uint64_t size, byte_range& out) {
  constexpr std::string_view prefix = "bytes=";
  if (!header.starts_with(prefix) || header.find(',') != std::string_view::npos) return range_kind::full;
  const std::string_view spec = header.substr(prefix.size());
  const auto dash = spec.find('-');
  if (dash == std::string_view::npos) return range_kind::full;
  const std::string_view a = spec.substr(0, dash), b = spec.substr(dash + 1);
  std::uint64_t first = 0, last = 0;
  if (a.empty()) {  // suffix: the last n bytes
    if (!parse_u64(b, last)) return range_kind::full;
    if (last == 0 || size == 0) return range_kind::unsatisfiable;
    out = {size - std::min(last, size), size - 1};
    return range_kind::partial;
  }
  if (!parse_u64(a, first)) return range_kind::full;
  if (b.empty()) last = size == 0 ? 0 : size - 1;
  else if (!parse_u64(b, last) || last < first) return range_kind::full;
  if (first >= size) return range_kind::unsatisfiable;
  out = {first, std::min(last, size - 1)};
  return range_kind::partial;
}

}  // namespace vidq::sim
