#pragma once
// A file written as `<dest>.part`, hashed as it is written, and published atomically:
// fsync the file, rename it to `<dest>`, fsync the directory (DESIGN.md §2 downloads). Until
// commit() succeeds `<dest>` is untouched; an abandoned part_file removes its `.part`.
// Blocking file I/O on the calling thread (page-cache writes; see HTTP_CLIENT.md).

#include "vidq/core/error.hpp"

#include "vidq/net/sha256.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace vidq::net {

class part_file {
 public:
  // Creates or truncates `<dest><suffix>` (mode 0644). The directory must exist. Several
  // daemons sharing one output directory give each its own suffix (ending in ".part"), so
  // that one never truncates a file another is still writing.
  // Errors: the errno of open(2) (system category).
  static result<part_file> create(const std::filesystem::path& dest, std::string_view suffix = ".part");

  part_file(part_file&& other) noexcept;
  part_file& operator=(part_file&&) = delete;
  part_file(const part_file&) = delete;
  ~part_file();  // not committed: closes and unlinks the `.part`

  // Appends and hashes. Errors: the errno of write(2) (ENOSPC, EIO...).
  error_code write(const void* data, std::size_t n);
  // fsync, close, rename to `<dest>`, fsync the directory. Errors: errno of the failing
  // call; the `.part` is removed on failure.
  error_code commit();

  std::uint64_t bytes() const noexcept { return bytes_; }
  const std::string& sha256_hex() const noexcept { return digest_; }  // after commit()
  const std::filesystem::path& part_path() const noexcept { return part_; }

 private:
  part_file(std::filesystem::path dest, std::filesystem::path part, int fd);
  void abandon() noexcept;

  std::filesystem::path dest_;
  std::filesystem::path part_;
  int fd_ = -1;
  std::uint64_t bytes_ = 0;
  std::uint64_t unsynced_ = 0;  // bytes written since the last writeback kick
  std::unique_ptr<sha256> hash_;
  std::string digest_;
  bool committed_ = false;
};

}  // namespace vidq::net
