#pragma once
// One row of `jobs` and one of `job_events`, as read by the store. Column meanings:
// docs/DATA.md. Times are Unix epoch milliseconds; cost is milli-CNY.

#include "vidq/core/clock.hpp"
#include "vidq/core/error.hpp"
#include "vidq/core/job_state.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace vidq::store {

class statement;

struct job_row {
  std::int64_t id = 0;
  std::optional<std::string> key;
  std::string batch;
  std::int64_t priority = 0;
  std::string account;
  std::string model;
  std::optional<std::string> prompt;
  std::optional<std::string> image_url;
  std::string params;
  job_state state = job_state::queued;
  std::int64_t attempts = 0;
  millis not_before = 0;
  std::optional<std::string> request_id;
  std::optional<std::string> task_id;
  std::optional<millis> submitted_at;
  std::optional<millis> next_poll_at;
  std::int64_t polls = 0;
  std::optional<millis> finished_at;
  std::optional<std::string> video_url;
  std::optional<std::string> cover_url;
  std::optional<std::string> video_path;
  std::optional<std::string> cover_path;
  std::optional<std::int64_t> video_bytes;
  std::optional<std::string> video_sha256;
  std::int64_t cost = 0;
  std::optional<std::string> error_code;
  std::optional<std::string> error_message;
  millis created_at = 0;
  millis updated_at = 0;
  // What the row asked for when a pool claim put another name in `account` ('' or '*' or
  // 'default'); nullopt when `account` is what it asked for (migrations/0003).
  std::optional<std::string> requested_account;
  // Re-polls of the stored task for fresh result URLs after a failed download (migrations/0005).
  std::int64_t refetches = 0;
  std::optional<millis> seen_running_at;  // the last poll that saw it PROCESSING (migration 0007)
  // PostgreSQL only (issue 14): the epoch at which this daemon owns the row; every write of a
  // claimed row is guarded by it there. Always 0 on SQLite (not in VIDQ_JOB_COLUMNS).
  std::int64_t epoch = 0;
};

struct job_event {
  std::int64_t id = 0;
  std::int64_t job_id = 0;
  millis at = 0;
  std::optional<std::string> from_state;
  std::string to_state;
  std::optional<std::string> detail;
};

// The column list every row-returning query selects, in job_row order. A macro so that it
// concatenates into constant SQL strings at compile time.
#define VIDQ_JOB_COLUMNS                                                                        \
  "id, key, batch, priority, account, model, prompt, image_url, params, state, attempts, "      \
  "not_before, request_id, task_id, submitted_at, next_poll_at, polls, finished_at, "           \
  "video_url, cover_url, video_path, cover_path, video_bytes, video_sha256, cost, error_code, " \
  "error_message, created_at, updated_at, requested_account, refetches, seen_running_at"
// Reads a row selected with VIDQ_JOB_COLUMNS starting at column `first`.
job_row read_job_row(const statement& stmt, int first = 0);
// Steps `stmt` to the end and reads every row. Errors: those of statement::step().
result<std::vector<job_row>> read_job_rows(statement& stmt);

}  // namespace vidq::store
