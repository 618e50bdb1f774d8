#pragma once
// Sending one notice to one [[notify]] target, once: the I/O seam of the outbox (the daemon's
// notifier decides what and when; tests script this interface). An attempt never retries by
// itself and never blocks the io_context thread.
//
// Cancellation: terminal cancellation of the awaiting coroutine's slot aborts the attempt
// (the HTTP exchange is cut; a command's process is killed) and reports it undelivered.

#include "vidq/core/clock.hpp"
#include "vidq/notify/message.hpp"
#include "vidq/ops/config.hpp"
#include "vidq/ops/secrets.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>
#include <vector>

namespace vidq::net {
class https_client;
}

namespace vidq::notify {

// A configured target with its secret loaded (empty: webhooks go unsigned).
struct target {
  ops::notify_config config;
  ops::secret secret;
};

// The targets of cfg.notify with their secrets loaded (and registered for redaction).
// nullopt when a secret does not load; `why` then names the entry and the source, never a value.
std::optional<std::vector<target>> load_targets(const ops::config& cfg, std::string& why);

struct attempt_result {
  bool delivered = false;
  std::string error;  // why not, for notice_deliveries.last_error: "HTTP 500", "exit status 3", ...
};

class transport {
 public:
  virtual ~transport() = default;
  virtual boost::asio::awaitable<attempt_result> deliver(const target& t, const message& m) = 0;
};

// Webhooks through `http` (which must allow plain http: the config only lets loopback
// http:// URLs through), commands as child processes. `clk` stamps X-Vidq-Timestamp.
class real_transport final : public transport {
 public:
  real_transport(net::https_client& http, const vidq::clock& clk) : http_(http), clock_(clk) {}
  boost::asio::awaitable<attempt_result> deliver(const target& t, const message& m) override;

 private:
  net::https_client& http_;
  const vidq::clock& clock_;
};

// One POST: Content-Type application/json, Idempotency-Key, X-Vidq-Event, X-Vidq-Notice-Id,
// and when the target has a secret X-Vidq-Timestamp + X-Vidq-Signature (signature.hpp).
// Every HTTP step has the target's timeout. 2xx = delivered; anything else (redirects
// included) is a failure naming the status.
boost::asio::awaitable<attempt_result> post_webhook(net::https_client& http, const target& t, const message& m,
                                                    std::int64_t unix_seconds);

// Runs argv (PATH lookup for argv[0]) with the message body on stdin, an environment of
// PATH, HOME, LANG, TZ (copied when set) plus m.env — nothing else, so the daemon's API
// key variables never reach it —, stdout and stderr captured (the first 512 bytes go into
// the error). Exit status 0 within `timeout` = delivered; on the timeout the process is
// killed (SIGKILL) and reaped. Waits through a pidfd on the io_context: no thread blocks.
boost::asio::awaitable<attempt_result> run_command(const std::vector<std::string>& argv,
                                                   const std::vector<std::pair<std::string, std::string>>& env,
                                                   const std::string& stdin_body, millis timeout);

}  // namespace vidq::notify
