// The status server's transport: an accept loop and one coroutine per connection on the
// daemon's io_context. It reads requests with header/body limits and a deadline per step,
// hands them to `handlers` (which decide everything, and may wait for the database), and
// writes the replies, streaming files from disk in 64 KiB chunks. After sim/server.cpp,
// without TLS.
#include "vidq/status/server.hpp"

#include "vidq/net/connection_tracker.hpp"

#include "vidq/ops/log.hpp"
#include "vidq/status/connection_limits.hpp"
#include "vidq/status/handlers.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/file.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <vector>

namespace vidq::status {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

constexpr std::size_t body_limit = 1024 * 1024;  // POST /api/jobs is one JSONL line
constexpr std::uint32_t header_limit = 16 * 1024;
constexpr auto idle_timeout = 60s;     // waiting for the next request on a kept-alive connection
constexpr auto request_timeout = 10s;  // reading one request once its first byte arrived
constexpr auto write_timeout = 30s;    // each write (a 64 KiB chunk of a file, or a reply)
constexpr connection_limits limits{64, 32};  // a dashboard needs a handful; more is a leak or an attack

// Headers every reply carries; the page's CSP allows nothing but this server.
template <class Message>
void common_headers(Message& res, const http_reply& rep) {
  res.set(http::field::server, "vidq");
  res.set(http::field::content_type, rep.content_type);
  res.set("X-Content-Type-Options", "nosniff");
  res.set("Referrer-Policy", "no-referrer");
  if (rep.content_type.starts_with("text/html")) {
    res.set("Content-Security-Policy",
            "default-src 'self'; img-src 'self'; media-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
            "form-action 'none'");
  }
  bool cache_set = false;
  for (const auto& [name, value] : rep.headers) {
    res.set(name, value);
    cache_set = cache_set || name == "Cache-Control";
  }
  if (!cache_set) res.set(http::field::cache_control, "no-store");
}

}  // namespace


struct status_server::impl : std::enable_shared_from_this<status_server::impl> {
  impl(asio::any_io_executor ex, status_server_deps d)
      : executor(std::move(ex)), deps(std::move(d)), acceptor(executor) {}

  asio::any_io_executor executor;
  status_server_deps deps;
  std::optional<handlers> handler;
  tcp::acceptor acceptor;
  std::uint16_t port = 0;
  bool started = false;
  bool stopping = false;
  asio::cancellation_signal accept_signal;
  struct peer_state {
    std::string peer;
    bool idle = true;  // waiting for a request's first byte (a new connection too)
    std::uint64_t idle_since = 0;
    bool evicted = false;  // closed to make room; its coroutine is unwinding
  };
  std::uint64_t idle_clock = 0;  // orders idle periods without reading a clock
  net::connection_tracker<peer_state> sessions{"status"};

  asio::awaitable<void> accept_loop();
  asio::awaitable<void> session(tcp::socket socket, std::uint64_t id);
  asio::awaitable<void> refuse(beast::tcp_stream& stream, unsigned version, http_reply rep);
  bool make_room(const std::string& peer);
  void set_idle(std::uint64_t id, bool idle);
  asio::awaitable<bool> send(beast::tcp_stream& stream, http_reply& rep, unsigned version, bool keep_alive, bool head);
  asio::awaitable<bool> send_file(beast::tcp_stream& stream, http_reply& rep, unsigned version, bool keep_alive,
                                  bool head);
  void shutdown_now();
};

asio::awaitable<void> status_server::impl::accept_loop() {
  auto self = shared_from_this();
  co_await net::accept_until_stopped(acceptor, stopping, "status", [&](tcp::socket socket) {
    boost::system::error_code pec;
    const auto remote = socket.remote_endpoint(pec);
    std::string peer = pec ? std::string() : remote.address().to_string();
    if (!make_room(peer)) {
      boost::system::error_code ignored;
      socket.close(ignored);  // every connection of this peer (or of all) is busy with a request
      log::warn("status.connection_refused", {{"peer", peer}, {"open", sessions.size()}});
      return;
    }
    sessions.spawn(
        executor, peer_state{std::move(peer), true, idle_clock++, false},
        [&](std::uint64_t id) { return session(std::move(socket), id); }, self);
  });
}

// Applies admit_connection: closes the connection it names. False: refuse the new one.
bool status_server::impl::make_room(const std::string& peer) {
  std::vector<connection_view> open;
  open.reserve(sessions.size());
  for (const auto& [id, e] : sessions) {
    if (!e->info.evicted) open.push_back({id, e->info.peer, e->info.idle && e->socket != nullptr, e->info.idle_since});
  }
  const auto decision = admit_connection(open, peer, limits);
  if (decision.evict) {
    auto* victim = sessions.find(*decision.evict);
    victim->info.evicted = true;
    sessions.cancel(*decision.evict);
    log::debug("status.idle_connection_evicted", {{"peer", victim->info.peer}});
  }
  return decision.accept;
}

void status_server::impl::set_idle(std::uint64_t id, bool idle) {
  auto* e = sessions.find(id);
  if (e == nullptr) return;
  e->info.idle = idle;
  if (idle) e->info.idle_since = idle_clock++;
}

asio::awaitable<void> status_server::impl::session(tcp::socket socket, std::uint64_t id) {
  auto self = shared_from_this();
  co_await asio::this_coro::throw_if_cancelled(false);
  boost::system::error_code opt_ec;
  socket.set_option(tcp::no_delay(true), opt_ec);
  beast::tcp_stream stream(std::move(socket));
  const decltype(sessions)::attachment attached(sessions, id, stream.socket());
  if (stopping) co_return;

  beast::flat_buffer buffer;
  for (bool first = true;; first = false) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(header_limit);
    parser.body_limit(body_limit);
    stream.expires_after(first ? request_timeout : idle_timeout);
    if (!first) set_idle(id, buffer.size() == 0);  // pipelined bytes already wait: not idle
    auto [hec, hn] = co_await http::async_read_header(stream, buffer, parser, use_tuple);
    set_idle(id, false);
    const unsigned version = parser.get().version();
    if (hec == http::error::body_limit) {  // Content-Length over the limit: answer before the body comes
      co_await refuse(stream, version, error_reply(413, "too_large", "the body is larger than 1 MiB"));
      co_return;
    }
    if (hec == http::error::header_limit) {
      co_await refuse(stream, version == 0 ? 11 : version,
                      error_reply(431, "headers_too_large", "the request's headers are larger than 16 KiB"));
      co_return;
    }
    if (hec) break;  // EOF, idle timeout, reset, garbage: nothing useful to answer
    if (parser.get()[http::field::expect] == "100-continue") {
      http::response<http::empty_body> cont{http::status::continue_, version};
      stream.expires_after(write_timeout);
      if (auto [ec, n] = co_await http::async_write(stream, cont, use_tuple); ec) break;
    }
    stream.expires_after(request_timeout);
    auto [bec, bn] = co_await http::async_read(stream, buffer, parser, use_tuple);
    if (bec == http::error::body_limit) {  // chunked bodies are only caught here
      co_await refuse(stream, version, error_reply(413, "too_large", "the body is larger than 1 MiB"));
      co_return;
    }
    if (bec) break;
    const auto& req = parser.get();
    const http_request_view view{
        req.method(), req.target(), req[http::field::host], req[http::field::authorization], req[http::field::range],
        req.body()};
    const auto started_at = std::chrono::steady_clock::now();
    http_reply rep = co_await handler->handle(view);
    log::debug(
        "status.request",
        {{"method", std::string(req.method_string())},
         {"target", std::string(req.target().substr(0, 200))},
         {"status", rep.status},
         {"us", std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started_at)
                    .count()}});
    const bool keep_alive = req.keep_alive() && !stopping;
    const bool head = req.method() == http::verb::head;
    if (!co_await send(stream, rep, version, keep_alive, head)) co_return;
    if (!keep_alive) break;
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

// 413 or 431, then a lingering close: closing a socket with unread input makes the kernel
// send a reset, which can destroy the reply before the client reads it. So stop sending,
// swallow what the client still sends (bounded in bytes and time), and only then close.
asio::awaitable<void> status_server::impl::refuse(beast::tcp_stream& stream, unsigned version, http_reply rep) {
  if (!co_await send(stream, rep, version, false, false)) co_return;
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  std::vector<char> sink(64 * 1024);
  std::size_t drained = 0;
  stream.expires_after(2s);
  while (drained < 8 * body_limit) {
    auto [ec, n] = co_await stream.async_read_some(asio::buffer(sink), use_tuple);
    if (ec) break;
    drained += n;
  }
}

// Returns false when the connection is unusable afterwards.
asio::awaitable<bool> status_server::impl::send(beast::tcp_stream& stream, http_reply& rep, unsigned version,
                                                bool keep_alive, bool head) {
  if (rep.file) co_return co_await send_file(stream, rep, version, keep_alive, head);
  stream.expires_after(write_timeout);
  if (head) {
    http::response<http::empty_body> res{static_cast<http::status>(rep.status), version};
    common_headers(res, rep);
    res.keep_alive(keep_alive);
    res.content_length(rep.body.size());
    auto [ec, n] = co_await http::async_write(stream, res, use_tuple);
    co_return !ec;
  }
  http::response<http::string_body> res{static_cast<http::status>(rep.status), version};
  common_headers(res, rep);
  res.keep_alive(keep_alive);
  res.body() = std::move(rep.body);
  res.prepare_payload();
  auto [ec, n] = co_await http::async_write(stream, res, use_tuple);
  co_return !ec;
}

// Streams rep.file's range in 64 KiB chunks read from disk: memory stays flat whatever the
// file's size, and a slow reader only holds one chunk.
asio::awaitable<bool> status_server::impl::send_file(beast::tcp_stream& stream, http_reply& rep, unsigned version,
                                                     bool keep_alive, bool head) {
  const file_send part = *rep.file;
  beast::file file;
  beast::error_code ec;
  file.open(part.path.c_str(), beast::file_mode::read, ec);
  if (!ec) file.seek(part.offset, ec);
  if (ec) {
    log::warn("status.file_open_failed", {{"error", ec.message()}});
    http_reply gone = error_reply(404, "not_found", "no such file");
    co_return co_await send(stream, gone, version, keep_alive, head);
  }
  http::response<http::buffer_body> res{static_cast<http::status>(rep.status), version};
  common_headers(res, rep);
  res.keep_alive(keep_alive);
  res.content_length(part.length);
  res.body().data = nullptr;
  res.body().more = !head;
  http::response_serializer<http::buffer_body> sr{res};
  stream.expires_after(write_timeout);
  if (auto [wec, n] = co_await http::async_write_header(stream, sr, use_tuple); wec) co_return false;
  if (head) co_return true;
  std::vector<char> chunk(64 * 1024);
  std::uint64_t sent = 0;
  while (sent < part.length) {
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), part.length - sent));
    const std::size_t got = file.read(chunk.data(), want, ec);
    if (ec || got == 0) co_return false;  // the file shrank: the announced length cannot be met
    res.body().data = chunk.data();
    res.body().size = got;
    res.body().more = true;
    stream.expires_after(write_timeout);
    auto [wec, n] = co_await http::async_write(stream, sr, use_tuple);
    if (wec && wec != http::error::need_buffer) co_return false;
    sent += got;
  }
  res.body().data = nullptr;
  res.body().more = false;
  auto [wec, n] = co_await http::async_write(stream, sr, use_tuple);
  co_return !wec;
}

void status_server::impl::shutdown_now() {
  if (stopping) return;
  stopping = true;
  boost::system::error_code ignored;
  acceptor.close(ignored);
  accept_signal.emit(asio::cancellation_type::terminal);
  sessions.cancel_all();
}

status_server::status_server(asio::any_io_executor executor, status_server_deps deps)
    : impl_(std::make_shared<impl>(std::move(executor), std::move(deps))) {}

status_server::~status_server() {
  stop();
}

result<std::uint16_t> status_server::start(std::string_view listen) {
  if (impl_->started) return make_error_code(errc::invalid_argument);
  auto where = parse_listen(listen);
  if (!where) {
    log::error("status.bad_listen", {{"listen", std::string(listen)}});
    return where.error();
  }
  auto& acceptor = impl_->acceptor;
  if (const auto ec = net::listen_on(acceptor, *where); ec) {
    log::error("status.listen_failed", {{"listen", std::string(listen)}, {"error", ec.message()}});
    boost::system::error_code ignored;
    acceptor.close(ignored);
    return make_error_code(errc::io_error);
  }
  impl_->started = true;
  impl_->port = acceptor.local_endpoint().port();
  impl_->handler.emplace(impl_->deps, make_access_policy(where->address(), impl_->deps.cfg.status));
  if (!is_loopback(where->address())) {
    const bool open_reads = impl_->deps.cfg.status.public_read;
    log::warn("status.off_loopback",
              {{"address", where->address().to_string()},
               {"reads", open_reads ? "public ([status] public_read = true)" : "need the token"},
               {"token", impl_->deps.token ? "configured"
                         : open_reads        ? "none: read-only"
                                             : "none: only /healthz answers"}});
  }
  auto state = impl_;
  net::spawn_logged(state->executor, state->accept_loop(), state->accept_signal.slot(), "status.accept_loop_crashed",
                    [state] {});
  log::info("status.listening", {{"address", where->address().to_string()}, {"port", impl_->port}});
  return impl_->port;
}

void status_server::stop() {
  if (impl_) impl_->shutdown_now();
}

void status_server::set_token(std::optional<ops::secret> token) {
  impl_->deps.token = std::move(token);
}

std::uint16_t status_server::port() const {
  return impl_->port;
}

std::size_t status_server::open_connections() const {
  return impl_->sessions.size();
}

}  // namespace vidq::status
