#include "vidq/engine/fetch.hpp"

#include "vidq/engine/disk_pressure.hpp"
#include "vidq/engine/output_name.hpp"
#include "vidq/net/sha256.hpp"
#include "vidq/ops/log.hpp"

#include <boost/asio/error.hpp>
#include <boost/json/object.hpp>

#include <algorithm>
#include <cstdio>
#include <fcntl.h>
#include <system_error>
#include <unistd.h>
#include <utility>

namespace vidq::engine {
namespace {

using provider::action;
using provider::retry_hint;
using provider::verdict;

constexpr std::size_t max_prefix = 64;
constexpr std::size_t hash_hex = 12;

bool allowed(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '-';
}

// "-" + 12 lowercase hex digits at the end: the shape of a hashed name, which a kept-as-is
// name must not have, or it could equal another batch's hashed name.
bool looks_hashed(std::string_view s) noexcept {
  if (s.size() < hash_hex + 1 || s[s.size() - hash_hex - 1] != '-') return false;
  return std::all_of(s.end() - hash_hex, s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

verdict make(action a, retry_hint h, std::string code, std::string message, bool consumes = true) {
  verdict v;
  v.what = a;
  v.hint = h;
  v.error_code = std::move(code);
  v.message = std::move(message);
  v.consumes_attempt = consumes;
  return v;
}

// A new directory entry is durable only once its parent is fsynced.
void fsync_dir(const std::filesystem::path& dir) noexcept {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);  // best effort: the video's own rename + fsync is what must not fail
  ::close(fd);
}

// Creates the batch folder (and the output folder) when missing.
std::error_code make_folder(const std::filesystem::path& dir) {
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return {};
  if (!std::filesystem::create_directories(dir, ec) && ec) return ec;
  fsync_dir(dir.parent_path());
  fsync_dir(dir.parent_path().parent_path());
  return {};
}

// A cover is stored as .png and renamed to .jpg when its bytes say JPEG (a few bytes read
// from a file just written; a failed rename keeps the .png, which browsers sniff anyway).
std::filesystem::path named_by_content(const std::filesystem::path& png) {
  char head[4] = {};
  std::size_t got = 0;
  if (std::FILE* f = std::fopen(png.c_str(), "rb")) {
    got = std::fread(head, 1, sizeof head, f);
    std::fclose(f);
  }
  const auto ext = cover_extension(std::string_view(head, got));
  if (ext == ".png") return png;
  std::filesystem::path renamed = png;
  renamed.replace_extension(ext);
  std::error_code ec;
  std::filesystem::rename(png, renamed, ec);
  if (ec) return png;
  fsync_dir(renamed.parent_path());
  return renamed;
}

// A transport message may quote the server: redacted like every other text that may be logged.
std::string safe_message(const net::request_error& e) { return log::redact(e.message()); }

}  // namespace

std::string sanitize_batch_name(std::string_view batch) {
  const bool safe = !batch.empty() && batch.size() <= max_prefix && batch.front() != '.' &&
                    batch.find("..") == std::string_view::npos && std::all_of(batch.begin(), batch.end(), allowed) &&
                    !looks_hashed(batch);
  if (safe) return std::string(batch);
  std::string prefix;
  for (const char c : batch) {
    if (prefix.size() >= max_prefix) break;
    char out = allowed(c) ? c : '_';
    // No leading '.', no "..": the folder can be neither hidden nor a way up.
    if (out == '.' && (prefix.empty() || prefix.back() == '.')) out = '_';
    // One '_' for a run of replaced bytes ("春季" is 6 bytes): a readable prefix.
    if (!allowed(c) && !prefix.empty() && prefix.back() == '_') continue;
    prefix += out;
  }
  if (prefix.empty()) prefix = "batch";
  return prefix + "-" + net::sha256_hex(batch).substr(0, hash_hex);
}

std::filesystem::path job_file_path(const std::filesystem::path& output_dir, std::string_view batch,
                                    std::int64_t job_id, std::string_view extension) {
  return output_dir / sanitize_batch_name(batch) / (std::to_string(job_id) + std::string(extension));
}

verdict classify_download_error(const net::request_error& e, bool urls_refreshed) {
  using net::net_errc;
  const std::string text = safe_message(e);
  if (e.ec == boost::asio::error::operation_aborted) {
    return make(action::retry, retry_hint::normal, "cancelled", "download cancelled", false);
  }
  if (e.ec == net_errc::http_status) {
    provider::transport_outcome o;
    o.what = provider::transport_outcome::kind::response;
    o.http_status = static_cast<int>(e.status);
    provider::classify_context ctx;
    ctx.urls_refreshed = urls_refreshed;
    return provider::classify(provider::operation::download, o, ctx);
  }
  if (e.ec == net_errc::bad_url || e.ec == net_errc::scheme_refused || e.ec == net_errc::redirect_refused ||
      e.ec == net_errc::too_many_redirects) {
    // The same URL can never work; an operator must look (the video may still be fetchable
    // by hand from the provider console).
    return make(action::fail_job, retry_hint::normal, "download_refused", "unusable video URL: " + text);
  }
  if (e.ec == net_errc::body_too_large) {
    return make(action::fail_job, retry_hint::normal, "download_too_large", text);
  }
  if (e.step == net::step::file) {
    // A full disk is this host's trouble, not the job's: the scheduler pauses downloads
    // and keeps the attempt (engine/disk_pressure.hpp).
    if (is_disk_pressure(e.ec)) return make(action::retry, retry_hint::local_disk, "disk_full", text, false);
    return make(action::retry, retry_hint::normal, "download_io", text);
  }
  if (e.ec == net_errc::truncated) return make(action::retry, retry_hint::normal, "download_truncated", text);
  return make(action::retry, retry_hint::normal, "download_network", text);
}

https_result_fetcher::https_result_fetcher(net::https_client& http, std::filesystem::path output_dir,
                                           net::download_options options, std::string part_suffix)
    : http_(http),
      output_dir_(std::move(output_dir)),
      options_(std::move(options)),
      part_suffix_(std::move(part_suffix)) {}

boost::asio::awaitable<fetch_result> https_result_fetcher::fetch(const fetch_request& req) {
  const std::filesystem::path stem =
      req.stem.empty() ? job_file_path(output_dir_, req.batch, req.job_id, "") : output_dir_ / req.stem;
  // Appended, not replace_extension: a stem may hold dots ("SKU-1.2").
  const std::filesystem::path video_path = stem.string() + ".mp4";
  if (const auto ec = make_folder(video_path.parent_path())) {
    const bool disk = is_disk_pressure(error_code(ec.value(), boost::system::generic_category()));
    co_return make(action::retry, disk ? retry_hint::local_disk : retry_hint::normal, disk ? "disk_full" : "download_io",
                   "cannot create " + video_path.parent_path().string() + ": " + ec.message(), !disk);
  }
  // Named arguments (GCC 12: no aggregate temporaries inside a co_await expression).
  std::string video_url = req.video_url;
  net::download_options video_options = options_;
  auto video =
      co_await net::download(http_, std::move(video_url), video_path, std::move(video_options), part_suffix_);
  if (!video) co_return classify_download_error(video.error(), req.urls_refreshed);

  fetched out;
  out.video_path = video_path;
  out.video_bytes = video->bytes;
  out.video_sha256 = video->sha256_hex;
  if (req.cover_url.empty()) co_return out;

  // Best-effort (ENGINE_DECISIONS.md §7): the video is on disk and paid for; a missing cover
  // is reported, never a reason to fetch the video again or to fail the job.
  std::filesystem::path cover_path = stem.string() + ".png";
  std::string cover_url = req.cover_url;
  net::download_options cover_options = options_;
  auto cover =
      co_await net::download(http_, std::move(cover_url), cover_path, std::move(cover_options), part_suffix_);
  if (cover) {
    out.cover_path = named_by_content(cover_path);
  } else {
    out.cover_error = safe_message(cover.error());
    log::warn("cover_download_failed", {{"job", req.job_id}, {"error", out.cover_error}});
  }
  co_return out;
}

}  // namespace vidq::engine
