#pragma once
// The status server of `vidq run` (DESIGN.md §4, docs/STATUS_SERVER.md): plain HTTP/1.1 (by default on
// loopback), C++20 coroutines on the daemon's single io_context thread. Its handlers read
// through store::status_store: the daemon's SQLite connection directly, or connections
// borrowed from the daemon's PostgreSQL pool (short, index-backed, LIMITed queries only).
// Endpoints: /healthz, /metrics (Prometheus text 0.0.4), a JSON API for jobs, batches,
// accounts, a timeline and the gallery, read-only files from the output folder (with Range),
// and the embedded dashboard at /. Mutating endpoints need `Authorization: Bearer <token>`.

#include "vidq/core/clock.hpp"
#include "vidq/core/error.hpp"
#include "vidq/net/listen_address.hpp"
#include "vidq/daemon/control.hpp"
#include "vidq/ops/config.hpp"
#include "vidq/ops/metrics.hpp"
#include "vidq/ops/secrets.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace vidq::store {
class status_store;
}

namespace vidq::status {

// Everything the server reads or commands. All references must outlive the io_context's
// last run (sessions unwind asynchronously after stop(); see open_connections()).
struct status_server_deps {
  store::status_store& store;
  const ops::config& cfg;  // output_dir (files), accounts (POST /api/jobs), config dir
  daemon::daemon_control& control;
  const ops::metrics& metrics;
  const vidq::clock& clock;
  std::optional<ops::secret> token;  // nullopt: mutating endpoints answer 403
};

class status_server {
 public:
  status_server(boost::asio::any_io_executor executor, status_server_deps deps);
  ~status_server();  // stop()
  status_server(const status_server&) = delete;
  status_server& operator=(const status_server&) = delete;

  // Binds "HOST:PORT" ("127.0.0.1:8788", "[::1]:0"; port 0 picks a free port), listens and
  // starts accepting. Returns the bound port. Call once. Errors: errc::invalid_argument
  // (unparsable address), errc::io_error (address in use, permission; the cause is logged).
  result<std::uint16_t> start(std::string_view listen);

  // Closes the listener and every connection; pending reads and writes end at once. Call on
  // the executor's thread. Idempotent.
  void stop();

  std::uint16_t port() const;

  // Connections whose coroutine has not finished yet. After stop(), a request waiting on
  // the database (PostgreSQL) finishes only when the io_context runs again: run it until
  // this is 0 before destroying what status_server_deps names (the pool).
  std::size_t open_connections() const;

  // Replaces the token (SIGHUP reload); requests after this call check the new one.
  void set_token(std::optional<ops::secret> token);

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

// The config's "HOST:PORT" (net/listen_address); kept under this name for callers.
using net::parse_listen;

// Loopback, counting v4-mapped v6 (::ffff:127.0.0.1) as what it maps.
bool is_loopback(const boost::asio::ip::address& addr) noexcept;

// The token for mutating endpoints, from [status] token_env, token_file or token_credential
// (tried in that order, like API keys; the value is registered for log redaction). Returns
// nullopt when none of the three is configured (read-only server). Errors:
// errc::config_error with `why` set (source configured but unreadable, or a token shorter
// than 16 characters); `why` never contains the value.
result<std::optional<ops::secret>> load_status_token(const ops::status_config& cfg, std::string& why);

}  // namespace vidq::status
