#pragma once
// Error taxonomy (API.md §5, §9, §12; docs/ENGINE_DECISIONS.md §2): what happened to one HTTP
// call → what the scheduler does next. Pure: no I/O, no clock reads (time comes in `now`).
// Business code first, then HTTP status, because 1113 (arrears) also arrives as HTTP 429.

#include "vidq/core/clock.hpp"
#include "vidq/ops/config.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace vidq::provider {

enum class operation { submit, poll, download };

// What happened to the HTTP call, as the transport saw it. The driver maps the transport's
// own result (net/errors.hpp `delivery`) to this, so this layer does not depend on net/.
struct transport_outcome {
  enum class kind {
    not_sent,         // surely never reached the peer: DNS, connect, TLS, write refused
    maybe_delivered,  // the request may have been received: read timeout, reset after send
    response,         // a complete HTTP response arrived (any status)
  };
  kind what = kind::not_sent;
  int http_status = 0;                     // response only
  std::string body;                        // response only; may be anything, even garbage
  std::optional<std::string> retry_after;  // raw Retry-After header, if any
  std::string detail;                      // transport error text, for messages
};

// An error as the provider's body states it, from either documented shape.
struct provider_error {
  std::string code;     // business code as text ("1302"); empty when the body had none
  std::string message;  // may be empty
};

// Parses {"error":{"code":"1302","message":..}} (CN, GeekAI) and {"code":1302,"message":..}
// (EN). Never throws. nullopt when the body is not JSON or carries neither code nor message.
std::optional<provider_error> parse_error_body(std::string_view body) noexcept;

enum class action {
  retry,          // send the same request again later (see hint)
  fail_job,       // terminal for this job: store error_code / message
  pause_account,  // stop all submissions of the account; the job itself goes back to queued
  ambiguous,      // a submit may have created a paid task: apply on_ambiguous_submit
};

enum class retry_hint {
  normal,        // backoff_delay(attempt) — engine/backoff.hpp
  long_backoff,  // overload (1305, 1312, 1120, 503): the longer schedule
  rate_limited,  // 1302/1303 on submit: lower the effective cap, attempt not consumed
  refresh_urls,  // download 403/404/410: re-poll once for fresh URLs
  local_disk,    // the result could not be written (ENOSPC, EDQUOT, EIO): pause, no attempt used
};

// Whether a failure is about the account's endpoint rather than the job: then no job should
// pay for it (engine/breaker.hpp pauses the account and probes until it answers again).
enum class account_fault {
  none,
  unreachable,       // nothing reached the provider: DNS, connect refused, TLS, proxy refused
  endpoint_missing,  // a bare 404 where the API should be: base_url is wrong
  server_error,      // HTTP 5xx: one says little, a run of them from every request says a lot
};

struct verdict {
  action what = action::retry;
  retry_hint hint = retry_hint::normal;
  std::string error_code;  // what to store: the provider code ("1301") or a vidq code
  std::string message;     // human readable, for error_message and logs (never the API key)
  // false: the driver gives the claim's attempt back (rate limits, paused accounts).
  bool consumes_attempt = true;
  std::optional<millis> not_before;  // absolute: Retry-After, or a pause's resume time
  account_fault fault = account_fault::none;
};

struct classify_context {
  ops::provider_kind provider = ops::provider_kind::bigmodel;
  millis now = 0;
  // poll: when the task was submitted; a 404 within the grace period is replication lag.
  std::optional<millis> submitted_at;
  millis not_found_grace = 5 * 60'000;
  // download: whether the URLs were already refreshed once (then 403/404 is final).
  bool urls_refreshed = false;
};

// The one classification entry. `outcome` must not be a 2xx response (those go through the
// dialect parsers, which call this for the malformed ones). Never throws.
verdict classify(operation op, const transport_outcome& outcome, const classify_context& ctx);

// A 2xx whose body could not be understood. submit → ambiguous (the task may exist);
// poll → retry; download never gets here.
verdict classify_unreadable_success(operation op, std::string_view why);

// The driver's two policy steps, pure so they are tested here:
// - ambiguous → fail_job("submit_ambiguous") or, with `resubmit`, retry (same request_id).
verdict resolve_ambiguous(const verdict& v, ops::ambiguous_submit_policy policy);
// - a retry that would use attempt number `attempts_used + 1` beyond max_attempts becomes
//   fail_job with the last error_code/message. `attempts_used` counts the current one.
verdict apply_attempt_limit(const verdict& v, int attempts_used, const ops::retry_config& cfg);

// Resume time for quota codes: a `next_flush_time` (or any "YYYY-MM-DD HH:MM[:SS]", read as
// China Standard Time, UTC+8, or a 10/13-digit epoch) found in `message`; nullopt otherwise.
std::optional<millis> parse_resume_time(std::string_view message) noexcept;
// The next 00:00 China Standard Time after `now` (1304: the daily quota resets there).
millis next_cst_midnight(millis now) noexcept;
// Retry-After as delta-seconds (HTTP-dates are rare for APIs and not parsed) → absolute.
std::optional<millis> parse_retry_after(std::string_view value, millis now) noexcept;

std::string_view to_string(action a) noexcept;
std::string_view to_string(account_fault f) noexcept;
std::string_view to_string(retry_hint h) noexcept;

}  // namespace vidq::provider
