#include "vidq/engine/disk_pressure.hpp"

#include <algorithm>
#include <cerrno>

namespace vidq::engine {

bool is_disk_pressure(const error_code& ec) noexcept {
  if (ec.category() != boost::system::system_category() && ec.category() != boost::system::generic_category()) {
    return false;
  }
  const int e = ec.value();
  return e == ENOSPC || e == EDQUOT || e == EIO;
}

namespace {
std::string mib(std::uint64_t bytes) { return std::to_string(bytes / (1024 * 1024)) + " MiB"; }
}  // namespace

std::optional<std::string> low_space_block(std::uint64_t free_bytes, std::uint64_t min_free_bytes) {
  if (min_free_bytes == 0 || free_bytes >= min_free_bytes) return std::nullopt;
  return "the output folder has " + mib(free_bytes) + " free, below [output] min_free_mb (" + mib(min_free_bytes) +
         "): new submits wait until space returns";
}

void disk_pause::grow_wait() {
  wait_ = wait_ == 0 ? cfg_.first_check
                     : std::min<millis>(cfg_.max_check, static_cast<millis>(static_cast<double>(wait_) * cfg_.check_growth));
}

void disk_pause::on_write_failed(std::string reason, millis now) {
  // A write that fails again right after a resume finds the wait where it was: it grows.
  grow_wait();
  downloads_paused_ = true;
  write_reason_ = std::move(reason);
  if (!since_) since_ = now;
  next_check_ = now + wait_;
}

void disk_pause::on_write_ok() {
  wait_ = 0;
  if (!downloads_paused_ && !low_) since_.reset();
}

bool disk_pause::on_free_space(std::uint64_t free_bytes, millis now) {
  free_ = free_bytes;
  low_ = low_space_block(free_bytes, min_free_);
  if (low_ && !since_) since_ = now;
  if (downloads_paused_) {
    const bool room = min_free_ == 0 ? free_bytes > 0 : free_bytes >= min_free_;
    if (!room) {
      grow_wait();
      next_check_ = now + wait_;
      return false;
    }
    downloads_paused_ = false;
    write_reason_.clear();
    next_check_ = now + cfg_.first_check;
    return true;
  }
  if (!low_ && wait_ == 0) since_.reset();
  // Below the floor admission waits for space: look often (statvfs costs microseconds).
  next_check_ = now + (low_ ? cfg_.first_check : cfg_.steady_check);
  return false;
}

void disk_pause::on_check_failed(millis now) {
  if (downloads_paused_) {
    grow_wait();
    next_check_ = now + wait_;
  } else {
    next_check_ = now + cfg_.steady_check;
  }
}

disk_view disk_pause::view() const {
  disk_view v;
  v.downloads_paused = downloads_paused_;
  v.admission_paused = low_.has_value();
  if (downloads_paused_) {
    v.reason = "downloads paused: " + write_reason_;
  } else if (low_) {
    v.reason = *low_;
  }
  if (downloads_paused_ && low_) v.reason += "; " + *low_;
  if (downloads_paused_ || low_) v.since = since_;
  v.free_bytes = free_;
  v.min_free_bytes = min_free_;
  return v;
}

}  // namespace vidq::engine
