#pragma once
// A batch manifest: one row per job with what a downstream step needs (key, state, file
// paths absolute and relative to the output folder, bytes, sha256, cost, error, ids, times).
// CSV is RFC 4180 (CRLF, quoted when needed, optional UTF-8 BOM for Excel); JSONL is one
// object per line with the same names. Rendering is pure; write_manifest_file is the one
// function that touches the disk. Columns: docs/OPERATIONS.md "Export".

#include "vidq/core/error.hpp"
#include "vidq/store/output_store.hpp"

#include <filesystem>
#include <span>
#include <string>
#include <string_view>

namespace vidq::output {

enum class manifest_format { csv, jsonl };

struct manifest_options {
  manifest_format format = manifest_format::csv;
  bool bom = false;                  // CSV only: Excel then reads the file as UTF-8
  std::filesystem::path output_dir;  // for the relative paths
};

// The header line (CSV) plus one line per row.
std::string render_manifest(std::span<const store::manifest_row> rows, const manifest_options& options);

// One CSV field as RFC 4180 wants it: quoted when it holds a comma, quote, CR or LF (or
// starts/ends with a space), quotes doubled.
std::string csv_field(std::string_view text);

// Writes `content` to `path` atomically: a temporary file in the same folder, fsync, rename,
// folder fsync. Errors: errc::io_error (nothing is left at `path`'s temporary name).
result<void> write_manifest_file(const std::filesystem::path& path, std::string_view content);

}  // namespace vidq::output
