#include "vidq/status/files.hpp"

#include <charconv>
#include <system_error>

namespace vidq::status {
namespace {

bool safe_folder_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

// Parses all of `text` as a decimal without sign; false on anything else or overflow.
bool parse_u64(std::string_view text, std::uint64_t& out) {
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

bool is_within(const std::filesystem::path& root, const std::filesystem::path& p) {
  // Both canonical: compare component by component (a prefix test on strings would let
  // "/videos-evil" pass for "/videos").
  auto r = root.begin();
  auto i = p.begin();
  for (; r != root.end(); ++r, ++i) {
    if (i == p.end() || *r != *i) return false;
  }
  return i != p.end();
}

}  // namespace

std::optional<file_ref> parse_file_ref(std::string_view folder, std::string_view name) {
  // sanitize_batch_name never produces more than 64 + 13 bytes, nor a leading '.'.
  if (folder.empty() || folder.size() > 77 || folder.front() == '.') return std::nullopt;
  for (const char c : folder) {
    if (!safe_folder_char(c)) return std::nullopt;
  }
  const auto dot = name.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  const std::string_view stem = name.substr(0, dot);
  const std::string_view ext = name.substr(dot);
  if (ext != ".mp4" && ext != ".png") return std::nullopt;
  if (stem.empty() || stem.size() > 18 || stem.front() == '0') return std::nullopt;
  for (const char c : stem) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  std::uint64_t id = 0;
  if (!parse_u64(stem, id)) return std::nullopt;
  return file_ref{std::string(folder), static_cast<std::int64_t>(id), std::string(ext)};
}

std::string file_url(std::int64_t job_id, bool cover) {
  return "/files/jobs/" + std::to_string(job_id) + (cover ? "/cover" : "/video");
}

std::string_view content_type_of(const std::filesystem::path& path) {
  const auto ext = path.extension();
  if (ext == ".mp4") return "video/mp4";
  if (ext == ".jpg" || ext == ".jpeg") return "image/jpeg";
  return "image/png";
}

resolved_file resolve_output_file(const std::filesystem::path& output_dir, const file_ref& ref) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path root = fs::canonical(output_dir, ec);
  if (ec) return {};
  return resolve_recorded_file(root, root / ref.folder / (std::to_string(ref.job_id) + ref.extension));
}

resolved_file resolve_recorded_file(const std::filesystem::path& output_dir, const std::filesystem::path& recorded) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path root = fs::canonical(output_dir, ec);
  if (ec) return {};
  // A relative recorded path (a row written by hand) means relative to the output folder.
  const fs::path wanted = recorded.is_absolute() ? recorded : root / recorded;
  // weakly_canonical resolves every symlink on the way, so a link planted in the output
  // folder that points elsewhere shows up as a path outside `root`.
  const fs::path real = fs::weakly_canonical(wanted, ec);
  if (ec) return {};
  if (!is_within(root, real)) return {resolve_status::forbidden, {}, 0};
  const auto status = fs::status(real, ec);
  if (ec || !fs::is_regular_file(status)) return {};
  const auto size = fs::file_size(real, ec);
  if (ec) return {};
  return {resolve_status::ok, real, size};
}

range_request parse_range(std::string_view header, std::uint64_t size) {
  constexpr std::string_view prefix = "bytes=";
  if (header.substr(0, prefix.size()) != prefix) return {};
  const std::string_view spec = header.substr(prefix.size());
  if (spec.find(',') != std::string_view::npos) return {};  // multi-range: the whole file is a valid answer
  const auto dash = spec.find('-');
  if (dash == std::string_view::npos) return {};
  const std::string_view a = spec.substr(0, dash);
  const std::string_view b = spec.substr(dash + 1);
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  if (a.empty()) {  // suffix: the last N bytes
    std::uint64_t n = 0;
    if (!parse_u64(b, n)) return {};
    if (n == 0 || size == 0) return {range_status::unsatisfiable, {}};
    first = n >= size ? 0 : size - n;
    last = size - 1;
  } else {
    if (!parse_u64(a, first)) return {};
    if (b.empty()) {
      last = size == 0 ? 0 : size - 1;
    } else if (!parse_u64(b, last) || last < first) {
      return {};
    }
    if (first >= size) return {range_status::unsatisfiable, {}};
    if (last >= size) last = size - 1;
  }
  return {range_status::partial, {first, last}};
}

}  // namespace vidq::status
