#pragma once
// A scriptable loopback HTTP(S) server for the net/ component tests: 127.0.0.1, port 0, real
// TLS with the certificate from ensure_tls_identity. Each accepted connection and each request
// asks a script what to do, so a test can inject a fault at one precise point (close after
// reading the request, stall the handshake, cut the body, ...) and count what happened
// server-side (connections, handshakes, requests). Runs on the test's own io_context thread.

#include "vidq/net/https_client.hpp"
#include "vidq/net/options.hpp"
#include "vidq/net/tls_identity.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vidq::net_test {

using std::chrono::milliseconds;

struct received_request {
  std::size_t connection = 0;           // 0-based, in accept order
  std::size_t index_on_connection = 0;  // 0 for the first request of a connection
  std::string method;
  std::string target;
  std::string body;
  std::map<std::string, std::string> headers;  // names lower-cased
};

struct scripted_reply {
  enum class kind {
    respond,  // answer as described below
    close,    // read the request, then close without answering (close_notify + FIN)
    stall,    // read the request, never answer
  };
  enum class ending {
    keep_alive,  // wait for the next request (see close_if_idle)
    close,       // close_notify, then FIN
    abort,       // FIN without close_notify (a TLS truncation)
    stall,       // keep the socket open, send nothing more
  };
  kind action = kind::respond;
  unsigned status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::uint64_t pattern_bytes = 0;              // > 0: the body is pattern(0..n), streamed
  std::optional<std::uint64_t> content_length;  // declared length; default: the real one
  bool omit_content_length = false;             // EOF-delimited body (use with end=close)
  std::optional<std::uint64_t> cut_after;       // send at most this many body bytes
  ending end = ending::keep_alive;
  milliseconds delay{0};          // before the status line
  milliseconds close_if_idle{0};  // keep_alive: FIN after this long without a request; 0: never
};

enum class accept_action {
  serve,
  close_at_once,          // accept, then close before any TLS byte
  stall_handshake,        // accept, never answer the ClientHello
  stall_after_handshake,  // complete TLS, never read
};

struct test_server_options {
  bool tls = true;
  std::function<accept_action(std::size_t connection)> on_accept{};
  std::function<scripted_reply(const received_request&)> on_request{};  // default: 200 "ok"
};

class test_server {
 public:
  test_server(boost::asio::io_context& ioc, test_server_options options);
  ~test_server();  // closes the listener and every connection
  test_server(const test_server&) = delete;
  test_server& operator=(const test_server&) = delete;

  unsigned short port() const noexcept { return port_; }
  // "https://127.0.0.1:<port><target>" (http:// when tls is off). `host` replaces 127.0.0.1.
  std::string url(std::string_view target = "/", std::string_view host = "127.0.0.1") const;

  std::size_t connections() const noexcept { return connections_; }
  std::size_t handshakes() const noexcept { return handshakes_; }
  const std::vector<received_request>& requests() const noexcept { return requests_; }
  void set_on_request(std::function<scripted_reply(const received_request&)> f) {
    options_.on_request = std::move(f);
  }
  void stop();

 private:
  struct session;
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> serve(std::shared_ptr<session> s);
  template <class Stream>
  boost::asio::awaitable<bool> exchange(session& s, Stream& stream, std::size_t index);

  boost::asio::io_context& ioc_;
  test_server_options options_;
  std::unique_ptr<boost::asio::ssl::context> tls_;
  boost::asio::ip::tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  std::size_t connections_ = 0;
  std::size_t handshakes_ = 0;
  std::vector<received_request> requests_;
  std::vector<std::weak_ptr<session>> sessions_;
};

// The loopback CA + server certificate, created once per machine in the temp directory
// (ensure_tls_identity reuses valid files), and an unrelated CA for "wrong CA" tests.
const net::tls_identity& test_tls_identity();
const net::tls_identity& other_tls_identity();

// Deterministic bytes for big bodies: both sides generate them, nobody stores them.
void fill_pattern(std::uint64_t offset, char* out, std::size_t n);
std::string pattern(std::uint64_t n);
std::string pattern_sha256(std::uint64_t n);

// Client options for tests: trust the loopback CA, every deadline 2 s (tests that exercise
// one deadline shrink it to ~200 ms), and a client built from them.
net::client_options test_client_options();
std::unique_ptr<net::https_client> make_test_client(boost::asio::io_context& ioc,
                                                    net::client_options options);
inline std::unique_ptr<net::https_client> make_test_client(boost::asio::io_context& ioc) {
  return make_test_client(ioc, test_client_options());
}

// Awaitable sleep that never throws (also when cancelled by `||`).
boost::asio::awaitable<void> sleep_for(milliseconds d);

// Bytes of heap currently allocated and not freed, for constant-memory checks. Under ASan
// this excludes the free-quarantine (which makes RSS grow with any allocation churn).
std::uint64_t live_heap_bytes();

// Runs `body` on `ioc` until it finishes or `limit` passes. Returns false on the time limit;
// rethrows what `body` threw.
bool run_test(boost::asio::io_context& ioc, std::function<boost::asio::awaitable<void>()> body,
              milliseconds limit = milliseconds{20'000});

}  // namespace vidq::net_test
