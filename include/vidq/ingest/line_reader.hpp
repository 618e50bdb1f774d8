#pragma once
// Reads a file line by line with a bounded buffer: a line longer than the limit is skipped
// without being held in memory, so a 10 MB garbage line costs no more than a short one.

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace vidq::ingest {

class line_reader {
 public:
  line_reader(std::FILE* file, std::size_t max_line_bytes);

  enum class status { line, too_long, end };
  // The next line without its '\n' (and a trailing '\r'); a UTF-8 byte-order mark at the
  // start of the file is dropped. `line` stays valid until the next call. I/O errors end the stream; check error() afterwards.
  status next(std::string_view& line);

  std::size_t line_number() const { return line_number_; }  // of the line just returned
  std::uint64_t bytes_consumed() const { return consumed_; }
  bool error() const { return std::ferror(file_) != 0; }

 private:
  bool fill();

  std::FILE* file_;
  std::size_t max_;
  std::string buffer_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  std::size_t line_number_ = 0;
  std::uint64_t consumed_ = 0;
  bool eof_ = false;
};

}  // namespace vidq::ingest
