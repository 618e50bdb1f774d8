#pragma once
// Serving result files read-only. GET /files/jobs/<id>/video|cover serves the paths the
// daemon recorded for that job (whatever [output] path_template named them); the older
// GET /files/<batch folder>/<job id>.(mp4|png) accepts only names engine::job_file_path
// produces. Either way the resolved path (symlinks followed) must stay inside the output
// folder, and video supports single byte ranges so that <video> can seek. Pure, except
// resolve_output_file / resolve_recorded_file which look at the filesystem.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace vidq::status {

struct file_ref {
  std::string folder;  // a sanitize_batch_name() result: [A-Za-z0-9._-], no leading '.'
  std::int64_t job_id = 0;
  std::string extension;  // ".mp4" or ".png"
  std::string_view content_type() const { return extension == ".mp4" ? "video/mp4" : "image/png"; }
};

// The two decoded path segments after /files/ → a reference, or nullopt for anything else
// ("..", empty, slashes, other extensions, non-digit names...).
std::optional<file_ref> parse_file_ref(std::string_view folder, std::string_view name);

// The URL path of a job's file: "/files/jobs/<id>/video" or ".../cover".
std::string file_url(std::int64_t job_id, bool cover);

// Content type by a recorded path's extension: video/mp4, image/jpeg, else image/png.
std::string_view content_type_of(const std::filesystem::path& path);

enum class resolve_status { ok, not_found, forbidden };
struct resolved_file {
  resolve_status status = resolve_status::not_found;
  std::filesystem::path path;  // canonical, when ok
  std::uint64_t size = 0;
};

// Canonicalizes output_dir/folder/name and checks that it is a regular file inside the
// canonical output_dir: forbidden when a symlink leads outside, not_found when missing.
resolved_file resolve_output_file(const std::filesystem::path& output_dir, const file_ref& ref);
// The same checks for a path recorded in the database (jobs.video_path / cover_path).
resolved_file resolve_recorded_file(const std::filesystem::path& output_dir, const std::filesystem::path& recorded);

struct byte_range {
  std::uint64_t first = 0;
  std::uint64_t last = 0;  // inclusive
  std::uint64_t length() const { return last - first + 1; }
};

enum class range_status {
  whole,          // no Range header, or one we may ignore (multi-range, malformed): 200
  partial,        // 206 with Content-Range
  unsatisfiable,  // 416 with Content-Range: bytes */size
};
struct range_request {
  range_status status = range_status::whole;
  byte_range range;
};

// Parses a Range header ("bytes=0-99", "bytes=100-", "bytes=-500") against a file of `size`.
range_request parse_range(std::string_view header, std::uint64_t size);

}  // namespace vidq::status
