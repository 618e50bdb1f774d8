#include "vidq/net/connection.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <openssl/ssl.h>
#include <poll.h>

#include <memory>
#include <vector>

namespace vidq::net {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using asio::awaitable;
using asio::ip::tcp;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

std::string origin::key() const {
  return (tls ? "https://" : "http://") + host + ":" + port;
}

std::string origin::host_header() const {
  const bool ipv6 = host.find(':') != std::string::npos;
  std::string h = ipv6 ? "[" + host + "]" : host;
  if (port != (tls ? "443" : "80")) h += ":" + port;
  return h;
}

result<parsed_url> parse_url(std::string_view url, bool allow_plain_http) {
  namespace urls = boost::urls;
  auto u = urls::parse_uri(url);
  if (!u) return error_code(net_errc::bad_url);
  parsed_url out;
  if (u->scheme_id() == urls::scheme::https) {
    out.origin.tls = true;
  } else if (u->scheme_id() == urls::scheme::http && allow_plain_http) {
    out.origin.tls = false;
  } else {
    return error_code(net_errc::scheme_refused);
  }
  out.origin.host = u->host_address();
  if (out.origin.host.empty()) return error_code(net_errc::bad_url);
  if (u->has_port()) {
    if (u->port_number() == 0) return error_code(net_errc::bad_url);
    out.origin.port = std::to_string(u->port_number());
  } else {
    out.origin.port = out.origin.tls ? "443" : "80";
  }
  out.target = u->encoded_target();
  if (out.target.empty() || out.target.front() != '/') out.target.insert(0, "/");
  return out;
}

namespace {

using endpoints = std::vector<tcp::endpoint>;

// tcp::resolver cannot be interrupted once getaddrinfo runs on Asio's resolver thread, so a
// `||` race would wait for it anyway. Instead the lookup owns its state (shared with its
// completion handler) and we wait on a timer that the lookup cancels when it finishes: on
// deadline or cancellation we return at once and the late answer is discarded.
awaitable<std::pair<error_code, endpoints>> resolve_with_deadline(std::string host,
                                                                   std::string port,
                                                                   milliseconds limit) {
  struct lookup {
    explicit lookup(const asio::any_io_executor& ex) : resolver(ex), timer(ex) {}
    tcp::resolver resolver;
    asio::steady_timer timer;
    bool done = false;
    error_code ec;
    endpoints found;
  };
  auto st = std::make_shared<lookup>(co_await asio::this_coro::executor);
  st->timer.expires_after(limit);
  st->resolver.async_resolve(host, port, [st](error_code ec, tcp::resolver::results_type r) {
    st->done = true;
    st->ec = ec;
    for (const auto& e : r) st->found.push_back(e.endpoint());
    st->timer.cancel();
  });
  auto [wait_ec] = co_await st->timer.async_wait(tuple_awaitable);
  if (st->done) {
    if (!st->ec && st->found.empty()) st->ec = asio::error::host_not_found;
    co_return std::pair{st->ec, std::move(st->found)};
  }
  st->resolver.cancel();
  const error_code ec = wait_ec == asio::error::operation_aborted
                            ? error_code(asio::error::operation_aborted)
                            : error_code(vidq::errc::timeout);
  co_return std::pair{ec, endpoints{}};
}

}  // namespace

connection::connection(asio::any_io_executor ex, ssl::context& tls, net::origin o)
    : origin_(std::move(o)), stream_(boost::beast::tcp_stream(std::move(ex)), tls) {}

connection::~connection() {
  error_code ignored;
  lowest().socket().close(ignored);
}

awaitable<std::pair<error_code, step>> connection::open(const timeouts& t,
                                                         const client_options& options) {
  // Resolve: an override or an IP literal needs no lookup.
  endpoints eps;
  const auto port = static_cast<unsigned short>(std::stoul(origin_.port));
  std::string_view literal = origin_.host;
  if (auto it = options.resolve_overrides.find(origin_.host); it != options.resolve_overrides.end()) {
    literal = it->second;
  }
  error_code ec;
  const auto addr = asio::ip::make_address(literal, ec);
  const bool host_is_ip = literal == origin_.host && !ec;
  if (!ec) {
    eps.emplace_back(addr, port);
  } else if (literal != origin_.host) {
    co_return std::pair{ec, step::resolve};  // a malformed override is the operator's error
  } else {
    std::tie(ec, eps) = co_await resolve_with_deadline(origin_.host, origin_.port, t.resolve);
    if (ec) co_return std::pair{normalize(ec, step::resolve), step::resolve};
  }

  lowest().expires_after(t.connect);
  auto [cec, ep] = co_await lowest().async_connect(eps, tuple_awaitable);
  if (cec) co_return std::pair{normalize(cec, step::connect), step::connect};
  lowest().socket().set_option(tcp::no_delay(true), ec);  // small requests, no Nagle delay

  if (!origin_.tls) {
    lowest().expires_never();
    co_return std::pair{error_code{}, step::connect};
  }
  // SNI (RFC 6066 forbids IP literals there) and host name verification against the URL's
  // host, never the override's address.
  if (!host_is_ip && !SSL_set_tlsext_host_name(stream_.native_handle(), origin_.host.c_str())) {
    co_return std::pair{error_code(static_cast<int>(::ERR_get_error()),
                                   asio::error::get_ssl_category()),
                        step::handshake};
  }
  stream_.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  stream_.set_verify_callback(ssl::host_name_verification(origin_.host));
  lowest().expires_after(t.handshake);
  auto [hec] = co_await stream_.async_handshake(ssl::stream_base::client, tuple_awaitable);
  lowest().expires_never();
  if (hec) co_return std::pair{normalize(hec, step::handshake), step::handshake};
  co_return std::pair{error_code{}, step::handshake};
}

awaitable<error_code> connection::write(http::request<http::string_body>& msg,
                                        milliseconds limit) {
  lowest().expires_after(limit);
  error_code ec;
  if (origin_.tls) {
    std::tie(ec, std::ignore) = co_await http::async_write(stream_, msg, tuple_awaitable);
  } else {
    std::tie(ec, std::ignore) = co_await http::async_write(lowest(), msg, tuple_awaitable);
  }
  lowest().expires_never();
  co_return ec;
}

template <class Body>
awaitable<error_code> connection::read_header(http::response_parser<Body>& p,
                                              milliseconds limit) {
  lowest().expires_after(limit);
  error_code ec;
  if (origin_.tls) {
    std::tie(ec, std::ignore) =
        co_await http::async_read_header(stream_, buffer_, p, tuple_awaitable);
  } else {
    std::tie(ec, std::ignore) =
        co_await http::async_read_header(lowest(), buffer_, p, tuple_awaitable);
  }
  lowest().expires_never();
  co_return ec;
}

template <class Body>
awaitable<error_code> connection::read(http::response_parser<Body>& p, milliseconds limit) {
  lowest().expires_after(limit);
  error_code ec;
  if (origin_.tls) {
    std::tie(ec, std::ignore) = co_await http::async_read(stream_, buffer_, p, tuple_awaitable);
  } else {
    std::tie(ec, std::ignore) = co_await http::async_read(lowest(), buffer_, p, tuple_awaitable);
  }
  lowest().expires_never();
  if (ec == http::error::need_buffer) ec = {};  // buffer_body: the caller's buffer is full
  co_return ec;
}

template awaitable<error_code> connection::read_header(
    http::response_parser<http::string_body>&, milliseconds);
template awaitable<error_code> connection::read_header(
    http::response_parser<http::buffer_body>&, milliseconds);
template awaitable<error_code> connection::read(http::response_parser<http::string_body>&,
                                                milliseconds);
template awaitable<error_code> connection::read(http::response_parser<http::buffer_body>&,
                                                milliseconds);

bool connection::is_stale() {
  auto& sock = lowest().socket();
  if (!sock.is_open()) return true;
  if (origin_.tls && SSL_pending(stream_.native_handle()) > 0) {
    return true;  // decrypted bytes nobody asked for
  }
  pollfd pfd{};
  pfd.fd = sock.native_handle();
  pfd.events = POLLIN | POLLRDHUP;
  const int n = ::poll(&pfd, 1, 0);
  return n != 0;  // readable (data, close_notify, FIN), hung up, error, or poll failed
}

}  // namespace vidq::net
