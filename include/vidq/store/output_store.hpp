#pragma once
// The jobs table as the output side sees it: which file names are taken, the batch
// manifest (`vidq export`, GET /api/batches/{batch}/manifest), and whether a batch has
// finished. One storage seam: the CLI and the status server hold no SQL for these.
// Errors: errc::database_error / database_busy.

#include "vidq/core/error.hpp"
#include "vidq/core/job_state.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vidq::store {

class database;

struct manifest_filter {
  std::optional<std::string> batch;
  std::optional<job_state> state;
};

// One job of a manifest; paths as recorded (absolute), times in ms.
struct manifest_row {
  std::int64_t id = 0;
  std::optional<std::string> key;
  std::string batch;
  job_state state = job_state::queued;
  std::string model;
  std::optional<std::string> video_path;
  std::optional<std::string> cover_path;
  std::optional<std::int64_t> video_bytes;
  std::optional<std::string> video_sha256;
  std::int64_t cost = 0;  // milli-CNY: every charge of the job (the ledger), net of refunds
  std::optional<std::string> error_code;
  std::optional<std::string> error_message;
  std::optional<std::string> task_id;
  std::optional<std::string> request_id;
  std::optional<std::int64_t> submitted_at;
  std::optional<std::int64_t> finished_at;
};

// The columns of a manifest_row, in its order, for a SELECT from jobs; the same SQL on both
// backends. cost: the job's total charge from the ledger, every attempt (not jobs.cost,
// the last one).
#define VIDQ_MANIFEST_COLUMNS                                                                  \
  "id, key, batch, state, model, video_path, cover_path, video_bytes, video_sha256, "         \
  "(SELECT coalesce(sum(c.price - c.refunded), 0) FROM charges c WHERE c.job_id = jobs.id), " \
  "error_code, error_message, task_id, request_id, submitted_at, finished_at"

class output_store {
 public:
  explicit output_store(database& db) : db_(db) {}

  // Whether a job other than `except_id` has `video_path` recorded (the jobs_video_path
  // index, migrations/0004).
  result<bool> video_path_taken(std::string_view video_path, std::int64_t except_id);
  // Records the file a downloading job is about to write, before the transfer, so that the
  // next job whose template renders the same name sees it taken. False when the row is no
  // longer downloading (cancelled meanwhile).
  result<bool> reserve_video_path(std::int64_t id, std::string_view video_path);

  // Rows in id order. A batch is read through the batch indexes (jobs_batch_progress for
  // started rows, jobs_queued for queued ones), not by a table scan.
  result<std::vector<manifest_row>> manifest(const manifest_filter& filter);

  // No job of `batch` is queued, submitting, processing or downloading (and it has jobs).
  result<bool> batch_finished(std::string_view batch);

 private:
  database& db_;
};

}  // namespace vidq::store
