#pragma once
// The status server's own reads, each pinned to an index (migrations/0001_init.sql) and
// LIMITed, so that a request costs the daemon's thread milliseconds even at 1M rows:
//   per-state counts         jobs_batch_progress + jobs_queued; spend per batch: charges_batch
//   spend total and today    the charges ledger (charges_at range)
//   timeline                 jobs_finished range on finished_at
//   oldest queued            jobs_queued (covering, min(id))
//   failures                 recent_failures (jobs_failed)
//   gallery                  jobs_batch_progress (batch, 'succeeded'), or the newest
//                            2,000 finished rows through jobs_finished
// Errors: errc::database_error / database_busy.

#include "vidq/core/clock.hpp"
#include "vidq/core/error.hpp"
#include "vidq/status/prometheus.hpp"
#include "vidq/store/job_store.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace vidq::status {

// Gauges that need more than one indexed lookup; `summaries` come from batch_summaries().
result<db_gauges> read_gauges(store::database& db, const std::vector<store::batch_summary>& summaries, millis now);

struct timeline_bucket {
  millis start = 0;  // minute boundary, ms
  std::int64_t succeeded = 0;
  std::int64_t failed = 0;
  std::int64_t cancelled = 0;
};
// `minutes` buckets of one minute ending with the current one, oldest first, counting jobs
// by the minute they finished.
result<std::vector<timeline_bucket>> read_timeline(store::database& db, millis now, int minutes);

struct failure_row {
  std::int64_t id = 0;
  std::optional<std::string> key;
  std::string batch;
  std::string model;
  std::string error_code;
  std::string error_message;
  std::string failed_at;  // "YYYY-MM-DD HH:MM:SS" UTC, as the view shows it
};
result<std::vector<failure_row>> read_failures(store::database& db, int limit);

struct gallery_item {
  std::int64_t id = 0;
  std::optional<std::string> key;
  std::string batch;
  std::string prompt;
  bool has_cover = false;
  std::optional<millis> finished_at;
};
// Newest succeeded jobs first, of one batch or of all.
result<std::vector<gallery_item>> read_gallery(store::database& db, const std::optional<std::string>& batch, int limit);

// The id of the job inserted with `key` (the unique index on key).
result<std::optional<std::int64_t>> job_id_by_key(store::database& db, std::string_view key);

// SELECT 1: whether the connection answers.
result<void> ping(store::database& db);

}  // namespace vidq::status
