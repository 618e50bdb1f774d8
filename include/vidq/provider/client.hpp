#pragma once
// The provider client: one account's submit and poll as coroutines. The interface is the seam
// the scheduler is written against (tests script replies with a fake); the HTTPS
// implementation only glues three pure or tested pieces together:
//   dialect (job_spec ⇄ JSON, reply → status) · net::https_client (bytes) · error_class (verdict).
// Nothing here retries, sleeps or touches the database: every result is one HTTP exchange.

#include "vidq/core/clock.hpp"
#include "vidq/net/errors.hpp"
#include "vidq/net/https_client.hpp"
#include "vidq/net/options.hpp"
#include "vidq/ops/config.hpp"
#include "vidq/ops/secrets.hpp"
#include "vidq/provider/account_transport.hpp"
#include "vidq/provider/dialect.hpp"
#include "vidq/provider/error_class.hpp"
#include "vidq/provider/job_spec.hpp"

#include <boost/asio/awaitable.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace vidq::provider {

// What a poll needs to know about its task besides the id (404 grace after submit).
struct poll_context {
  std::optional<millis> submitted_at;
  millis not_found_grace = 5 * 60'000;
};

// One account at one provider. Implementations are used from one io_context thread.
class provider_client {
 public:
  virtual ~provider_client() = default;

  // POSTs the job. Result: submit_accepted{task_id}, or a verdict (error_class.hpp):
  //   fail_job     the request could not be built (invalid_request, image_unreadable: nothing
  //                was sent) or the provider refused the job (1301, 1261, 4xx ...)
  //   retry        not sent (network), 5xx, 1302 (hint rate_limited, attempt given back) ...
  //   pause_account  auth, arrears, quota
  //   ambiguous    the POST may have created a task: no reply, 504, unreadable 2xx
  // Messages never contain the API key. Never throws for expected failures.
  // Cancellation (terminal, via the awaiting coroutine's slot): the exchange stops and the
  // result is the verdict of the moment: not_sent → retry, after the write → ambiguous.
  // `spec` and `request_id` must stay alive until the await completes; pass a named job_spec
  // (GCC 12 miscompiles an aggregate temporary with strings inside co_await, HTTP_CLIENT.md).
  virtual boost::asio::awaitable<submit_result> submit(const job_spec& spec, std::string_view request_id) = 0;

  // GETs the task's state: task_running, task_succeeded{video_url, cover_url},
  // task_failed{code, message}, or a verdict (retry for 5xx/network/unreadable replies, a
  // 404 within the grace; fail_job for a task the provider disowns after it; pause_account).
  // Cancellation: as submit (a poll is never ambiguous: it is a retry).
  virtual boost::asio::awaitable<poll_result> poll(std::string_view task_id, const poll_context& ctx) = 0;

  virtual ops::provider_kind provider() const noexcept = 0;
  virtual const std::string& account() const noexcept = 0;
};

// Transport result → what error_class reasons about. Pure. A complete response (any status)
// is `response`. A failure is `maybe_delivered` when the request may have reached the server:
// the transport said so, or it failed after the write (read_header, read_body, file) whatever
// the transport said; otherwise (prepare, resolve, connect, handshake, write) `not_sent`.
// `detail` is the transport's message.
transport_outcome to_outcome(const net::net_result<net::http_response>& r);

// Client options for the shared https_client from the config: [tls] ca_file, the
// User-Agent "vidq/<version>", and the proxy of HTTPS_PROXY/NO_PROXY (what downloads of
// result files use; a malformed HTTPS_PROXY is left out here and refused by
// https_provider_client::create). Deadlines keep the transport's defaults; the pool keeps
// as many idle connections per host as the accounts have slots, at least the transport's 8
// and at most 256 (sized once, at start: a reload keeps it).
net::client_options provider_client_options(const ops::config& cfg);

// "https://host/api/paas/v4" + "/videos/generations", tolerating a trailing '/' on the base.
std::string join_url(std::string_view base_url, std::string_view path);

// The real client. Shares `http` (one pool per host for all accounts) and `clock` (read when a
// reply arrives, for Retry-After and pause resume times); both must outlive it.
class https_provider_client final : public provider_client {
 public:
  // Loads the account's key once (load_secret registers it for log redaction), and decides
  // its proxy (account_proxy_settings over HTTPS_PROXY/NO_PROXY). Errors: errc::config_error
  // with `why` naming the key source or the bad setting, never a value.
  static result<std::unique_ptr<https_provider_client>> create(const ops::account_config& account,
                                                               net::https_client& http, const vidq::clock& clock,
                                                               std::string& why);
  // `key` should come from load_secret (registered for log redaction); this client scrubs
  // its own key (and JWT) from everything it returns either way. `proxy`: this account's
  // proxy settings; nullopt uses the https_client's. Throws std::invalid_argument for
  // auth = jwt with a key that is not id.secret (create() reports that as a config error).
  https_provider_client(ops::account_config account, ops::secret key, net::https_client& http,
                        const vidq::clock& clock, std::optional<net::proxy_settings> proxy = std::nullopt);

  boost::asio::awaitable<submit_result> submit(const job_spec& spec, std::string_view request_id) override;
  boost::asio::awaitable<poll_result> poll(std::string_view task_id, const poll_context& ctx) override;
  ops::provider_kind provider() const noexcept override { return account_.provider; }
  const std::string& account() const noexcept override { return account_.name; }

  // For tests of the image reader seam (local files become data: URIs).
  void set_image_reader(image_reader reader) { read_image_ = std::move(reader); }

 private:
  // Sends `req` with the credential; returns what the transport saw, key-free.
  boost::asio::awaitable<transport_outcome> exchange(const http_request& req);
  classify_context context_now() const;
  std::string scrub(std::string text) const;

  ops::account_config account_;
  account_credential credential_;
  std::optional<net::proxy_settings> proxy_;
  net::https_client& http_;
  const vidq::clock& clock_;
  image_reader read_image_ = read_image_file;
};

}  // namespace vidq::provider
