#include "vidq/sim/server.hpp"

#include "vidq/net/connection_tracker.hpp"

#include "vidq/ops/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <algorithm>
#include <chrono>
#include <variant>
#include <vector>

namespace vidq::sim {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using stream_type = beast::ssl_stream<beast::tcp_stream>;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

std::chrono::milliseconds ms(millis v) { return std::chrono::milliseconds(v); }

}  // namespace

struct server::impl : std::enable_shared_from_this<server::impl> {
  impl(asio::io_context& ioc, simulator& s, std::shared_ptr<asio::ssl::context> t)
      : ioc_(ioc), sim(s), tls(std::move(t)), acceptor(ioc) {}

  asio::io_context& ioc_;
  simulator& sim;
  std::shared_ptr<asio::ssl::context> tls;
  tcp::acceptor acceptor;
  unsigned short port = 0;
  bool stopping = false;
  asio::cancellation_signal accept_signal;
  net::connection_tracker<std::monostate> sessions{"sim"};

  asio::awaitable<void> accept_loop();
  asio::awaitable<void> session(tcp::socket socket, std::uint64_t id);
  asio::awaitable<bool> send(stream_type& stream, reply& rep, unsigned version, bool keep_alive);
  asio::awaitable<bool> send_video(stream_type& stream, reply& rep, unsigned version, bool keep_alive);
  void shutdown_now();
};

asio::awaitable<void> server::impl::accept_loop() {
  auto self = shared_from_this();
  co_await net::accept_until_stopped(acceptor, stopping, "sim", [&](tcp::socket socket) {
    sessions.spawn(
        ioc_.get_executor(), {}, [&](std::uint64_t id) { return session(std::move(socket), id); }, self);
  });
}

asio::awaitable<void> server::impl::session(tcp::socket socket, std::uint64_t id) {
  auto self = shared_from_this();
  co_await asio::this_coro::throw_if_cancelled(false);
  const server_limits& limits = sim.config().limits;
  socket.set_option(tcp::no_delay(true));
  stream_type stream(std::move(socket), *tls);
  const decltype(sessions)::attachment attached(sessions, id, beast::get_lowest_layer(stream).socket());
  if (stopping) co_return;

  beast::get_lowest_layer(stream).expires_after(ms(limits.handshake_timeout_ms));
  if (auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, use_tuple); ec) co_return;

  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(limits.body_limit);
    parser.header_limit(limits.header_limit);
    beast::get_lowest_layer(stream).expires_after(ms(limits.idle_timeout_ms));
    auto [hec, hn] = co_await http::async_read_header(stream, buffer, parser, use_tuple);
    if (hec) break;  // EOF, idle timeout, reset, garbage: nothing useful to answer
    beast::get_lowest_layer(stream).expires_after(ms(limits.request_timeout_ms));
    auto [bec, bn] = co_await http::async_read(stream, buffer, parser, use_tuple);
    if (bec == http::error::body_limit) {
      reply too_big;
      too_big.status = 413;
      too_big.body = R"({"error":{"code":"1210","message":"request body too large"}})";
      co_await send(stream, too_big, parser.get().version(), false);
      break;
    }
    if (bec) break;
    const auto& req = parser.get();
    const request in{req.method_string(), req.target(), req[http::field::authorization], req[http::field::range],
                     req.body()};
    reply rep = sim.handle(in);

    asio::steady_timer timer(ioc_);
    if (rep.delay_ms > 0) {
      timer.expires_after(ms(rep.delay_ms));
      if (auto [ec] = co_await timer.async_wait(use_tuple); ec) break;
    }
    // GeekAI async:false: hold the request until the task finishes or the budget runs out.
    const auto sync_deadline = std::chrono::steady_clock::now() + ms(sim.config().geekai.sync_timeout_ms);
    while (!rep.wait_task.empty()) {
      const auto left = sync_deadline - std::chrono::steady_clock::now();
      if (left <= std::chrono::steady_clock::duration::zero()) {
        rep = sim.geekai_sync_timeout(rep.wait_task);
        break;
      }
      // The simulated clock may be manual or scaled: re-check at least every 50 ms.
      const millis until = rep.wait_until_ms == never ? 50 : rep.wait_until_ms - sim.now();
      timer.expires_after(std::min<std::chrono::steady_clock::duration>(left, ms(std::clamp<millis>(until, 1, 50))));
      if (auto [ec] = co_await timer.async_wait(use_tuple); ec) co_return;
      rep = sim.geekai_sync(rep.wait_task);
    }

    if (rep.action == transport::reset) {
      auto& sock = beast::get_lowest_layer(stream).socket();
      boost::system::error_code ignored;
      sock.set_option(asio::socket_base::linger(true, 0), ignored);  // close() now sends RST
      sock.close(ignored);
      co_return;
    }
    if (rep.action == transport::close_without_reply) {
      beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both);
      beast::get_lowest_layer(stream).close();
      co_return;
    }
    const bool keep_alive = req.keep_alive() && !stopping;
    if (!co_await send(stream, rep, req.version(), keep_alive)) co_return;
    if (!keep_alive) break;
  }
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(2));
  co_await stream.async_shutdown(use_tuple);  // errors (truncated peer) are expected and moot
}

// Returns false when the connection is unusable afterwards (write error or truncation).
asio::awaitable<bool> server::impl::send(stream_type& stream, reply& rep, unsigned version, bool keep_alive) {
  beast::get_lowest_layer(stream).expires_after(ms(sim.config().limits.request_timeout_ms));
  if (rep.video) co_return co_await send_video(stream, rep, version, keep_alive);
  const std::size_t full = rep.body.size();
  const bool truncated = rep.truncate_after < full;
  http::response<http::string_body> res{static_cast<http::status>(rep.status), version};
  res.set(http::field::server, "vidq-sim");
  res.set(http::field::content_type, rep.content_type);
  for (const auto& [name, value] : rep.headers) res.set(name, value);
  res.keep_alive(keep_alive);
  if (rep.head_only) {
    http::response<http::empty_body> head{static_cast<http::status>(rep.status), version};
    head.base() = res.base();
    head.content_length(full);
    auto [ec, n] = co_await http::async_write(stream, head, use_tuple);
    co_return !ec;
  }
  if (truncated) rep.body.resize(rep.truncate_after);
  res.body() = std::move(rep.body);
  res.content_length(full);  // announces the whole body even when we cut it
  http::response_serializer<http::string_body> sr{res};
  auto [ec, n] = co_await http::async_write(stream, sr, use_tuple);
  const bool complete = !ec && !truncated;
  if (!rep.download_task.empty())
    sim.download_finished(rep.download_task, rep.download_is_cover, complete, rep.range.last + 1 == full || complete);
  if (ec && ec != http::error::need_buffer && !truncated) co_return false;
  if (truncated) {
    boost::system::error_code ignored;
    beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(stream).close();
    co_return false;
  }
  co_return true;
}

// Streams a video range in 64 KiB chunks produced on the fly (never the whole file in memory).
asio::awaitable<bool> server::impl::send_video(stream_type& stream, reply& rep, unsigned version, bool keep_alive) {
  const std::uint64_t length = rep.range.last - rep.range.first + 1;
  http::response<http::buffer_body> res{static_cast<http::status>(rep.status), version};
  res.set(http::field::server, "vidq-sim");
  res.set(http::field::content_type, rep.content_type);
  for (const auto& [name, value] : rep.headers) res.set(name, value);
  res.keep_alive(keep_alive);
  res.content_length(length);
  res.body().data = nullptr;
  res.body().more = !rep.head_only;
  http::response_serializer<http::buffer_body> sr{res};
  if (auto [ec, n] = co_await http::async_write_header(stream, sr, use_tuple); ec) co_return false;
  if (rep.head_only) co_return true;
  std::vector<char> chunk(64 * 1024);
  std::uint64_t sent = 0;
  const std::uint64_t stop_at = std::min(length, rep.truncate_after);
  bool ok = true;
  while (sent < stop_at) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), stop_at - sent));
    rep.video->read(rep.range.first + sent, std::span<char>(chunk.data(), n));
    res.body().data = chunk.data();
    res.body().size = n;
    res.body().more = true;
    beast::get_lowest_layer(stream).expires_after(ms(sim.config().limits.request_timeout_ms));
    auto [ec, w] = co_await http::async_write(stream, sr, use_tuple);
    if (ec && ec != http::error::need_buffer) {
      ok = false;
      break;
    }
    sent += n;
  }
  if (ok && sent == length) {
    res.body().data = nullptr;
    res.body().more = false;
    auto [ec, w] = co_await http::async_write(stream, sr, use_tuple);
    ok = !ec;
  }
  const bool complete = ok && sent == length;
  sim.download_finished(rep.download_task, false, complete, rep.range.last + 1 == rep.video->size());
  if (!complete) {
    boost::system::error_code ignored;
    beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(stream).close();
  }
  co_return complete;
}

void server::impl::shutdown_now() {
  if (stopping) return;
  stopping = true;
  boost::system::error_code ignored;
  acceptor.close(ignored);
  accept_signal.emit(asio::cancellation_type::terminal);
  sessions.cancel_all();
}

// ---- server ----

server::server(std::shared_ptr<impl> state) : impl_(std::move(state)) {}

server::~server() { stop(); }

result<std::unique_ptr<server>> server::listen(asio::io_context& ioc, simulator& sim,
                                               std::shared_ptr<asio::ssl::context> tls, const tcp::endpoint& where) {
  auto state = std::make_shared<impl>(ioc, sim, std::move(tls));
  if (const auto ec = net::listen_on(state->acceptor, where); ec) {
    log::error("sim.listen_failed", {{"address", where.address().to_string()}, {"port", where.port()}, {"error", ec.message()}});
    return make_error_code(errc::io_error);
  }
  state->port = state->acceptor.local_endpoint().port();
  std::unique_ptr<server> s(new server(std::move(state)));
  sim.set_base_url(s->base_url());
  return s;
}

unsigned short server::port() const { return impl_->port; }

std::string server::base_url() const {
  const auto addr = impl_->acceptor.local_endpoint().address();
  const std::string host = addr.is_v6() ? "[" + addr.to_string() + "]" : addr.to_string();
  return "https://" + (addr.is_unspecified() ? std::string("127.0.0.1") : host) + ":" + std::to_string(impl_->port);
}

void server::start() {
  auto state = impl_;
  net::spawn_logged(state->ioc_.get_executor(), state->accept_loop(), state->accept_signal.slot(),
                    "sim.accept_loop_crashed", [state] {});
}

void server::stop() {
  if (stop_requested_.exchange(true)) return;
  // Sessions live on the io_context's thread; stop may be called from any thread.
  asio::post(impl_->ioc_, [state = impl_] { state->shutdown_now(); });
}

result<std::shared_ptr<asio::ssl::context>> make_server_tls(const net::tls_identity& id) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  boost::system::error_code ec;
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1,
                   ec);
  if (!ec) ctx->use_certificate_chain_file(id.server_cert.string(), ec);
  if (!ec) ctx->use_private_key_file(id.server_key.string(), asio::ssl::context::pem, ec);
  if (ec) return make_error_code(errc::tls_error);
  return ctx;
}


}  // namespace vidq::sim
