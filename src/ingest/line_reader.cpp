#include "vidq/ingest/line_reader.hpp"

#include <cstring>

namespace vidq::ingest {
namespace {

// Excel's "CSV UTF-8" and some editors start a file with a UTF-8 byte-order mark; it is not
// part of the first field or JSON value.
void drop_bom(std::string_view& line) {
  constexpr std::string_view bom = "\xEF\xBB\xBF";
  if (line.substr(0, bom.size()) == bom) line.remove_prefix(bom.size());
}

}  // namespace

line_reader::line_reader(std::FILE* file, std::size_t max_line_bytes)
    : file_(file), max_(max_line_bytes), buffer_(std::max<std::size_t>(max_line_bytes * 2, 1 << 16), '\0') {}

bool line_reader::fill() {
  if (eof_) return false;
  if (begin_ > 0) {
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  const std::size_t got = std::fread(buffer_.data() + end_, 1, buffer_.size() - end_, file_);
  if (got == 0) eof_ = true;
  end_ += got;
  return got > 0;
}

line_reader::status line_reader::next(std::string_view& line) {
  bool skipping = false;
  for (;;) {
    const char* start = buffer_.data() + begin_;
    const auto* newline = static_cast<const char*>(std::memchr(start, '\n', end_ - begin_));
    if (newline) {
      const std::size_t length = static_cast<std::size_t>(newline - start);
      begin_ += length + 1;
      consumed_ += length + 1;
      ++line_number_;
      if (skipping || length > max_) return status::too_long;
      line = std::string_view(start, length);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line_number_ == 1) drop_bom(line);
      return status::line;
    }
    if (end_ - begin_ > max_) {
      // Over the limit and still no newline: drop what we have and keep scanning.
      consumed_ += end_ - begin_;
      begin_ = end_ = 0;
      skipping = true;
    }
    if (!fill()) {
      if (begin_ == end_) {
        if (!skipping) return status::end;
        ++line_number_;
        return status::too_long;
      }
      // Last line without a trailing newline.
      const std::size_t length = end_ - begin_;
      line = std::string_view(buffer_.data() + begin_, length);
      consumed_ += length;
      begin_ = end_;
      ++line_number_;
      if (skipping || length > max_) return status::too_long;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line_number_ == 1) drop_bom(line);
      return status::line;
    }
  }
}

}  // namespace vidq::ingest
