// The disk-pressure pause (issue 11 item 2, docs/DAEMON.md "Disk pressure"): a result that
// cannot be written pauses downloads (the job stays `downloading` with its attempt), a
// free space below [output] min_free_mb holds admission, and a look at the free space with
// backoff (engine/disk_pressure.hpp decides) lifts both when space returns.
#include "vidq/daemon/job_log.hpp"
#include "vidq/daemon/scheduler.hpp"
#include "vidq/ops/log.hpp"

namespace vidq::daemon {

void scheduler::check_disk() {
  const millis t = now();
  const bool was_low = disk_.admission_paused();
  const auto free = opt_.free_space(cfg_.output_dir);
  if (!free) {
    disk_.on_check_failed(t);
    return;
  }
  if (disk_.on_free_space(*free, t)) {
    log::info("downloads_resumed", {{"free_bytes", *free}, {"waiting", disk_waiting_.size()}});
    // Paused first, downloaded first: they have waited longest on a paid result.
    while (!disk_waiting_.empty()) {
      download_queue_.push_front(std::move(disk_waiting_.back()));
      disk_waiting_.pop_back();
    }
  }
  if (disk_.admission_paused() != was_low) {
    queue_dirty_ = true;
    if (disk_.admission_paused()) {
      log::warn("admission_paused_for_disk", {{"detail", disk_.view().reason}});
    } else {
      log::info("admission_resumed_for_disk", {{"free_bytes", *free}});
    }
  }
}

void scheduler::pause_downloads_for_disk(store::job_row row, const provider::verdict& v) {
  metrics_.bump(metrics_.downloads, "disk_paused");
  if (!disk_.downloads_paused()) {
    log::warn("downloads_paused_for_disk",
              {{"code", v.error_code}, {"message", v.message}, {"output_dir", cfg_.output_dir},
               {"detail", "jobs stay downloading with their attempts; resumed when space returns"}});
  }
  disk_.on_write_failed(v.error_code + ": " + v.message, now());
  log_job(log::level::info, "download_paused", row, {{"code", v.error_code}});
  disk_waiting_.push_back(std::move(row));
}

}  // namespace vidq::daemon
