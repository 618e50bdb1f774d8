#pragma once
// The files the simulator serves. A task's video is the shipped sample MP4 followed by a
// top-level `free` box (ISO/IEC 14496-12 §8.1.2: players skip it) that carries the task id and
// optional zero padding up to a target size: every task gets different bytes and a realistic
// size, and the bytes are produced on the fly so a 25 MB "4K" file costs no memory.

#include "vidq/sim/config.hpp"
#include "vidq/sim/random.hpp"
#include "vidq/sim/validate.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace vidq::sim {

class video_file {
 public:
  // `target_size` below the minimum (sample + box header + id line) yields the minimum.
  video_file(std::string_view task_id, std::uint64_t target_size);

  std::uint64_t size() const { return size_; }
  // Copies bytes [offset, offset + out.size()) into out; the range must lie within size().
  void read(std::uint64_t offset, std::span<char> out) const;
  // Lowercase hex SHA-256 of the whole file (computed by streaming, never materialized).
  std::string sha256_hex() const;

 private:
  std::string trailer_head_;  // box header + id line; zeros follow up to size_
  std::uint64_t size_ = 0;
};

// The size a task's video should have: the sample's own size when sizes are not realistic,
// else a draw from the range of its resolution class, scaled by duration/5 and for 60 fps.
std::uint64_t video_size_for(const task_spec& spec, const file_sizes& sizes, stream& draw);

// A single byte range of an HTTP Range header, inclusive bounds.
struct byte_range {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
};
enum class range_kind { full, partial, unsatisfiable };

// Parses "bytes=a-b", "bytes=a-" and "bytes=-n" against a file of `size` bytes (RFC 9110
// §14.1.2). Anything else, including multiple ranges, is served in full (a server may ignore
// Range). An empty file or a start beyond the end is unsatisfiable (416).
range_kind parse_range(std::string_view header, std::uint64_t size, byte_range& out);

}  // namespace vidq::sim
