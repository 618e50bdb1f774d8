#pragma once
// A small HTTP CONNECT proxy on 127.0.0.1:0 for the proxy tests, with its io_context on a
// background thread: accepts CONNECT host:port (loopback targets only), optionally demands a
// Proxy-Authorization value (407 otherwise) or refuses every tunnel with a fixed status, and
// relays bytes both ways without looking at them (TLS stays end to end). Counts what it did.

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace vidq::test {

struct connect_proxy_options {
  std::string required_authorization;  // e.g. "Basic dXNlcjpwdw=="; empty: no auth asked
  unsigned refuse_status = 0;          // e.g. 403 or 502: refuse every CONNECT with it
  // Names the proxy resolves to 127.0.0.1 besides "localhost" (a name the origin's
  // certificate does not hold, to show verification is against the origin's name).
  std::vector<std::string> loopback_names;
};

class connect_proxy {
 public:
  explicit connect_proxy(connect_proxy_options options = {});
  ~connect_proxy();
  connect_proxy(const connect_proxy&) = delete;
  connect_proxy& operator=(const connect_proxy&) = delete;

  unsigned short port() const noexcept { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  std::size_t connections() const noexcept { return connections_.load(); }  // accepted
  std::size_t tunnels() const noexcept { return tunnels_.load(); }          // answered 200
  std::size_t refused() const noexcept { return refused_.load(); }          // answered non-2xx
  std::vector<std::string> targets() const;  // CONNECT authorities, in order

  struct state;

 private:
  connect_proxy_options options_;
  boost::asio::io_context ioc_;
  unsigned short port_ = 0;
  std::atomic<std::size_t> connections_{0}, tunnels_{0}, refused_{0};
  std::shared_ptr<state> state_;
  std::thread thread_;
};

}  // namespace vidq::test
