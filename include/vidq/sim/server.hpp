#pragma once
// The simulator's HTTPS shell: a Beast server (C++20 coroutines, one io_context) that reads
// requests with body/header limits and per-step deadlines, asks `simulator` for the reply,
// and performs the transport actions it decides (delay, close, reset, truncated body).

#include "vidq/core/error.hpp"
#include "vidq/net/listen_address.hpp"
#include "vidq/net/tls_identity.hpp"
#include "vidq/sim/simulator.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <atomic>
#include <memory>

namespace vidq::sim {

// A TLS 1.2+ server context holding the identity's leaf certificate and key.
// Errors: errc::tls_error (unreadable or mismatching certificate/key).
result<std::shared_ptr<boost::asio::ssl::context>> make_server_tls(const net::tls_identity& id);

// The config's "HOST:PORT" (net/listen_address); kept under this name for callers.
using net::parse_listen;

class server {
 public:
  // Binds and listens on `where` at once, so port() is valid before start(). It also tells
  // `sim` its base URL (https://127.0.0.1:PORT). `sim` and `tls` must outlive the server's
  // sessions (they are shared or owned by the caller for the io_context's lifetime).
  // Errors: errc::io_error (address in use, permission), with the cause logged.
  static result<std::unique_ptr<server>> listen(boost::asio::io_context& ioc, simulator& sim,
                                                std::shared_ptr<boost::asio::ssl::context> tls,
                                                const boost::asio::ip::tcp::endpoint& where);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  unsigned short port() const;
  std::string base_url() const;  // "https://127.0.0.1:PORT"

  // Starts accepting (the accept loop and every session are owned by the server and end on
  // stop()). Call once.
  void start();
  // Thread-safe, idempotent: stops accepting and cancels every session (pending reads,
  // delayed replies and GeekAI synchronous waits end at once). The io_context runs out of
  // work once the cancelled coroutines have unwound.
  void stop();

  struct impl;

 private:
  explicit server(std::shared_ptr<impl> state);
  std::shared_ptr<impl> impl_;
  std::atomic<bool> stop_requested_{false};
};

}  // namespace vidq::sim
