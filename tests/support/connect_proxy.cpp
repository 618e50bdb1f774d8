#include "support/connect_proxy.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <stdexcept>

namespace vidq::test {

namespace asio = boost::asio;
using asio::ip::tcp;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

struct connect_proxy::state {
  std::mutex mutex;
  std::vector<std::string> targets;
};

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The value of header `name` (lower case) in a request head, or "".
std::string header_value(const std::string& head, const std::string& name) {
  std::size_t pos = head.find("\r\n");
  while (pos != std::string::npos && pos + 2 < head.size()) {
    const std::size_t start = pos + 2;
    const std::size_t end = head.find("\r\n", start);
    if (end == std::string::npos || end == start) break;
    const std::string line = head.substr(start, end - start);
    const auto colon = line.find(':');
    if (colon != std::string::npos && lower(line.substr(0, colon)) == name) {
      auto v = line.substr(colon + 1);
      while (!v.empty() && v.front() == ' ') v.erase(0, 1);
      return v;
    }
    pos = end;
  }
  return {};
}

asio::awaitable<void> pump(std::shared_ptr<tcp::socket> from, std::shared_ptr<tcp::socket> to) {
  std::array<char, 16384> buf{};
  for (;;) {
    auto [rec, n] = co_await from->async_read_some(asio::buffer(buf), tuple_awaitable);
    if (rec) break;
    auto [wec, w] = co_await asio::async_write(*to, asio::buffer(buf.data(), n), tuple_awaitable);
    if (wec) break;
  }
  boost::system::error_code ignored;
  to->shutdown(tcp::socket::shutdown_send, ignored);  // pass the half-close on
}

asio::awaitable<void> reply_and_close(std::shared_ptr<tcp::socket> s, std::string text) {
  co_await asio::async_write(*s, asio::buffer(text), tuple_awaitable);
  boost::system::error_code ignored;
  s->shutdown(tcp::socket::shutdown_both, ignored);
  s->close(ignored);
}

asio::awaitable<void> session(std::shared_ptr<tcp::socket> client, connect_proxy_options options,
                              std::shared_ptr<connect_proxy::state> st, std::atomic<std::size_t>& tunnels,
                              std::atomic<std::size_t>& refused) {
  std::string head;
  auto [rec, n] = co_await asio::async_read_until(*client, asio::dynamic_buffer(head, 16384), "\r\n\r\n",
                                                  tuple_awaitable);
  if (rec) co_return;
  const std::string rest = head.substr(n);
  head.resize(n);
  // "CONNECT host:port HTTP/1.1"
  const auto sp1 = head.find(' ');
  const auto sp2 = head.find(' ', sp1 + 1);
  if (head.compare(0, sp1, "CONNECT") != 0 || sp2 == std::string::npos) {
    co_await reply_and_close(client, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n");
    ++refused;
    co_return;
  }
  const std::string authority = head.substr(sp1 + 1, sp2 - sp1 - 1);
  {
    std::lock_guard lock(st->mutex);
    st->targets.push_back(authority);
  }
  if (options.refuse_status != 0) {
    ++refused;
    co_await reply_and_close(client, "HTTP/1.1 " + std::to_string(options.refuse_status) +
                                         " Refused\r\nContent-Length: 7\r\nConnection: close\r\n\r\nrefused");
    co_return;
  }
  if (!options.required_authorization.empty() &&
      header_value(head, "proxy-authorization") != options.required_authorization) {
    ++refused;
    co_await reply_and_close(client,
                             "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic "
                             "realm=\"test\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    co_return;
  }
  const auto colon = authority.rfind(':');
  std::string host = authority.substr(0, colon);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  if (host == "localhost" ||
      std::find(options.loopback_names.begin(), options.loopback_names.end(), host) != options.loopback_names.end()) {
    host = "127.0.0.1";
  }
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(host, ec);
  if (ec || !addr.is_loopback() || colon == std::string::npos) {  // tests never leave the machine
    ++refused;
    co_await reply_and_close(client, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
    co_return;
  }
  auto upstream = std::make_shared<tcp::socket>(client->get_executor());
  const auto port = static_cast<unsigned short>(std::stoul(authority.substr(colon + 1)));
  auto [cec] = co_await upstream->async_connect(tcp::endpoint(addr, port), tuple_awaitable);
  if (cec) {
    ++refused;
    co_await reply_and_close(client, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
    co_return;
  }
  const std::string ok = "HTTP/1.1 200 Connection established\r\n\r\n";
  auto [wec, w] = co_await asio::async_write(*client, asio::buffer(ok), tuple_awaitable);
  if (wec) co_return;
  ++tunnels;
  if (!rest.empty()) co_await asio::async_write(*upstream, asio::buffer(rest), tuple_awaitable);
  asio::co_spawn(client->get_executor(), pump(upstream, client), asio::detached);
  co_await pump(client, upstream);
}

}  // namespace

connect_proxy::connect_proxy(connect_proxy_options options)
    : options_(std::move(options)), state_(std::make_shared<state>()) {
  auto acceptor = std::make_shared<tcp::acceptor>(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  port_ = acceptor->local_endpoint().port();
  asio::co_spawn(
      ioc_,
      [this, acceptor]() -> asio::awaitable<void> {
        for (;;) {
          auto [ec, sock] = co_await acceptor->async_accept(tuple_awaitable);
          if (ec) co_return;
          ++connections_;
          asio::co_spawn(ioc_, session(std::make_shared<tcp::socket>(std::move(sock)), options_, state_, tunnels_, refused_),
                         asio::detached);
        }
      },
      asio::detached);
  thread_ = std::thread([this] { ioc_.run(); });
}

connect_proxy::~connect_proxy() {
  ioc_.stop();
  thread_.join();
}

std::vector<std::string> connect_proxy::targets() const {
  std::lock_guard lock(state_->mutex);
  return state_->targets;
}

}  // namespace vidq::test
