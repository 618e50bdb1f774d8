#include "vidq/net/download.hpp"

#include "vidq/net/part_file.hpp"

#include <boost/asio/this_coro.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <algorithm>
#include <memory>

namespace vidq::net {

namespace asio = boost::asio;
using asio::awaitable;

namespace {

constexpr std::size_t chunk_size = 64u << 10;     // the one buffer of a transfer
constexpr std::size_t drain_limit = 64u << 10;    // redirect / error bodies read at most
constexpr std::size_t detail_limit = 512;         // kept for request_error::detail

bool is_redirect(unsigned status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

bool cancelled(const asio::cancellation_state& cs) {
  return cs.cancelled() != asio::cancellation_type::none;
}

request_error failure(const asio::cancellation_state& cs, error_code ec, step s, delivery d,
                      bool reused, unsigned status = 0, std::string detail = {}) {
  if (cancelled(cs) || ec == asio::error::operation_aborted) {
    ec = asio::error::operation_aborted;
  } else {
    ec = normalize(ec, s);
  }
  return request_error{ec, d, s, status, reused, std::move(detail)};
}

// Resolves a Location against the URL that answered with it (RFC 3986 §5).
result<std::string> follow(const std::string& base, std::string_view location) {
  namespace urls = boost::urls;
  auto ref = urls::parse_uri_reference(location);
  auto b = urls::parse_uri(base);
  if (location.empty() || !ref || !b) return error_code(net_errc::bad_url);
  urls::url out;
  if (auto r = urls::resolve(*b, *ref, out); !r) return error_code(net_errc::bad_url);
  out.remove_fragment();
  return std::string(out.buffer());
}

// Reads and discards a (redirect or error) body, keeping its first bytes for the caller's
// message. Returns whether the whole body was read, i.e. the connection may be reused.
awaitable<bool> drain(connection& c, http::response_parser<http::buffer_body>& p, char* buf,
                      milliseconds limit, std::string& detail) {
  std::size_t total = 0;
  while (!p.is_done()) {
    p.get().body().data = buf;
    p.get().body().size = chunk_size;
    if (co_await c.read(p, limit)) co_return false;
    const std::size_t n = chunk_size - p.get().body().size;
    if (detail.size() < detail_limit) {
      detail.append(buf, std::min(n, detail_limit - detail.size()));
    }
    total += n;
    if (total > drain_limit && !p.is_done()) co_return false;
  }
  co_return true;
}

awaitable<net_result<download_result>> run_download(https_client& client, std::string url,
                                                    std::filesystem::path dest,
                                                    download_options options, std::string_view part_suffix) {
  auto cs = co_await asio::this_coro::cancellation_state;
  const client_options& co = client.options();
  const timeouts& t = options.deadlines ? *options.deadlines : co.deadlines;
  auto buf = std::make_unique<char[]>(chunk_size);
  std::string current = std::move(url);

  for (unsigned hop = 0;; ++hop) {
    auto u = parse_url(current, co.allow_plain_http);
    if (!u) {
      error_code ec = u.error();
      if (hop > 0) ec = ec == net_errc::scheme_refused ? error_code(net_errc::redirect_refused)
                                                       : error_code(net_errc::bad_url);
      co_return request_error{ec, delivery::not_sent, step::prepare, 0, false, {}};
    }
    auto lease = co_await client.acquire(u->origin, co.pool.idle_timeout > milliseconds{0},
                                         co.pool.idle_timeout, t,
                                         options.proxy ? &*options.proxy : nullptr);
    if (!lease) co_return lease.error();
    std::unique_ptr<connection> conn = std::move(*lease);
    const bool reused = conn->exchanges() > 0;

    http::request<http::string_body> msg{http::verb::get, u->target, 11};
    msg.set(http::field::host, u->origin.host_header());
    msg.set(http::field::user_agent, co.user_agent);
    // The hash is of the bytes as stored, so ask for them as stored.
    msg.set(http::field::accept_encoding, "identity");
    for (auto& [name, value] : options.headers) msg.set(name, value);
    msg.prepare_payload();
    if (cancelled(cs)) co_return failure(cs, {}, step::write, delivery::not_sent, reused);
    if (auto ec = co_await conn->write(msg, t.write)) {
      co_return failure(cs, ec, step::write, delivery::not_sent, reused);
    }

    http::response_parser<http::buffer_body> p;
    p.header_limit(static_cast<std::uint32_t>(co.max_header_bytes));
    p.body_limit(options.max_bytes);
    if (auto ec = co_await conn->read_header(p, t.read_header)) {
      co_return failure(cs, ec, step::read_header, delivery::maybe_delivered, reused);
    }
    const unsigned status = p.get().result_int();
    const bool keep_alive = p.get().keep_alive();

    if (is_redirect(status)) {
      const std::string location(p.get()[http::field::location]);
      std::string ignored;
      const bool drained = co_await drain(*conn, p, buf.get(), t.read_body, ignored);
      client.release(std::move(conn), drained && keep_alive);
      if (cancelled(cs)) {
        co_return failure(cs, {}, step::read_body, delivery::maybe_delivered, reused, status);
      }
      if (hop >= options.max_redirects) {
        co_return request_error{net_errc::too_many_redirects, delivery::maybe_delivered,
                                step::prepare, status, reused, {}};
      }
      auto next = follow(current, location);
      if (!next) {
        co_return request_error{next.error(), delivery::maybe_delivered, step::prepare, status,
                                reused, {}};
      }
      current = std::move(*next);
      continue;
    }

    if (status != 200) {
      std::string detail;
      const bool drained = co_await drain(*conn, p, buf.get(), t.read_body, detail);
      client.release(std::move(conn), drained && keep_alive);
      if (cancelled(cs)) {
        co_return failure(cs, {}, step::read_body, delivery::maybe_delivered, reused, status);
      }
      co_return request_error{net_errc::http_status, delivery::maybe_delivered,
                              step::read_header, status, reused, std::move(detail)};
    }

    if (auto cl = p.content_length(); cl && *cl > options.max_bytes) {
      co_return request_error{net_errc::body_too_large, delivery::maybe_delivered,
                              step::read_body, status, reused, {}};
    }
    auto file = part_file::create(dest, part_suffix);
    if (!file) {
      co_return request_error{file.error(), delivery::maybe_delivered, step::file, status,
                              reused, {}};
    }
    while (!p.is_done()) {
      p.get().body().data = buf.get();
      p.get().body().size = chunk_size;
      if (auto ec = co_await conn->read(p, t.read_body)) {
        co_return failure(cs, ec, step::read_body, delivery::maybe_delivered, reused, status);
      }
      const std::size_t n = chunk_size - p.get().body().size;
      if (n == 0) continue;
      if (auto ec = file->write(buf.get(), n)) {
        co_return request_error{ec, delivery::maybe_delivered, step::file, status, reused, {}};
      }
    }
    if (cancelled(cs)) {
      co_return failure(cs, {}, step::read_body, delivery::maybe_delivered, reused, status);
    }
    if (auto ec = file->commit()) {
      co_return request_error{ec, delivery::maybe_delivered, step::file, status, reused, {}};
    }
    client.release(std::move(conn), keep_alive);
    co_return download_result{file->bytes(), file->sha256_hex(), hop};
  }
}

}  // namespace

awaitable<net_result<download_result>> download(https_client& client, std::string url,
                                                std::filesystem::path dest,
                                                download_options options, std::string_view part_suffix) {
  // As in https_client::request: handle cancellation ourselves, restore the caller's mode.
  const bool throw_before = co_await asio::this_coro::throw_if_cancelled();
  co_await asio::this_coro::throw_if_cancelled(false);
  auto r = co_await run_download(client, std::move(url), std::move(dest), std::move(options), part_suffix);
  co_await asio::this_coro::throw_if_cancelled(throw_before);
  co_return r;
}

}  // namespace vidq::net
