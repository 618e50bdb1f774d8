#pragma once
// One connection to one origin: resolve, connect, TLS handshake (SNI + peer + host name
// verification), then HTTP/1.1 exchanges, each step under its own deadline. Plain TCP is the
// same object with the TLS layer unused (only when the client allows http://). Used by
// https_client (request) and download; not thread-safe (one io_context thread).

#include "vidq/core/error.hpp"
#include "vidq/net/errors.hpp"
#include "vidq/net/options.hpp"
#include "vidq/net/proxy.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vidq::net {

namespace http = boost::beast::http;

// Scheme + host + port: the pool key and what a connection is bound to.
struct origin {
  bool tls = true;
  std::string host;  // as in the URL, without IPv6 brackets
  std::string port;  // decimal
  std::string key() const;           // "https://host:port"
  std::string host_header() const;   // host, with ":port" only when not the default
};

// The pool key of a connection to `o`, direct (`via` null) or through a proxy.
std::string pool_key(const origin& o, const proxy_endpoint* via);

// An absolute URL split into where to connect and what to ask for.
struct parsed_url {
  net::origin origin;
  std::string target;  // path + query, never empty ("/")
};

// Errors: net_errc::bad_url (not absolute, no host, bad port), net_errc::scheme_refused
// (http without `allow_plain_http`, or any other scheme).
result<parsed_url> parse_url(std::string_view url, bool allow_plain_http);

class connection {
 public:
  using stream_type = boost::beast::ssl_stream<boost::beast::tcp_stream>;

  // `via`: reach the origin through this HTTP CONNECT proxy (proxy.hpp); nullopt: direct.
  connection(boost::asio::any_io_executor ex, boost::asio::ssl::context& tls, net::origin o,
             std::optional<proxy_endpoint> via = std::nullopt);
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;
  ~connection();  // closes the socket at once (no TLS close_notify; see HTTP_CLIENT.md)

  // Resolve (resolve_overrides, IP literal, or DNS), connect, and for https the handshake.
  // Through a proxy: resolve and connect to the proxy, then CONNECT origin within the
  // connect deadline (failures: step::connect, net_errc::proxy_* with the proxy's status in
  // `*proxy_status`), then the handshake with the origin inside the tunnel.
  // Returns {} or {error (normalized), failed step}. On cancellation: operation_aborted with
  // the step that was running. The connection is unusable after an error.
  boost::asio::awaitable<std::pair<error_code, step>> open(const timeouts& t,
                                                            const client_options& options,
                                                            unsigned* proxy_status = nullptr);

  // Writes the whole message within `limit`. An error means it was not completely written.
  boost::asio::awaitable<error_code> write(http::request<http::string_body>& msg,
                                           milliseconds limit);
  // Reads a response header into `p` within `limit`.
  template <class Body>
  boost::asio::awaitable<error_code> read_header(http::response_parser<Body>& p,
                                                 milliseconds limit);
  // string_body: reads the rest of the message within `limit`. buffer_body: fills the
  // caller's buffer (need_buffer is reported as success) within `limit`.
  template <class Body>
  boost::asio::awaitable<error_code> read(http::response_parser<Body>& p, milliseconds limit);

  // True when the peer has closed, sent anything, or errored while the connection sat idle:
  // an idle HTTP/1.1 connection must be silent, so any of these means it is not reusable.
  // A non-blocking poll(2), no I/O.
  bool is_stale();
  // Reusable after a complete response: nothing left over in the read buffer.
  bool clean() const noexcept { return buffer_.size() == 0; }

  const net::origin& origin() const noexcept { return origin_; }
  const std::optional<proxy_endpoint>& via() const noexcept { return via_; }
  // The pool key: the origin, and the proxy (with its credentials' discriminator) if any, so
  // a tunnel is reused only for the same origin through the same proxy as the same user.
  std::string pool_key() const;
  std::uint64_t exchanges() const noexcept { return exchanges_; }
  void count_exchange() noexcept { ++exchanges_; }

 private:
  boost::beast::tcp_stream& lowest() { return stream_.next_layer(); }

  // CONNECT origin_ on the freshly connected socket; errors as open() describes.
  boost::asio::awaitable<error_code> tunnel(const timeouts& t, const client_options& options,
                                            unsigned* proxy_status);

  net::origin origin_;
  std::optional<proxy_endpoint> via_;
  stream_type stream_;
  boost::beast::flat_buffer buffer_;  // bytes read past the current message
  std::uint64_t exchanges_ = 0;       // completed request/response pairs
};

}  // namespace vidq::net
