#pragma once
// What the status server answers, decided without any socket: a request (method, target,
// the few headers that matter, body) in, a reply out. The coroutines in server.cpp only read
// requests and write replies (and stream files a reply names). Handlers run on the daemon's
// thread and use its SQLite connection; every query is indexed and bounded (queries.hpp).

#include "vidq/status/files.hpp"
#include "vidq/status/queries.hpp"
#include "vidq/status/server.hpp"
#include "vidq/store/job_store.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <filesystem>
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
  http_reply handle(const http_request_view& req);

 private:
  struct snapshot {
    millis at = 0;
    std::vector<store::batch_summary> batches;
    db_gauges gauges;
  };

  http_reply dispatch(const http_request_view& req);
  http_reply from_error(error_code ec, std::string_view what);
  result<const snapshot*> current_snapshot();
  void after_mutation();

  http_reply healthz();
  http_reply metrics();
  http_reply serve_file(const http_request_view& req, std::string_view folder, std::string_view name);
  http_reply serve_job_file(const http_request_view& req, std::string_view id_text, std::string_view which);
  http_reply send_file(const http_request_view& req, const resolved_file& file, std::string_view content_type);
  http_reply manifest(std::string_view batch, const std::vector<std::pair<std::string, std::string>>& query);
  http_reply jobs_list(const std::vector<std::pair<std::string, std::string>>& query);
  http_reply jobs_create(std::string_view body);
  http_reply job_get(std::string_view id_text);
  http_reply job_transition(std::string_view id_text, bool cancel);
  http_reply batches();
  http_reply accounts();
  http_reply account_pause(std::string_view name, std::string_view body, bool pause);
  http_reply timeline(const std::vector<std::pair<std::string, std::string>>& query);
  http_reply failures(const std::vector<std::pair<std::string, std::string>>& query);
  http_reply gallery(const std::vector<std::pair<std::string, std::string>>& query);

  status_server_deps& deps_;
  access_policy policy_;
  store::job_store jobs_;
  std::optional<snapshot> snapshot_;
};

}  // namespace vidq::status
