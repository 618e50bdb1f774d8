#pragma once
// Fetching a succeeded job's files: the video (what was paid for) and its cover, streamed by
// net::download to <output>/<stem>.mp4 and .png or .jpg by content (`.part`, fsync, rename,
// directory fsync); the stem comes from [output] path_template (output_name.hpp). An interface so the scheduler's tests can script outcomes; the HTTPS
// implementation maps transport failures to verdicts through classify(operation::download).
// Decisions (cover best-effort, folder names): docs/ENGINE_DECISIONS.md §7.

#include "vidq/net/download.hpp"
#include "vidq/net/https_client.hpp"
#include "vidq/provider/error_class.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace vidq::engine {

// Deliberately not an aggregate, like net::http_request: GCC 12 miscompiles an aggregate
// temporary holding a std::string built inside a co_await expression
// (`co_await f.fetch({.batch = ...})`); with a constructor that form cannot compile.
struct fetch_request {
  fetch_request() = default;
  fetch_request(std::int64_t id, std::string batch_name, std::string video, std::string cover = {})
      : job_id(id), batch(std::move(batch_name)), video_url(std::move(video)), cover_url(std::move(cover)) {}

  std::int64_t job_id = 0;
  std::string batch;      // the job's batch name, any text
  std::string video_url;  // from the SUCCESS poll
  std::string cover_url;  // may be empty: no cover
  bool urls_refreshed = false;  // these URLs come from a re-poll after a 403/404
  // Where the files go relative to the output folder, without extension (output_name.hpp);
  // empty: job_file_path's <batch folder>/<id>.
  std::filesystem::path stem;
};

struct fetched {
  std::filesystem::path video_path;
  std::uint64_t video_bytes = 0;
  std::string video_sha256;  // lowercase hex
  std::filesystem::path cover_path;  // empty when there is no cover
  std::string cover_error;           // why cover_url was set but no cover was stored
};

using fetch_result = std::variant<fetched, provider::verdict>;

class result_fetcher {
 public:
  virtual ~result_fetcher() = default;
  // Downloads the video, then the cover (best-effort). Result: `fetched`, or the verdict
  // for the video: retry refresh_urls on 403/404/410 (url_expired once urls_refreshed),
  // retry on truncation, timeouts, 5xx, network and disk errors, fail_job for URLs that can
  // never work (refused scheme or redirect, too large). After a failure no file and no
  // `.part` of the video remains. Cancellation (terminal): the transfer stops, the `.part`
  // is removed, and the result is a retry verdict with error_code "cancelled".
  // `req` must stay alive until the await completes.
  virtual boost::asio::awaitable<fetch_result> fetch(const fetch_request& req) = 0;
};

class https_result_fetcher final : public result_fetcher {
 public:
  // `http` must outlive this object. Files go under `output_dir` (created when missing),
  // written as `<name><part_suffix>` until complete (net::download).
  https_result_fetcher(net::https_client& http, std::filesystem::path output_dir,
                       net::download_options options = {}, std::string part_suffix = ".part");
  boost::asio::awaitable<fetch_result> fetch(const fetch_request& req) override;
  // A SIGHUP reload's [output] dir: fetches that start afterwards write there.
  void set_output_dir(std::filesystem::path output_dir) { output_dir_ = std::move(output_dir); }

 private:
  net::https_client& http_;
  std::filesystem::path output_dir_;
  net::download_options options_;
  std::string part_suffix_;
};

// The folder name for a batch: only [A-Za-z0-9._-], never empty, never "." or "..", no
// leading '.', at most 64 + 13 bytes. A name that is already safe (and does not end like a
// hashed name) is kept as is; any other gets a readable prefix plus "-" and 12 hex digits of
// the SHA-256 of the original, so different batches never share a folder (barring a 48-bit
// hash collision). Pure, total.
std::string sanitize_batch_name(std::string_view batch);

// <output_dir>/<sanitize_batch_name(batch)>/<job_id><extension>.
std::filesystem::path job_file_path(const std::filesystem::path& output_dir, std::string_view batch,
                                    std::int64_t job_id, std::string_view extension);

// A download failure → what the scheduler does. Pure (the mapping is the decision).
provider::verdict classify_download_error(const net::request_error& e, bool urls_refreshed);

}  // namespace vidq::engine
