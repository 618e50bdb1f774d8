#pragma once
// The HTTPS client: request() for API calls, with keep-alive reuse per origin (bounded pool),
// a deadline on every step, body limits, TLS verification always on, and no retry of anything:
// a failure says whether the request may have reached the server (errors.hpp `delivery`).
//
// Threading: one io_context thread. Not thread-safe by design (no locks): call it only from
// coroutines running on the executor it was created with. Destroy it on that thread too.
//
// Cancellation: every coroutine here reacts to terminal cancellation of its Asio cancellation
// slot (what `co_await (a || b)` emits to the loser): the running step is aborted, the
// connection is closed (never pooled), and the result is operation_aborted with the delivery
// of the moment (not_sent before the request was completely written, maybe_delivered after).

#include "vidq/net/connection.hpp"
#include "vidq/net/connection_pool.hpp"
#include "vidq/net/errors.hpp"
#include "vidq/net/options.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/http/verb.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace vidq::net {

// Deliberately not an aggregate: GCC 12 miscompiles an aggregate temporary holding a
// std::string when it is built inside a co_await expression (`co_await f({.url = ...})`:
// the string's small-buffer pointer is left pointing at the temporary, ASan "bad-free").
// With constructors that form does not compile and `f(http_request(url))` is safe.
struct http_request {
  http_request() = default;
  explicit http_request(std::string target_url, http::verb verb = http::verb::get,
                        std::string request_body = {})
      : method(verb), url(std::move(target_url)), body(std::move(request_body)) {}

  http::verb method = http::verb::get;
  std::string url;  // absolute; https:// (http:// only when allowed)
  std::vector<std::pair<std::string, std::string>> headers;  // Host, User-Agent and
                                                             // Content-Length are set for you
  std::string body;
  request_options options;
};

struct http_response {
  unsigned status = 0;
  std::string content_type;
  std::string retry_after;  // raw header value (seconds or HTTP date); empty when absent
  std::string location;
  std::optional<std::uint64_t> content_length;
  std::string body;
  bool reused_connection = false;  // served on a pooled keep-alive connection
};

// Counters for tests, metrics and benchmarks. Monotonic except `idle`.
struct client_stats {
  std::uint64_t connections_opened = 0;  // successful connects (TLS handshakes included)
  std::uint64_t tls_handshakes = 0;
  std::uint64_t tunnels_opened = 0;      // connections through a CONNECT proxy
  std::uint64_t requests = 0;            // exchanges started
  std::uint64_t reused = 0;              // ... on a pooled connection
  std::uint64_t stale_discarded = 0;     // pooled connections found closed/unclean at reuse
  std::size_t idle = 0;                  // connections in the pool now
};

// GET, HEAD, OPTIONS, TRACE: a server acting twice on these changes nothing.
bool is_safe_method(http::verb v) noexcept;

class https_client {
 public:
  // Errors: those of make_client_tls_context (unreadable ca_file).
  static result<std::unique_ptr<https_client>> create(boost::asio::any_io_executor ex,
                                                      client_options options);
  https_client(boost::asio::any_io_executor ex, client_options options,
               std::unique_ptr<boost::asio::ssl::context> tls);
  https_client(const https_client&) = delete;
  https_client& operator=(const https_client&) = delete;
  ~https_client();

  // One exchange; any status (4xx/5xx included) is a successful result. No redirect is
  // followed (Location is returned). Errors (request_error::ec):
  //   net_errc::bad_url / scheme_refused                         prepare     not_sent
  //   DNS error, errc::timeout                                   resolve     not_sent
  //   connection_refused, errc::timeout, ...                     connect     not_sent
  //   TLS verification/protocol (is_tls_error), errc::timeout    handshake   not_sent
  //   reset, broken pipe, errc::timeout                          write       not_sent
  //   end_of_stream, reset, parse errors, errc::timeout          read_header maybe_delivered
  //   net_errc::truncated / body_too_large, errc::timeout        read_body   maybe_delivered
  //   operation_aborted (cancelled)                              any         per the step
  // A pooled connection is reused only if it is still silent (connection::is_stale) and,
  // for unsafe methods, idle at most pool_limits::unsafe_reuse_max_idle.
  boost::asio::awaitable<net_result<http_response>> request(http_request req);

  // A connection to `o`: pooled (if `allow_reuse` and one idle at most `max_idle` is still
  // silent) or newly opened, through the proxy `proxies` routes `o` to (null: the client's
  // options().proxy). Errors: resolve/connect/handshake, delivery not_sent; a proxy that
  // refuses the tunnel is step connect, net_errc::proxy_*, `status` the proxy's. For
  // download(); request() uses it too. Cancellation: operation_aborted, nothing pooled.
  boost::asio::awaitable<net_result<std::unique_ptr<connection>>> acquire(
      const origin& o, bool allow_reuse, milliseconds max_idle, const timeouts& t,
      const proxy_settings* proxies = nullptr);
  // Returns a connection after a complete exchange. Pooled only when `keep_alive` (the
  // response allowed it), the read buffer is clean, and the limits have room.
  void release(std::unique_ptr<connection> c, bool keep_alive,
               std::optional<milliseconds> keep_alive_hint = std::nullopt);

  const client_options& options() const noexcept { return options_; }
  client_stats stats() const noexcept;
  void close_idle() noexcept { pool_.clear(); }  // e.g. on shutdown, or after SIGHUP

 private:
  boost::asio::awaitable<net_result<http_response>> run_request(http_request req);

  boost::asio::any_io_executor ex_;
  client_options options_;
  std::unique_ptr<boost::asio::ssl::context> tls_;
  basic_connection_pool<std::unique_ptr<connection>> pool_;
  client_stats stats_;
};

// Parses "timeout=N" out of a Keep-Alive header value; nullopt when absent or malformed.
std::optional<milliseconds> keep_alive_timeout(std::string_view header_value) noexcept;

}  // namespace vidq::net
