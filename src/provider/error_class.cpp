#include "vidq/provider/error_class.hpp"

#include "vidq/ops/log.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <cctype>
#include <charconv>
#include <algorithm>
#include <chrono>
#include <cstdint>

namespace vidq::provider {
namespace {

constexpr millis hour_ms = 3'600'000;
constexpr millis day_ms = 24 * hour_ms;
constexpr millis cst_offset = 8 * hour_ms;  // China Standard Time, no DST
constexpr std::size_t max_message_chars = 300;

// Provider messages end up in error_message and logs: keep them short and single-line.
// Redacted first, on the decoded text: a key the body echoed JSON-escaped ("\u0073k-…")
// only appears once decoded, and cutting it first would keep half of it out of reach.
std::string tidy(std::string_view raw) {
  const std::string text = log::redact(std::string(raw));
  std::string out;
  for (char c : text) {
    if (out.size() >= max_message_chars) {
      out += "...";
      break;
    }
    out += (static_cast<unsigned char>(c) < 0x20) ? ' ' : c;
  }
  return out;
}

std::optional<int> numeric_code(std::string_view code) {
  int value = 0;
  auto [end, ec] = std::from_chars(code.data(), code.data() + code.size(), value);
  if (ec != std::errc{} || end != code.data() + code.size()) return std::nullopt;
  return value;
}

std::string describe(const transport_outcome& o, const std::optional<provider_error>& pe) {
  std::string text = "HTTP " + std::to_string(o.http_status);
  if (pe && !pe->code.empty()) text += " code " + pe->code;
  if (pe && !pe->message.empty()) text += ": " + tidy(pe->message);
  return text;
}

// A 404 that is not the provider talking about a task or a model: no error body, or the
// router's own "no such endpoint" (code "404"). The path under base_url does not exist.
bool endpoint_missing(const transport_outcome& o, const std::optional<provider_error>& pe) {
  return o.http_status == 404 && (!pe || pe->code.empty() || pe->code == "404");
}

verdict make(action a, retry_hint h, std::string code, std::string message, bool consumes = true) {
  return verdict{a, h, std::move(code), std::move(message), consumes, std::nullopt, account_fault::none};
}

// Auth, arrears, account state and quota codes: the whole account stops submitting. The
// job that met it goes back to queued without losing an attempt; a poll is retried later.
std::optional<verdict> pause_for(int c, const std::string& code, const std::string& text, const classify_context& ctx,
                                 std::string_view pe_message) {
  auto pause = [&](std::string why, std::optional<millis> until) {
    verdict v = make(action::pause_account, retry_hint::long_backoff, code, std::move(why) + " (" + text + ")", false);
    v.not_before = until;
    return v;
  };
  if ((c >= 1000 && c <= 1005))
    return pause("authentication failed: fix the API key, then `vidq account resume`", std::nullopt);
  if (c == 1110 || c == 1111 || c == 1112 || c == 1121)
    return pause("the account is inactive or locked: check the provider console", std::nullopt);
  if (c == 1113) return pause("the account is in arrears: recharge, then `vidq account resume`", std::nullopt);
  if (c == 1304) {
    auto until = parse_resume_time(pe_message);
    return pause("daily call quota reached", until ? until : next_cst_midnight(ctx.now));
  }
  if (c == 1308 || c == 1310) {
    // Without a reset time, probe again in an hour: one rejected request per hour is cheap.
    auto until = parse_resume_time(pe_message);
    return pause("usage cap reached", until ? until : ctx.now + hour_ms);
  }
  if (c == 1309 || c == 1311 || (c >= 1313 && c <= 1321))
    return pause("subscription state forbids calls with this key", std::nullopt);
  return std::nullopt;
}

// A poll the provider refused as a request (404, 400 1214, ...): right after submit that is
// replication lag (API.md §12: ~0.2 %, clears within seconds); after the grace period the
// task id is wrong or foreign, and polling forever would only hide it.
verdict poll_rejected(const transport_outcome& o, const std::optional<provider_error>& pe,
                      const classify_context& ctx) {
  const std::string text = describe(o, pe);
  const bool in_grace = !ctx.submitted_at || ctx.now - *ctx.submitted_at < ctx.not_found_grace;
  if (in_grace) return make(action::retry, retry_hint::normal, "task_not_found", "poll rejected (" + text + ")", false);
  std::string code = o.http_status == 404 || !pe || pe->code.empty() ? "task_not_found" : pe->code;
  return make(action::fail_job, retry_hint::normal, std::move(code),
              "the provider still rejects polls of this task " +
                  std::to_string((ctx.now - *ctx.submitted_at) / 1000) + " s after submit (" + text + ")");
}

std::optional<verdict> by_code(operation op, int c, const transport_outcome& o, const provider_error& pe,
                               const classify_context& ctx) {
  const std::string text = describe(o, pe);
  if (auto v = pause_for(c, pe.code, text, ctx, pe.message)) return v;
  if (c == 1120 || c == 1305 || c == 1312) return make(action::retry, retry_hint::long_backoff, pe.code, text);
  if (c == 1200 || c == 1230 || c == 1234) return make(action::retry, retry_hint::normal, pe.code, text);
  if (c == 1302 || c == 1303) {
    if (op == operation::submit) return make(action::retry, retry_hint::rate_limited, pe.code, text, false);
    return make(action::retry, retry_hint::long_backoff, pe.code, text, false);
  }
  const bool job_fatal = (c >= 1210 && c <= 1215) || (c >= 1220 && c <= 1222) || c == 1261 || c == 1300 ||
                         c == 1301 || c == 1231;
  if (!job_fatal) return std::nullopt;
  if (op == operation::poll) return poll_rejected(o, pe, ctx);
  if (c == 1231) {
    return make(action::fail_job, retry_hint::normal, pe.code,
                "the provider already has a task for this request_id (an earlier submit reached it); it cannot "
                "be looked up by request_id, check the provider console before `vidq retry` (" +
                    text + ")");
  }
  return make(action::fail_job, retry_hint::normal, pe.code, text);
}

verdict submit_by_status(const transport_outcome& o, const std::optional<provider_error>& pe,
                         const classify_context& ctx) {
  const int s = o.http_status;
  const std::string text = describe(o, pe);
  const std::string code = "http_" + std::to_string(s);
  if (s == 401) return *pause_for(1000, code, text, ctx, {});
  if (s == 402) return *pause_for(1113, code, text, ctx, {});  // GeekAI: insufficient balance
  if (s == 408 || s == 409) return make(action::retry, retry_hint::normal, code, text);
  if (s == 429) return make(action::retry, retry_hint::rate_limited, code, text, false);
  if (s == 413) return make(action::fail_job, retry_hint::normal, "request_too_large", text);
  if (endpoint_missing(o, pe)) {
    // Every job would get the same answer: the account is misconfigured, not the job.
    verdict v = make(action::retry, retry_hint::long_backoff, code,
                     "submit endpoint not found, check base_url (" + text + ")", false);
    v.fault = account_fault::endpoint_missing;
    return v;
  }
  if (s == 404) return make(action::fail_job, retry_hint::normal, code, text);
  if (s == 403) return make(action::fail_job, retry_hint::normal, code, text);
  if (s >= 400 && s < 500) return make(action::fail_job, retry_hint::normal, "invalid_request", text);
  // 504: a gateway gave up waiting for the upstream, which may well have created the task
  // (API.md §12: half of the timeouts did). 502 without the provider's own error body: a
  // proxy lost the upstream mid-request, same doubt. A provider error body, by contrast, is
  // the provider itself saying it did not take the request.
  if (s == 504 || (s == 502 && !pe)) {
    return make(action::ambiguous, retry_hint::normal, "submit_ambiguous",
                "no usable reply to a submit the provider may have received (" + text + ")");
  }
  if (s == 503) return make(action::retry, retry_hint::long_backoff, code, text);
  if (s >= 500) return make(action::retry, retry_hint::normal, code, text);
  return make(action::retry, retry_hint::normal, code, "unexpected reply (" + text + ")");
}

verdict poll_by_status(const transport_outcome& o, const std::optional<provider_error>& pe,
                       const classify_context& ctx) {
  const int s = o.http_status;
  const std::string text = describe(o, pe);
  const std::string code = "http_" + std::to_string(s);
  if (s == 401) return *pause_for(1000, code, text, ctx, {});
  if (s == 402) return *pause_for(1113, code, text, ctx, {});
  if (s == 429 || s == 503) return make(action::retry, retry_hint::long_backoff, code, text, false);
  if (s == 408 || s == 409 || s >= 500 || s < 400) return make(action::retry, retry_hint::normal, code, text, false);
  if (endpoint_missing(o, pe)) {
    verdict v = make(action::retry, retry_hint::long_backoff, code, "poll endpoint not found, check base_url (" + text + ")", false);
    v.fault = account_fault::endpoint_missing;
    return v;
  }
  return poll_rejected(o, pe, ctx);
}

verdict download_by_status(const transport_outcome& o, const classify_context& ctx) {
  const int s = o.http_status;
  const std::string text = "HTTP " + std::to_string(s);
  if (s == 403 || s == 404 || s == 410) {
    if (ctx.urls_refreshed) return make(action::fail_job, retry_hint::normal, "url_expired", "download refused after a URL refresh (" + text + ")");
    return make(action::retry, retry_hint::refresh_urls, "url_expired", "download refused (" + text + "), re-polling for fresh URLs", false);
  }
  if (s == 408 || s == 429 || s >= 500 || s < 400) return make(action::retry, retry_hint::normal, "download_http_" + std::to_string(s), text);
  return make(action::fail_job, retry_hint::normal, "download_http_" + std::to_string(s), text);
}

}  // namespace

std::optional<provider_error> parse_error_body(std::string_view body) noexcept {
  try {
    boost::system::error_code ec;
    const boost::json::value v = boost::json::parse(body, ec);
    if (ec || !v.is_object()) return std::nullopt;
    const boost::json::object* holder = &v.get_object();
    if (const auto* nested = holder->if_contains("error"); nested && nested->is_object()) holder = &nested->get_object();
    provider_error out;
    if (const auto* code = holder->if_contains("code")) {
      if (code->is_string()) out.code = code->get_string();
      else if (code->is_int64()) out.code = std::to_string(code->get_int64());
      else if (code->is_uint64()) out.code = std::to_string(code->get_uint64());
    }
    if (const auto* msg = holder->if_contains("message"); msg && msg->is_string()) out.message = msg->get_string();
    if (out.code.empty() && out.message.empty()) return std::nullopt;
    return out;
  } catch (...) {
    return std::nullopt;  // allocation failure on a hostile body: treat as unreadable
  }
}

verdict classify(operation op, const transport_outcome& o, const classify_context& ctx) {
  using k = transport_outcome::kind;
  const std::string detail = o.detail.empty() ? std::string("transport error") : tidy(o.detail);
  if (o.what == k::not_sent) {
    if (op == operation::download) return make(action::retry, retry_hint::normal, "download_network", detail);
    // Nothing reached the provider, so nothing about the job was learnt: no attempt is
    // spent, and the breaker decides whether the whole account waits.
    verdict v = make(action::retry, retry_hint::normal, "network", "request not sent: " + detail, false);
    v.fault = account_fault::unreachable;
    return v;
  }
  if (o.what == k::maybe_delivered) {
    if (op == operation::submit) {
      return make(action::ambiguous, retry_hint::normal, "submit_ambiguous",
                  "no reply to a submit that may have reached the provider (" + detail +
                      "): a paid task may exist; check the provider console for this request_id");
    }
    if (op == operation::download) return make(action::retry, retry_hint::normal, "download_network", detail);
    return make(action::retry, retry_hint::normal, "network", detail, false);
  }
  if (op == operation::download) return download_by_status(o, ctx);

  const auto pe = parse_error_body(o.body);
  verdict v;
  std::optional<verdict> coded;
  if (pe && !pe->code.empty()) {
    if (auto c = numeric_code(pe->code)) coded = by_code(op, *c, o, *pe, ctx);
  }
  if (coded) v = std::move(*coded);
  else v = op == operation::submit ? submit_by_status(o, pe, ctx) : poll_by_status(o, pe, ctx);
  // Polls are bounded by the poll deadline, never by the submit attempts.
  if (op == operation::poll) v.consumes_attempt = false;
  if (v.what == action::retry && o.retry_after) {
    if (auto at = parse_retry_after(*o.retry_after, ctx.now)) v.not_before = at;
  }
  if (v.fault == account_fault::none && o.http_status >= 500) v.fault = account_fault::server_error;
  return v;
}

verdict classify_unreadable_success(operation op, std::string_view why) {
  if (op == operation::submit) {
    return make(action::ambiguous, retry_hint::normal, "submit_ambiguous",
                "the provider accepted the submit but its reply was unreadable (" + tidy(why) +
                    "): a paid task probably exists; check the provider console for this request_id");
  }
  return make(action::retry, retry_hint::normal, "malformed_reply", "unreadable reply: " + tidy(why),
              op != operation::poll);
}

verdict resolve_ambiguous(const verdict& v, ops::ambiguous_submit_policy policy) {
  if (v.what != action::ambiguous) return v;
  verdict out = v;
  out.what = policy == ops::ambiguous_submit_policy::resubmit ? action::retry : action::fail_job;
  out.hint = retry_hint::normal;
  out.error_code = "submit_ambiguous";
  return out;
}

verdict apply_attempt_limit(const verdict& v, int attempts_used, const ops::retry_config& cfg) {
  if (v.what != action::retry || !v.consumes_attempt || attempts_used < cfg.max_attempts) return v;
  verdict out = v;
  out.what = action::fail_job;
  out.message = "gave up after " + std::to_string(attempts_used) + " attempts: " + v.message;
  out.not_before.reset();
  return out;
}

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool digits_at(std::string_view s, std::size_t pos, std::size_t n, int& out) noexcept {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

}  // namespace

std::optional<millis> parse_resume_time(std::string_view msg) noexcept {
  // "YYYY-MM-DD HH:MM[:SS]" anywhere in the text: the documented ${next_flush_time} shape.
  for (std::size_t i = 0; i + 16 <= msg.size(); ++i) {
    int y, mo, d, h, mi, sec = 0;
    if (!digits_at(msg, i, 4, y) || msg[i + 4] != '-' || !digits_at(msg, i + 5, 2, mo) || msg[i + 7] != '-' ||
        !digits_at(msg, i + 8, 2, d) || (msg[i + 10] != ' ' && msg[i + 10] != 'T') || !digits_at(msg, i + 11, 2, h) ||
        msg[i + 13] != ':' || !digits_at(msg, i + 14, 2, mi)) {
      continue;
    }
    if (i + 19 <= msg.size() && msg[i + 16] == ':') digits_at(msg, i + 17, 2, sec);
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) continue;
    const std::int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
    return days * day_ms + (h * 3600LL + mi * 60LL + sec) * 1000 - cst_offset;
  }
  // Otherwise an epoch: exactly 13 digits (ms) or 10 digits (s), not part of a longer run.
  for (std::size_t i = 0; i < msg.size();) {
    if (!std::isdigit(static_cast<unsigned char>(msg[i]))) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < msg.size() && std::isdigit(static_cast<unsigned char>(msg[j]))) ++j;
    const std::size_t n = j - i;
    if (n == 10 || n == 13) {
      millis v = 0;
      std::from_chars(msg.data() + i, msg.data() + j, v);
      return n == 10 ? v * 1000 : v;
    }
    i = j;
  }
  return std::nullopt;
}

millis next_cst_midnight(millis now) noexcept {
  const millis local = now + cst_offset;
  const millis day = local >= 0 ? local / day_ms : (local - day_ms + 1) / day_ms;
  return (day + 1) * day_ms - cst_offset;
}

std::optional<millis> parse_retry_after(std::string_view value, millis now) noexcept {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  std::int64_t seconds = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (value.empty() || ec != std::errc{} || end != value.data() + value.size() || seconds < 0) return std::nullopt;
  constexpr std::int64_t max_seconds = 24 * 3600;  // a day at most: a bigger value is a bug
  return now + std::min(seconds, max_seconds) * 1000;
}

std::string_view to_string(action a) noexcept {
  switch (a) {
    case action::retry: return "retry";
    case action::fail_job: return "fail_job";
    case action::pause_account: return "pause_account";
    case action::ambiguous: return "ambiguous";
  }
  return "retry";
}

std::string_view to_string(account_fault f) noexcept {
  switch (f) {
    case account_fault::none: return "none";
    case account_fault::unreachable: return "unreachable";
    case account_fault::endpoint_missing: return "endpoint_missing";
    case account_fault::server_error: return "server_error";
  }
  return "none";
}

std::string_view to_string(retry_hint h) noexcept {
  switch (h) {
    case retry_hint::normal: return "normal";
    case retry_hint::long_backoff: return "long_backoff";
    case retry_hint::rate_limited: return "rate_limited";
    case retry_hint::refresh_urls: return "refresh_urls";
    case retry_hint::local_disk: return "local_disk";
  }
  return "normal";
}

}  // namespace vidq::provider
