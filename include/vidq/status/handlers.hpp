#pragma once
// What the status server answers, decided without any socket: a request (method, target,
// the few headers that matter, body) in, a reply out. The coroutines in server.cpp only read
// requests and write replies (and stream files a reply names). Handlers run on the daemon's
// thread and read through store::status_store (every query indexed and bounded): on SQLite
// they never suspend; on PostgreSQL they wait for the database without blocking the loop,
// and two requests may interleave at those waits.

#include "vidq/status/files.hpp"
#include "vidq/status/prometheus.hpp"
#include "vidq/status/server.hpp"
#include "vidq/store/status_store.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vidq::status {

struct http_request_view {
  boost::beast::http::verb method = boost::beast::http::verb::get;
  std::string_view target;
  std::string_view host;
  std::string_view authorization;
  std::string_view range;
  std::string_view body;
};

// A part of a file to stream from disk instead of `body`.
struct file_send {
  std::filesystem::path path;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

struct http_reply {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<file_send> file;
};

http_reply json_reply(unsigned status, const boost::json::value& body);
// {"error": code, "reason": reason}: what clients and the dashboard show.
http_reply error_reply(unsigned status, std::string_view code, std::string_view reason);

// Constant-time comparison (for the bearer token): the time depends only on the lengths.
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

// Who may ask what, decided once at start from the bound address and [status]
// (docs/STATUS_SERVER.md "Off loopback"). The Host header must always name a loopback
// address, "localhost", the listen address or one of `allowed_hosts` (DNS rebinding: a web
// page can reach any address through a name it controls, but it cannot choose the Host the
// browser sends). Off loopback, reads need the token too unless public_read is set.
struct access_policy {
  std::vector<std::string> allowed_hosts;  // lower-case host names or addresses, no port
  bool token_for_reads = false;            // every endpoint but /healthz needs the bearer token
};

// The policy for a server bound to `bound` with settings `cfg`.
access_policy make_access_policy(const boost::asio::ip::address& bound, const ops::status_config& cfg);
// Whether a Host header value ("name", "name:port", "[v6]:port") passes `policy`.
bool host_allowed(std::string_view host, const access_policy& policy);

class handlers {
 public:
  // DB-derived counts (per batch and state, spend, oldest queued) are cached this long:
  // batch_state_counts reads every index entry (~0.1 s at 1M rows), and a dashboard polling
  // every few seconds plus a Prometheus scrape must not cost the scheduler that each time.
  static constexpr millis snapshot_ttl_ms = 5'000;
  // /healthz fails when the scheduler's last pass is older than this.
  static constexpr millis stale_tick_ms = 30'000;

  handlers(status_server_deps& deps, access_policy policy);

  // Never throws: a bug or an unexpected error becomes a 500 without internals (logged).
  // The views in `req` must stay valid until the reply is returned.
  boost::asio::awaitable<http_reply> handle(http_request_view req);

 private:
  using query_params = std::vector<std::pair<std::string, std::string>>;
  using reply_task = boost::asio::awaitable<http_reply>;

  // Immutable once built: a request keeps the one it got while another replaces snapshot_.
  struct snapshot {
    millis at = 0;
    std::vector<store::batch_summary> batches;
    db_gauges gauges;
  };
  using snapshot_ptr = std::shared_ptr<const snapshot>;

  reply_task dispatch(const http_request_view& req);
  http_reply from_error(error_code ec, std::string_view what);
  boost::asio::awaitable<result<snapshot_ptr>> current_snapshot();
  void after_mutation();

  reply_task healthz();
  reply_task metrics();
  http_reply serve_file(const http_request_view& req, std::string_view folder, std::string_view name);
  reply_task serve_job_file(const http_request_view& req, std::string_view id_text, std::string_view which);
  http_reply send_file(const http_request_view& req, const resolved_file& file, std::string_view content_type);
  reply_task manifest(std::string_view batch, const query_params& query);
  reply_task jobs_list(const query_params& query);
  reply_task jobs_create(std::string_view body);
  reply_task job_get(std::string_view id_text);
  reply_task job_transition(std::string_view id_text, bool cancel);
  reply_task batches();
  http_reply accounts();
  boost::asio::awaitable<http_reply> account_pause(std::string_view name, std::string_view body, bool pause);
  reply_task timeline(const query_params& query);
  reply_task failures(const query_params& query);
  reply_task gallery(const query_params& query);

  status_server_deps& deps_;
  access_policy policy_;
  snapshot_ptr snapshot_;
  // Bumped by every change made through this server: a snapshot read while one happened
  // may predate it, so it is not kept for the next requests.
  std::uint64_t mutations_ = 0;
};

}  // namespace vidq::status
