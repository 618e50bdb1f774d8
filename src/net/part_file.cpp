#include "vidq/net/part_file.hpp"

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

namespace vidq::net {

namespace {

error_code last_errno() { return error_code(errno, boost::system::system_category()); }

// Every 8 MiB, ask the kernel to start writing back what we wrote (without waiting), so the
// final fsync has little left to flush and does not stall the event loop for long.
constexpr std::uint64_t writeback_every = 8u << 20;

}  // namespace

result<part_file> part_file::create(const std::filesystem::path& dest, std::string_view suffix) {
  auto part = dest;
  part += suffix;
  const int fd = ::open(part.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return last_errno();
  return part_file(dest, std::move(part), fd);
}

part_file::part_file(std::filesystem::path dest, std::filesystem::path part, int fd)
    : dest_(std::move(dest)), part_(std::move(part)), fd_(fd), hash_(std::make_unique<sha256>()) {}

part_file::part_file(part_file&& other) noexcept
    : dest_(std::move(other.dest_)),
      part_(std::move(other.part_)),
      fd_(std::exchange(other.fd_, -1)),
      bytes_(other.bytes_),
      unsynced_(other.unsynced_),
      hash_(std::move(other.hash_)),
      digest_(std::move(other.digest_)),
      committed_(std::exchange(other.committed_, true)) {}

part_file::~part_file() { abandon(); }

void part_file::abandon() noexcept {
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));
  if (!committed_ && !part_.empty()) ::unlink(part_.c_str());
  committed_ = true;  // idempotent
}

error_code part_file::write(const void* data, std::size_t n) {
  const auto* p = static_cast<const char*>(data);
  std::size_t left = n;
  while (left > 0) {
    const ssize_t w = ::write(fd_, p, left);
    if (w < 0) {
      if (errno == EINTR) continue;
      return last_errno();
    }
    p += w;
    left -= static_cast<std::size_t>(w);
  }
  hash_->update(data, n);
  bytes_ += n;
  unsynced_ += n;
  if (unsynced_ >= writeback_every) {
    ::sync_file_range(fd_, static_cast<off_t>(bytes_ - unsynced_), static_cast<off_t>(unsynced_),
                      SYNC_FILE_RANGE_WRITE);
    unsynced_ = 0;
  }
  return {};
}

error_code part_file::commit() {
  error_code ec;
  if (::fsync(fd_) != 0) ec = last_errno();
  if (!ec && ::close(std::exchange(fd_, -1)) != 0) ec = last_errno();
  if (!ec && ::rename(part_.c_str(), dest_.c_str()) != 0) ec = last_errno();
  if (ec) {
    abandon();
    return ec;
  }
  committed_ = true;
  digest_ = hash_->hex_digest();
  // The rename is durable only once the directory entry is: fsync the directory.
  auto dir = dest_.parent_path();
  if (dir.empty()) dir = ".";
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return last_errno();
  if (::fsync(dfd) != 0) ec = last_errno();
  ::close(dfd);
  return ec;
}

}  // namespace vidq::net
