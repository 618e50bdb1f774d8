#pragma once
// One daemon per database (DESIGN.md §2): two would both claim and submit. An exclusive
// flock(2) on "<database>.lock", held for the life of the process. The kernel drops it
// when the process dies, even by kill -9, so a crash never leaves a stale lock behind.
#include "vidq/core/error.hpp"

#include <optional>
#include <string>

namespace vidq::daemon {

class instance_lock {
 public:
  // Takes the lock or explains why not in `why` (another daemon and its pid, or the
  // error). The file gets the holder's pid, for the message of the next one.
  static std::optional<instance_lock> acquire(const std::string& database_path, std::string& why);
  instance_lock(instance_lock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  instance_lock& operator=(instance_lock&&) = delete;
  ~instance_lock();

 private:
  explicit instance_lock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace vidq::daemon
