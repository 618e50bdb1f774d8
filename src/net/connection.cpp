#include "vidq/net/connection.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
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

connection::connection(asio::any_io_executor ex, ssl::context& tls, net::origin o,
                       std::optional<proxy_endpoint> via)
    : origin_(std::move(o)),
      via_(std::move(via)),
      stream_(boost::beast::tcp_stream(std::move(ex)), tls) {}

std::string pool_key(const origin& o, const proxy_endpoint* via) {
  return via ? o.key() + " via " + via->pool_key() : o.key();
}

std::string connection::pool_key() const { return net::pool_key(origin_, via_ ? &*via_ : nullptr); }

connection::~connection() {
  error_code ignored;
  lowest().socket().close(ignored);
}

awaitable<std::pair<error_code, step>> connection::open(const timeouts& t,
                                                         const client_options& options,
                                                         unsigned* proxy_status) {
  // Where the socket goes: the proxy when there is one (it resolves the origin itself).
  const std::string& host = via_ ? via_->host : origin_.host;
  const std::string& port_text = via_ ? via_->port : origin_.port;
  // Resolve: an override or an IP literal needs no lookup.
  endpoints eps;
  const auto port = static_cast<unsigned short>(std::stoul(port_text));
  std::string_view literal = host;
  if (auto it = options.resolve_overrides.find(host); it != options.resolve_overrides.end()) {
    literal = it->second;
  }
  error_code ec;
  const auto addr = asio::ip::make_address(literal, ec);
  if (!ec) {
    eps.emplace_back(addr, port);
  } else if (literal != host) {
    co_return std::pair{ec, step::resolve};  // a malformed override is the operator's error
  } else {
    std::tie(ec, eps) = co_await resolve_with_deadline(host, port_text, t.resolve);
    if (ec) co_return std::pair{normalize(ec, step::resolve), step::resolve};
  }

  lowest().expires_after(t.connect);
  auto [cec, ep] = co_await lowest().async_connect(eps, tuple_awaitable);
  if (cec) co_return std::pair{normalize(cec, step::connect), step::connect};
  lowest().socket().set_option(tcp::no_delay(true), ec);  // small requests, no Nagle delay
  if (via_) {
    if (auto tec = co_await tunnel(t, options, proxy_status)) co_return std::pair{tec, step::connect};
  }

  if (!origin_.tls) {
    lowest().expires_never();
    co_return std::pair{error_code{}, step::connect};
  }
  // SNI (RFC 6066 forbids IP literals there) and host name verification against the URL's
  // host, never the override's address nor the proxy's.
  error_code not_ip;
  asio::ip::make_address(origin_.host, not_ip);
  const bool host_is_ip = !not_ip;
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

awaitable<error_code> connection::tunnel(const timeouts& t, const client_options& options,
                                         unsigned* proxy_status) {
  std::string request = connect_request(origin_, via_->authorization, options.user_agent);
  lowest().expires_after(t.connect);  // one deadline for the whole CONNECT exchange
  auto [wec, wn] = co_await asio::async_write(lowest(), asio::buffer(request), tuple_awaitable);
  if (wec) co_return normalize(wec, step::connect);
  // The reply head, byte-bounded. After a 2xx the proxy must send nothing before our
  // ClientHello, so bytes past the blank line are a protocol error (they would be lost to
  // the TLS layer); after a refusal they are its body, which nobody reads.
  std::string head;
  auto [rec, rn] = co_await asio::async_read_until(
      lowest(), asio::dynamic_buffer(head, options.max_header_bytes), "\r\n\r\n", tuple_awaitable);
  lowest().expires_never();
  if (rec) {
    if (rec == asio::error::not_found) co_return error_code(net_errc::proxy_protocol);  // head too long
    co_return normalize(rec, step::connect);
  }
  const bool extra_bytes = rn != head.size();  // a refusal's body, or a proxy talking early
  head.resize(rn);
  auto status = parse_connect_reply(head);
  if (!status) co_return status.error();
  if (proxy_status) *proxy_status = *status;
  if (auto verdict = connect_verdict(*status)) co_return verdict;  // its body is not read
  if (extra_bytes) co_return error_code(net_errc::proxy_protocol);
  co_return error_code{};
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
