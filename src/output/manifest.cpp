#include "vidq/output/manifest.hpp"
#include "vidq/core/utc_text.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fcntl.h>
#include <unistd.h>

namespace vidq::output {
namespace {

namespace json = boost::json;

constexpr std::array<std::string_view, 17> columns = {
    "id",           "key",           "batch",   "state",      "model",        "video_path",
    "video_relpath", "cover_path",   "video_bytes", "video_sha256", "cost_cny", "error_code",
    "error_message", "task_id",      "request_id", "submitted_at", "finished_at"};

std::string iso_time(std::int64_t ms) {
  return utc_text(ms, "%Y-%m-%dT%H:%M:%SZ");
}

std::string cny(std::int64_t milli) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s%lld.%03lld", milli < 0 ? "-" : "", static_cast<long long>(std::llabs(milli) / 1000),
                static_cast<long long>(std::llabs(milli) % 1000));
  return buf;
}

// The row's values in `columns` order; nullopt = no value (empty CSV field, JSON null).
// A failed or cancelled job's reserved video name is not a file: paths only when succeeded.
std::array<std::optional<std::string>, columns.size()> values(const store::manifest_row& r,
                                                              const std::filesystem::path& output_dir) {
  const bool done = r.state == job_state::succeeded;
  std::optional<std::string> video = done ? r.video_path : std::nullopt;
  std::optional<std::string> relative;
  if (video && !output_dir.empty()) relative = std::filesystem::path(*video).lexically_relative(output_dir).string();
  const auto number = [](const std::optional<std::int64_t>& v) {
    return v ? std::optional<std::string>(std::to_string(*v)) : std::nullopt;
  };
  const auto when = [](const std::optional<std::int64_t>& v) {
    return v ? std::optional<std::string>(iso_time(*v)) : std::nullopt;
  };
  return {std::to_string(r.id),
          r.key,
          r.batch,
          std::string(to_string(r.state)),
          r.model,
          video,
          relative,
          done ? r.cover_path : std::nullopt,
          done ? number(r.video_bytes) : std::nullopt,
          done ? r.video_sha256 : std::nullopt,
          cny(r.cost),
          r.error_code,
          r.error_message,
          r.task_id,
          r.request_id,
          when(r.submitted_at),
          when(r.finished_at)};
}

void fsync_dir(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);  // best effort: the file itself was fsynced before the rename
  ::close(fd);
}

}  // namespace

std::string csv_field(std::string_view text) {
  const bool quote = text.find_first_of(",\"\r\n") != std::string_view::npos ||
                     (!text.empty() && (text.front() == ' ' || text.back() == ' '));
  if (!quote) return std::string(text);
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string render_manifest(std::span<const store::manifest_row> rows, const manifest_options& options) {
  std::string out;
  if (options.format == manifest_format::csv) {
    if (options.bom) out += "\xEF\xBB\xBF";
    for (std::size_t i = 0; i < columns.size(); ++i) {
      if (i) out += ',';
      out += columns[i];
    }
    out += "\r\n";
    for (const auto& r : rows) {
      const auto v = values(r, options.output_dir);
      for (std::size_t i = 0; i < v.size(); ++i) {
        if (i) out += ',';
        if (v[i]) out += csv_field(*v[i]);
      }
      out += "\r\n";
    }
    return out;
  }
  for (const auto& r : rows) {
    const auto v = values(r, options.output_dir);
    json::object o;
    for (std::size_t i = 0; i < v.size(); ++i) {
      const std::string_view name = columns[i];
      if (!v[i]) {
        o[name] = nullptr;
      } else if (name == "id") {
        o[name] = r.id;
      } else if (name == "video_bytes") {
        o[name] = *r.video_bytes;
      } else if (name == "cost_cny") {
        o[name] = static_cast<double>(r.cost) / 1000.0;
      } else {
        o[name] = *v[i];
      }
    }
    out += json::serialize(o);
    out += '\n';
  }
  return out;
}

result<void> write_manifest_file(const std::filesystem::path& path, std::string_view content) {
  const std::filesystem::path temp = path.string() + ".tmp";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return make_error_code(errc::io_error);
  bool ok = true;
  for (std::size_t done = 0; ok && done < content.size();) {
    const auto n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      ok = errno == EINTR;
      continue;
    }
    done += static_cast<std::size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  ok = ::close(fd) == 0 && ok;
  if (ok) ok = std::rename(temp.c_str(), path.c_str()) == 0;
  if (!ok) {
    std::error_code ec;
    std::filesystem::remove(temp, ec);
    return make_error_code(errc::io_error);
  }
  fsync_dir(path.parent_path());
  return {};
}

}  // namespace vidq::output
