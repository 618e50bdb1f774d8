#include "vidq/net/https_client.hpp"

#include "vidq/net/tls_context.hpp"
#include "vidq/ops/log.hpp"

#include <boost/asio/this_coro.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/json/object.hpp>

#include <charconv>
#include <chrono>

namespace vidq::net {

namespace asio = boost::asio;
using asio::awaitable;
using steady = std::chrono::steady_clock;

namespace {

template <class View>
std::string to_std(const View& v) {
  return std::string(v.data(), v.size());
}

bool cancelled(const asio::cancellation_state& cs) {
  return cs.cancelled() != asio::cancellation_type::none;
}

// The single place that turns a transport failure into a request_error: cancellation wins
// over whatever code the aborted operation reported.
request_error make_failure(const asio::cancellation_state& cs, error_code ec, step s,
                           delivery d, bool reused) {
  if (cancelled(cs) || ec == asio::error::operation_aborted) {
    ec = asio::error::operation_aborted;
  } else {
    ec = normalize(ec, s);
  }
  return request_error{ec, d, s, 0, reused, {}};
}

}  // namespace

bool is_safe_method(http::verb v) noexcept {
  return v == http::verb::get || v == http::verb::head || v == http::verb::options ||
         v == http::verb::trace;
}

std::optional<milliseconds> keep_alive_timeout(std::string_view value) noexcept {
  const auto pos = value.find("timeout=");
  if (pos == std::string_view::npos) return std::nullopt;
  const char* first = value.data() + pos + 8;
  const char* last = value.data() + value.size();
  long seconds = 0;
  auto [ptr, ec] = std::from_chars(first, last, seconds);
  if (ec != std::errc{} || ptr == first || seconds < 0) return std::nullopt;
  return milliseconds{seconds * 1000};
}

result<std::unique_ptr<https_client>> https_client::create(asio::any_io_executor ex,
                                                           client_options options) {
  auto tls = make_client_tls_context(options.tls);
  if (!tls) return tls.error();
  return std::make_unique<https_client>(std::move(ex), std::move(options), std::move(*tls));
}

https_client::https_client(asio::any_io_executor ex, client_options options,
                           std::unique_ptr<asio::ssl::context> tls)
    : ex_(std::move(ex)),
      options_(std::move(options)),
      tls_(std::move(tls)),
      pool_(options_.pool) {}

https_client::~https_client() = default;

client_stats https_client::stats() const noexcept {
  client_stats s = stats_;
  s.idle = pool_.idle();
  return s;
}

awaitable<net_result<std::unique_ptr<connection>>> https_client::acquire(
    const origin& o, bool allow_reuse, milliseconds max_idle, const timeouts& t,
    const proxy_settings* proxies) {
  auto cs = co_await asio::this_coro::cancellation_state;
  const proxy_endpoint* via = route(proxies ? *proxies : options_.proxy, o);
  const auto key = pool_key(o, via);
  if (allow_reuse) {
    while (auto c = pool_.take(key, steady::now(), max_idle)) {
      if (!(*c)->is_stale()) {
        ++stats_.reused;
        co_return std::move(*c);
      }
      ++stats_.stale_discarded;  // closed by the server while idle: never write into it
    }
  }
  if (cancelled(cs)) co_return make_failure(cs, {}, step::resolve, delivery::not_sent, false);
  const auto started = steady::now();
  auto c = std::make_unique<connection>(ex_, *tls_, o,
                                        via ? std::optional<proxy_endpoint>(*via) : std::nullopt);
  unsigned proxy_status = 0;
  auto [ec, failed_step] = co_await c->open(t, options_, &proxy_status);
  if (ec) {
    auto failure = make_failure(cs, ec, failed_step, delivery::not_sent, false);
    failure.status = proxy_status == 0 || proxy_status / 100 == 2 ? 0 : proxy_status;
    if (via) failure.proxy = via->display();  // never the credentials
    co_return failure;
  }
  ++stats_.connections_opened;
  if (o.tls) ++stats_.tls_handshakes;
  if (via) ++stats_.tunnels_opened;
  boost::json::object fields{
      {"origin", o.key()},
      {"ms", std::chrono::duration_cast<milliseconds>(steady::now() - started).count()}};
  if (via) fields["proxy"] = via->display();
  log::debug("net.connected", std::move(fields));
  co_return std::move(c);
}

void https_client::release(std::unique_ptr<connection> c, bool keep_alive,
                           std::optional<milliseconds> keep_alive_hint) {
  if (!c || !keep_alive || !c->clean()) return;  // destroyed: socket closed
  c->count_exchange();
  std::optional<steady::duration> hint;
  // A server announcing "timeout=N" closes at N: stop offering the connection a second
  // earlier so that a request never races that close.
  if (keep_alive_hint) hint = std::max(milliseconds{0}, *keep_alive_hint - milliseconds{1000});
  auto key = c->pool_key();
  pool_.put(std::move(key), std::move(c), steady::now(), hint);
}

awaitable<net_result<http_response>> https_client::request(http_request req) {
  // Our code checks cancellation itself and must still close sockets and build the error
  // after a cancellation, so Asio must not throw at our next co_await; restore the caller's
  // setting before returning.
  const bool throw_before = co_await asio::this_coro::throw_if_cancelled();
  co_await asio::this_coro::throw_if_cancelled(false);
  auto r = co_await run_request(std::move(req));
  co_await asio::this_coro::throw_if_cancelled(throw_before);
  co_return r;
}

awaitable<net_result<http_response>> https_client::run_request(http_request req) {
  auto cs = co_await asio::this_coro::cancellation_state;
  auto url = parse_url(req.url, options_.allow_plain_http);
  if (!url) co_return request_error{url.error(), delivery::not_sent, step::prepare, 0, false, {}};
  const timeouts& t = req.options.deadlines ? *req.options.deadlines : options_.deadlines;

  const bool safe = is_safe_method(req.method);
  const milliseconds max_idle = safe ? options_.pool.idle_timeout
                                     : options_.pool.unsafe_reuse_max_idle;
  const bool allow_reuse = !req.options.fresh_connection && max_idle > milliseconds{0};
  const proxy_settings* proxies = req.options.proxy ? &*req.options.proxy : nullptr;
  auto lease = co_await acquire(url->origin, allow_reuse, max_idle, t, proxies);
  if (!lease) co_return lease.error();
  std::unique_ptr<connection> conn = std::move(*lease);
  const bool reused = conn->exchanges() > 0;

  http::request<http::string_body> msg{req.method, url->target, 11};
  msg.set(http::field::host, url->origin.host_header());
  msg.set(http::field::user_agent, options_.user_agent);
  for (auto& [name, value] : req.headers) msg.set(name, value);
  msg.body() = std::move(req.body);
  msg.prepare_payload();

  if (cancelled(cs)) co_return make_failure(cs, {}, step::write, delivery::not_sent, reused);
  ++stats_.requests;
  if (auto ec = co_await conn->write(msg, t.write)) {
    // Not completely written: the server cannot have a complete request to act on.
    co_return make_failure(cs, ec, step::write, delivery::not_sent, reused);
  }

  http::response_parser<http::string_body> p;
  p.header_limit(static_cast<std::uint32_t>(options_.max_header_bytes));
  p.body_limit(req.options.max_body ? *req.options.max_body : options_.max_response_body);
  if (req.method == http::verb::head) p.skip(true);
  if (auto ec = co_await conn->read_header(p, t.read_header)) {
    co_return make_failure(cs, ec, step::read_header, delivery::maybe_delivered, reused);
  }
  if (!p.is_done()) {
    if (auto ec = co_await conn->read(p, t.read_body)) {
      co_return make_failure(cs, ec, step::read_body, delivery::maybe_delivered, reused);
    }
  }

  auto& res = p.get();
  http_response out;
  out.status = res.result_int();
  out.content_type = to_std(res[http::field::content_type]);
  out.retry_after = to_std(res[http::field::retry_after]);
  out.location = to_std(res[http::field::location]);
  if (auto cl = p.content_length()) out.content_length = *cl;
  out.reused_connection = reused;
  const bool keep_alive = res.keep_alive();
  const auto hint = keep_alive_timeout(to_std(res[http::field::keep_alive]));
  out.body = std::move(res.body());
  release(std::move(conn), keep_alive, hint);
  co_return out;
}

}  // namespace vidq::net
