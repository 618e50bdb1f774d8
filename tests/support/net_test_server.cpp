#include "support/net_test_server.hpp"

#include "vidq/net/sha256.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>

#if defined(__SANITIZE_ADDRESS__)
// Declared here: GCC does not ship <sanitizer/allocator_interface.h>.
extern "C" std::size_t __sanitizer_get_current_allocated_bytes();
#else
#include <malloc.h>
#endif
#include <stdexcept>

namespace vidq::net_test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using asio::awaitable;
using asio::ip::tcp;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

struct test_server::session {
  session(tcp::socket sock, ssl::context& ctx, std::size_t i)
      : stream(beast::tcp_stream(std::move(sock)), ctx), timer(stream.get_executor()), index(i) {}
  beast::ssl_stream<beast::tcp_stream> stream;
  asio::steady_timer timer;  // stalls wait on it; stop() cancels it
  std::size_t index;
  beast::flat_buffer buffer;
  void abort() {
    error_code ignored;
    timer.cancel();
    beast::get_lowest_layer(stream).socket().close(ignored);
  }
};

namespace {

awaitable<void> wait_forever(asio::steady_timer& timer) {
  timer.expires_at(asio::steady_timer::time_point::max());
  co_await timer.async_wait(tuple_awaitable);
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// close_notify, then FIN. The peer rarely answers close_notify, so do not wait for it long.
awaitable<void> graceful_close(beast::ssl_stream<beast::tcp_stream>& stream) {
  beast::get_lowest_layer(stream).expires_after(std::chrono::milliseconds(100));
  co_await stream.async_shutdown(tuple_awaitable);
  error_code ignored;
  beast::get_lowest_layer(stream).socket().close(ignored);
}
awaitable<void> graceful_close(beast::tcp_stream& stream) {
  error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream.socket().close(ignored);
  co_return;
}

}  // namespace

test_server::test_server(asio::io_context& ioc, test_server_options options)
    : ioc_(ioc),
      options_(std::move(options)),
      tls_(std::make_unique<ssl::context>(ssl::context::tls_server)),
      acceptor_(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
  const auto& id = test_tls_identity();
  tls_->use_certificate_chain_file(id.server_cert.string());
  tls_->use_private_key_file(id.server_key.string(), ssl::context::pem);
  port_ = acceptor_.local_endpoint().port();
  asio::co_spawn(ioc_, accept_loop(), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
}

test_server::~test_server() { stop(); }

std::string test_server::url(std::string_view target, std::string_view host) const {
  return std::string(options_.tls ? "https://" : "http://") + std::string(host) + ":" +
         std::to_string(port_) + std::string(target);
}

void test_server::stop() {
  error_code ignored;
  acceptor_.close(ignored);
  for (auto& w : sessions_) {
    if (auto s = w.lock()) s->abort();
  }
  sessions_.clear();
}

awaitable<void> test_server::accept_loop() {
  for (;;) {
    auto [ec, sock] = co_await acceptor_.async_accept(tuple_awaitable);
    if (ec) co_return;
    error_code ignored;
    sock.set_option(tcp::no_delay(true), ignored);  // header and body are separate writes
    auto s = std::make_shared<session>(std::move(sock), *tls_, connections_++);
    std::erase_if(sessions_, [](const auto& w) { return w.expired(); });
    sessions_.push_back(s);
    asio::co_spawn(ioc_, serve(std::move(s)), [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
  }
}

awaitable<void> test_server::serve(std::shared_ptr<session> s) {
  const accept_action act = options_.on_accept ? options_.on_accept(s->index)
                                               : accept_action::serve;
  if (act == accept_action::close_at_once) {
    s->abort();
    co_return;
  }
  if (act == accept_action::stall_handshake) {
    co_await wait_forever(s->timer);
    co_return;
  }
  if (options_.tls) {
    auto [ec] = co_await s->stream.async_handshake(ssl::stream_base::server, tuple_awaitable);
    if (ec) co_return;
    ++handshakes_;
  }
  if (act == accept_action::stall_after_handshake) {
    co_await wait_forever(s->timer);
    co_return;
  }
  for (std::size_t i = 0;; ++i) {
    const bool more = options_.tls ? co_await exchange(*s, s->stream, i)
                                   : co_await exchange(*s, s->stream.next_layer(), i);
    if (!more) co_return;
  }
}

template <class Stream>
awaitable<bool> test_server::exchange(session& s, Stream& stream, std::size_t index) {
  http::request_parser<http::string_body> p;
  p.body_limit(256u << 20);
  auto [rec_ec, n] = co_await http::async_read(stream, s.buffer, p, tuple_awaitable);
  if (rec_ec) {
    s.abort();
    co_return false;
  }
  beast::get_lowest_layer(stream).expires_never();
  received_request rec;
  rec.connection = s.index;
  rec.index_on_connection = index;
  rec.method = std::string(p.get().method_string());
  rec.target = std::string(p.get().target());
  rec.body = p.get().body();
  for (const auto& f : p.get()) rec.headers[lower(f.name_string())] = std::string(f.value());
  requests_.push_back(rec);
  scripted_reply r;
  if (options_.on_request) {
    r = options_.on_request(rec);
  } else {
    r.body = "ok";
  }

  if (r.action == scripted_reply::kind::close) {
    co_await graceful_close(stream);
    co_return false;
  }
  if (r.action == scripted_reply::kind::stall) {
    co_await wait_forever(s.timer);
    co_return false;
  }
  if (r.delay.count() > 0) {
    s.timer.expires_after(r.delay);
    auto [ec] = co_await s.timer.async_wait(tuple_awaitable);
    if (ec) co_return false;
  }

  const std::uint64_t real = r.pattern_bytes > 0 ? r.pattern_bytes : r.body.size();
  std::string head = "HTTP/1.1 " + std::to_string(r.status) + " Scripted\r\n";
  for (const auto& [name, value] : r.headers) head += name + ": " + value + "\r\n";
  if (!r.omit_content_length) {
    head += "Content-Length: " + std::to_string(r.content_length.value_or(real)) + "\r\n";
  }
  head += "\r\n";
  const std::uint64_t to_send = std::min(real, r.cut_after.value_or(real));
  auto [hec, hn] = co_await asio::async_write(stream, asio::buffer(head), tuple_awaitable);
  if (hec) co_return false;
  if (r.pattern_bytes > 0) {
    std::vector<char> chunk(64u << 10);
    for (std::uint64_t off = 0; off < to_send;) {
      const auto len = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), to_send - off));
      fill_pattern(off, chunk.data(), len);
      auto [wec, wn] = co_await asio::async_write(stream, asio::buffer(chunk.data(), len),
                                                  tuple_awaitable);
      if (wec) co_return false;
      off += len;
    }
  } else if (to_send > 0) {
    auto [wec, wn] = co_await asio::async_write(
        stream, asio::buffer(r.body.data(), static_cast<std::size_t>(to_send)), tuple_awaitable);
    if (wec) co_return false;
  }

  switch (r.end) {
    case scripted_reply::ending::keep_alive:
      if (r.close_if_idle.count() > 0) {
        // Beast closes the socket (FIN, no close_notify) when the next read times out.
        beast::get_lowest_layer(stream).expires_after(r.close_if_idle);
      }
      co_return true;
    case scripted_reply::ending::close:
      co_await graceful_close(stream);
      co_return false;
    case scripted_reply::ending::abort:
      s.abort();
      co_return false;
    case scripted_reply::ending::stall:
      co_await wait_forever(s.timer);
      co_return false;
  }
  co_return false;
}

namespace {

net::tls_identity make_identity(const char* name) {
  auto r = net::ensure_tls_identity(std::filesystem::temp_directory_path() / name);
  if (!r) throw std::runtime_error("ensure_tls_identity: " + r.error().message());
  return *r;
}

}  // namespace

const net::tls_identity& test_tls_identity() {
  static const net::tls_identity id = make_identity("vidq-net-test-tls");
  return id;
}

const net::tls_identity& other_tls_identity() {
  static const net::tls_identity id = make_identity("vidq-net-test-tls-other");
  return id;
}

void fill_pattern(std::uint64_t offset, char* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t x = offset + i;
    out[i] = static_cast<char>((x * 131u + (x >> 9) + (x >> 17)) & 0xffu);
  }
}

std::string pattern(std::uint64_t n) {
  std::string s(static_cast<std::size_t>(n), '\0');
  fill_pattern(0, s.data(), s.size());
  return s;
}

std::string pattern_sha256(std::uint64_t n) {
  net::sha256 h;
  std::vector<char> chunk(64u << 10);
  for (std::uint64_t off = 0; off < n;) {
    const auto len = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), n - off));
    fill_pattern(off, chunk.data(), len);
    h.update(chunk.data(), len);
    off += len;
  }
  return h.hex_digest();
}

net::client_options test_client_options() {
  net::client_options o;
  o.tls.ca_file = test_tls_identity().ca_cert.string();
  const milliseconds two_s{2'000};
  o.deadlines = net::timeouts{two_s, two_s, two_s, two_s, two_s, two_s};
  return o;
}

std::unique_ptr<net::https_client> make_test_client(asio::io_context& ioc,
                                                    net::client_options options) {
  auto c = net::https_client::create(ioc.get_executor(), std::move(options));
  if (!c) throw std::runtime_error("https_client::create: " + c.error().message());
  return std::move(*c);
}

awaitable<void> sleep_for(milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor);
  t.expires_after(d);
  co_await t.async_wait(tuple_awaitable);
}

std::uint64_t live_heap_bytes() {
#if defined(__SANITIZE_ADDRESS__)
  return __sanitizer_get_current_allocated_bytes();
#else
  const struct mallinfo2 mi = ::mallinfo2();
  return mi.uordblks + mi.hblkhd;
#endif
}

bool run_test(asio::io_context& ioc, std::function<awaitable<void>()> body, milliseconds limit) {
  bool done = false;
  std::exception_ptr failure;
  asio::co_spawn(ioc, body(), [&](std::exception_ptr e) {
    done = true;
    failure = e;
    ioc.stop();
  });
  ioc.run_for(limit);
  if (failure) std::rethrow_exception(failure);
  return done;
}

}  // namespace vidq::net_test
