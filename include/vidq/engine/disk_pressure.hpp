#pragma once
// Local disk trouble is a pause, not a job failure (issue 11 item 2, docs/DAEMON.md "Disk
// pressure"). A result that cannot be written because the output file system is full (or
// over quota, or failing) says nothing about the job: its task is paid and its URL stays
// valid for about a day. So the job stays `downloading` with its attempt, downloads pause,
// and below [output] min_free_mb admission pauses too (new results would not fit either).
// The pause lifts itself: the free space of the output folder is looked at again, first
// after a second, then less and less often (at most every 30 s).
// Pure: errors and free space come in as values, time in `now`; the scheduler does statvfs.

#include "vidq/core/clock.hpp"
#include "vidq/core/error.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace vidq::engine {

// true for the errno values that mean "this host's disk", not "this job": ENOSPC, EDQUOT,
// EIO (system or generic category). Anything else (EACCES, ENOENT...) stays a job error.
bool is_disk_pressure(const error_code& ec) noexcept;

struct disk_pause_config {
  millis first_check = 1'000;    // the first look at the free space after a pause
  millis max_check = 30'000;     // the longest wait between two looks
  double check_growth = 2.0;     // wait × this after each look that found too little
  millis steady_check = 10'000;  // the look while not paused (admission vs min_free_mb)
};

// What the loop shows (status, /api, /healthz, metrics).
struct disk_view {
  bool downloads_paused = false;
  bool admission_paused = false;
  std::string reason;                   // empty when neither is paused
  std::optional<millis> since;          // when the current pause began
  std::optional<std::uint64_t> free_bytes;  // the last statvfs of [output] dir
  std::uint64_t min_free_bytes = 0;
};

// Text for "free space below the admission floor", or nullopt when there is enough (a
// floor of 0 never holds admission).
std::optional<std::string> low_space_block(std::uint64_t free_bytes, std::uint64_t min_free_bytes);

class disk_pause {
 public:
  explicit disk_pause(std::uint64_t min_free_bytes = 0, disk_pause_config cfg = {})
      : cfg_(cfg), min_free_(min_free_bytes) {}

  void set_min_free(std::uint64_t bytes) { min_free_ = bytes; }
  // A result write failed with a disk-pressure error: downloads pause now (again, when a
  // look found space but the write still failed: then the wait keeps growing).
  void on_write_failed(std::string reason, millis now);
  // The free space seen at `now`. Downloads resume when a paused look finds more than the
  // floor (any free byte when the floor is 0); admission holds while below the floor.
  // Returns true when this look resumed downloads.
  bool on_free_space(std::uint64_t free_bytes, millis now);
  // A result was written: the next pause starts again from the first, short wait.
  void on_write_ok();
  // statvfs itself failed (the folder vanished...): keep the pause, look again later.
  void on_check_failed(millis now);

  bool downloads_paused() const { return downloads_paused_; }
  bool admission_paused() const { return low_.has_value(); }
  // When the loop should look at the free space next.
  millis next_check() const { return next_check_; }
  disk_view view() const;

 private:
  void grow_wait();

  disk_pause_config cfg_;
  std::uint64_t min_free_;
  bool downloads_paused_ = false;
  std::string write_reason_;
  std::optional<std::string> low_;  // why admission holds
  std::optional<millis> since_;
  std::optional<std::uint64_t> free_;
  millis wait_ = 0;  // 0: no failed write since the last good one
  millis next_check_ = 0;
};

}  // namespace vidq::engine
