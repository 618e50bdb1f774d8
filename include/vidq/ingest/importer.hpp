#pragma once
// `vidq import FILE`: JSONL or CSV (with a header row) → jobs, one transaction per chunk.
// Invalid records are reported with their line number and skipped; duplicate keys are
// counted and skipped (re-importing a file is a no-op). A UTF-8 byte-order mark at the start
// (Excel's "CSV UTF-8") is skipped; a CSV header that names a column twice refuses the file.

#include "vidq/core/clock.hpp"
#include "vidq/core/error.hpp"
#include "vidq/ingest/job_record.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace vidq::store {
class operator_store;
}

namespace vidq::ingest {

enum class input_format { jsonl, csv };

struct import_problem {
  std::size_t line = 0;  // 1-based; for CSV the line where the record starts
  std::string reason;
};

struct import_summary {
  std::size_t inserted = 0;
  std::size_t duplicates = 0;
  std::size_t invalid = 0;
  std::vector<import_problem> problems;  // the first max_reported_problems of them
  // Set when the file as a whole cannot be read (a CSV header naming one column twice):
  // nothing was imported.
  std::optional<import_problem> refused;
};

struct import_options {
  record_context record;
  std::size_t chunk_rows = 10'000;            // rows per transaction
  std::size_t max_record_bytes = 1 << 20;     // longer lines are rejected unread
  std::size_t max_reported_problems = 1000;
  // Called after each chunk with (bytes consumed, total bytes).
  std::function<void(std::uint64_t, std::uint64_t)> progress;
};

input_format guess_format(const std::string& path);  // ".csv" → csv, anything else → jsonl

// Errors: errc::not_found / io_error for the file, database_* for the DB. A bad record is
// not an error: it is counted in the summary.
result<import_summary> import_file(store::operator_store& store, const std::string& path,
                                   input_format format, const import_options& options);

}  // namespace vidq::ingest
