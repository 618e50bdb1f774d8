#include "vidq/provider/error_class.hpp"

#include "vidq/ops/log.hpp"

#include <gtest/gtest.h>

#include <cstdio>

namespace vidq::provider {
namespace {

using kind = transport_outcome::kind;
constexpr millis t0 = 1'700'000'000'000;  // 2023-11-14T22:13:20Z

transport_outcome reply(int status, std::string body, std::optional<std::string> retry_after = std::nullopt) {
  return {kind::response, status, std::move(body), std::move(retry_after), ""};
}
transport_outcome nested(int status, std::string_view code, std::string_view message = "m") {
  return reply(status, R"({"error":{"code":")" + std::string(code) + R"(","message":")" + std::string(message) + "\"}}");
}
classify_context ctx(millis now = t0) { return {ops::provider_kind::bigmodel, now, std::nullopt, 5 * 60'000, false}; }

struct row {
  const char* code;  // business code, "" for none
  int http;
  action what;
  retry_hint hint;
  const char* stored;  // error_code expected
  bool consumes;
};

// API.md §5: every row of the business-code table, on submit (HTTP status from ERR-NEW; "?"
// rows use the status the faq suggests). The class is what docs/ENGINE_DECISIONS.md §2 says.
const row submit_rows[] = {
    {"", 500, action::retry, retry_hint::normal, "http_500", true},
    {"1000", 401, action::pause_account, retry_hint::long_backoff, "1000", false},
    {"1001", 401, action::pause_account, retry_hint::long_backoff, "1001", false},
    {"1002", 401, action::pause_account, retry_hint::long_backoff, "1002", false},
    {"1003", 401, action::pause_account, retry_hint::long_backoff, "1003", false},
    {"1004", 401, action::pause_account, retry_hint::long_backoff, "1004", false},
    {"1005", 401, action::pause_account, retry_hint::long_backoff, "1005", false},
    {"1110", 429, action::pause_account, retry_hint::long_backoff, "1110", false},
    {"1111", 429, action::pause_account, retry_hint::long_backoff, "1111", false},
    {"1112", 429, action::pause_account, retry_hint::long_backoff, "1112", false},
    {"1121", 429, action::pause_account, retry_hint::long_backoff, "1121", false},
    {"1113", 429, action::pause_account, retry_hint::long_backoff, "1113", false},
    {"1120", 429, action::retry, retry_hint::long_backoff, "1120", true},
    {"1200", 500, action::retry, retry_hint::normal, "1200", true},
    {"1210", 400, action::fail_job, retry_hint::normal, "1210", true},
    {"1211", 400, action::fail_job, retry_hint::normal, "1211", true},
    {"1212", 400, action::fail_job, retry_hint::normal, "1212", true},
    {"1213", 400, action::fail_job, retry_hint::normal, "1213", true},
    {"1214", 400, action::fail_job, retry_hint::normal, "1214", true},
    {"1215", 400, action::fail_job, retry_hint::normal, "1215", true},
    {"1220", 403, action::fail_job, retry_hint::normal, "1220", true},
    {"1221", 400, action::fail_job, retry_hint::normal, "1221", true},
    {"1222", 400, action::fail_job, retry_hint::normal, "1222", true},
    {"1230", 500, action::retry, retry_hint::normal, "1230", true},
    {"1231", 400, action::fail_job, retry_hint::normal, "1231", true},
    {"1234", 500, action::retry, retry_hint::normal, "1234", true},
    {"1261", 400, action::fail_job, retry_hint::normal, "1261", true},
    {"1300", 400, action::fail_job, retry_hint::normal, "1300", true},
    {"1301", 400, action::fail_job, retry_hint::normal, "1301", true},
    {"1302", 429, action::retry, retry_hint::rate_limited, "1302", false},
    {"1303", 429, action::retry, retry_hint::rate_limited, "1303", false},
    {"1304", 429, action::pause_account, retry_hint::long_backoff, "1304", false},
    {"1305", 429, action::retry, retry_hint::long_backoff, "1305", true},
    {"1308", 429, action::pause_account, retry_hint::long_backoff, "1308", false},
    {"1309", 429, action::pause_account, retry_hint::long_backoff, "1309", false},
    {"1310", 429, action::pause_account, retry_hint::long_backoff, "1310", false},
    {"1311", 429, action::pause_account, retry_hint::long_backoff, "1311", false},
    {"1312", 429, action::retry, retry_hint::long_backoff, "1312", true},
    {"1313", 429, action::pause_account, retry_hint::long_backoff, "1313", false},
    {"1317", 429, action::pause_account, retry_hint::long_backoff, "1317", false},
    {"1321", 429, action::pause_account, retry_hint::long_backoff, "1321", false},
};

TEST(ErrorClass, EveryBusinessCodeOfTheTableOnSubmit) {
  for (const row& r : submit_rows) {
    const auto out = std::string(r.code).empty() ? reply(r.http, "<html>oops</html>") : nested(r.http, r.code);
    const verdict v = classify(operation::submit, out, ctx());
    SCOPED_TRACE(std::string("code ") + r.code + " http " + std::to_string(r.http));
    EXPECT_EQ(to_string(v.what), to_string(r.what));
    EXPECT_EQ(to_string(v.hint), to_string(r.hint));
    EXPECT_EQ(v.error_code, r.stored);
    EXPECT_EQ(v.consumes_attempt, r.consumes);
    EXPECT_FALSE(v.message.empty());
  }
}

TEST(ErrorClass, BusinessCodeBeatsHttpStatus) {
  // 1113 arrives as HTTP 429 but is arrears, not a rate limit (API.md §5).
  EXPECT_EQ(classify(operation::submit, nested(429, "1113"), ctx()).what, action::pause_account);
  // The same code in the flat EN shape, as an integer.
  EXPECT_EQ(classify(operation::submit, reply(429, R"({"code":1113,"message":"arrears"})"), ctx()).what,
            action::pause_account);
  EXPECT_EQ(classify(operation::submit, reply(429, R"({"code":1302,"message":"busy"})"), ctx()).hint,
            retry_hint::rate_limited);
  // An unknown code falls back to the HTTP status.
  const verdict v = classify(operation::submit, nested(400, "9999"), ctx());
  EXPECT_EQ(v.what, action::fail_job);
  EXPECT_EQ(v.error_code, "invalid_request");
}

TEST(ErrorClass, HttpStatusWithoutCode) {
  auto submit = [](int status, std::string body = "") { return classify(operation::submit, reply(status, std::move(body)), ctx()); };
  EXPECT_EQ(submit(401).what, action::pause_account);
  EXPECT_EQ(submit(402).what, action::pause_account);  // GeekAI: insufficient balance
  EXPECT_EQ(submit(403).what, action::fail_job);
  // A bare 404 is a wrong base_url, not a bad job: the account's breaker handles it.
  EXPECT_EQ(submit(404).what, action::retry);
  EXPECT_EQ(submit(404).fault, account_fault::endpoint_missing);
  EXPECT_FALSE(submit(404).consumes_attempt);
  EXPECT_EQ(submit(404, R"({"error":{"code":"404","message":"no such endpoint"}})").fault,
            account_fault::endpoint_missing);
  EXPECT_EQ(submit(413).error_code, "request_too_large");
  EXPECT_EQ(submit(400).error_code, "invalid_request");
  EXPECT_EQ(submit(408).what, action::retry);
  EXPECT_EQ(submit(429).hint, retry_hint::rate_limited);
  EXPECT_FALSE(submit(429).consumes_attempt);
  EXPECT_EQ(submit(503).hint, retry_hint::long_backoff);
  EXPECT_EQ(submit(500, "garbage").what, action::retry);
}

TEST(ErrorClass, SubmitAmbiguity) {
  // Transport: surely not sent → retry; may have been delivered → ambiguous.
  EXPECT_EQ(classify(operation::submit, {kind::not_sent, 0, "", {}, "connect refused"}, ctx()).what, action::retry);
  const verdict a = classify(operation::submit, {kind::maybe_delivered, 0, "", {}, "read timeout"}, ctx());
  EXPECT_EQ(a.what, action::ambiguous);
  EXPECT_EQ(a.error_code, "submit_ambiguous");
  EXPECT_NE(a.message.find("read timeout"), std::string::npos);
  // 504 after delivery: the upstream may have created the task (API.md §12).
  EXPECT_EQ(classify(operation::submit, reply(504, ""), ctx()).what, action::ambiguous);
  EXPECT_EQ(classify(operation::submit, nested(504, "1234"), ctx()).what, action::retry);  // code first
  EXPECT_EQ(classify(operation::submit, reply(504, "<html>gateway</html>"), ctx()).what, action::ambiguous);
  // 502 from a proxy without the provider's body: ambiguous; with the provider's body: a rejection.
  EXPECT_EQ(classify(operation::submit, reply(502, "<html>bad gateway</html>"), ctx()).what, action::ambiguous);
  EXPECT_EQ(classify(operation::submit, reply(502, R"({"error":{"message":"upstream"}})"), ctx()).what, action::retry);
  // 500/503 with a JSON error body: the provider said no.
  EXPECT_EQ(classify(operation::submit, nested(500, "1234"), ctx()).what, action::retry);
  EXPECT_EQ(classify(operation::submit, reply(503, R"({"error":{"code":"503","message":"busy"}})"), ctx()).what,
            action::retry);
  EXPECT_EQ(classify_unreadable_success(operation::submit, "cut").what, action::ambiguous);
  EXPECT_EQ(classify_unreadable_success(operation::poll, "cut").what, action::retry);
}

TEST(ErrorClass, AmbiguousPolicyAndAttemptLimit) {
  const verdict a = classify(operation::submit, {kind::maybe_delivered, 0, "", {}, "reset"}, ctx());
  const verdict failed = resolve_ambiguous(a, ops::ambiguous_submit_policy::fail);
  EXPECT_EQ(failed.what, action::fail_job);
  EXPECT_EQ(failed.error_code, "submit_ambiguous");
  EXPECT_EQ(resolve_ambiguous(a, ops::ambiguous_submit_policy::resubmit).what, action::retry);

  ops::retry_config cfg;
  cfg.max_attempts = 3;
  const verdict busy = classify(operation::submit, nested(500, "1234", "network error"), ctx());
  EXPECT_EQ(apply_attempt_limit(busy, 2, cfg).what, action::retry);
  const verdict gave_up = apply_attempt_limit(busy, 3, cfg);
  EXPECT_EQ(gave_up.what, action::fail_job);
  EXPECT_EQ(gave_up.error_code, "1234");  // the last provider code is what the row keeps
  EXPECT_NE(gave_up.message.find("3 attempts"), std::string::npos);
  // A rate limit never runs out of attempts.
  EXPECT_EQ(apply_attempt_limit(classify(operation::submit, nested(429, "1302"), ctx()), 99, cfg).what,
            action::retry);
}

TEST(ErrorClass, QuotaPausesCarryAResumeTime) {
  // 1308 with next_flush_time in the message: "2025-01-02 08:00:00" CST = 00:00 UTC.
  const verdict v = classify(operation::submit,
                             nested(429, "1308", "usage limit reached, resets at 2025-01-02 08:00:00"), ctx());
  ASSERT_TRUE(v.not_before);
  EXPECT_EQ(*v.not_before, 1'735'776'000'000);
  // Without a time: 1308 probes again in an hour, 1304 waits for midnight in China.
  EXPECT_EQ(*classify(operation::submit, nested(429, "1310", "cap"), ctx()).not_before, t0 + 3'600'000);
  EXPECT_EQ(*classify(operation::submit, nested(429, "1304", "quota"), ctx()).not_before, next_cst_midnight(t0));
  // Auth and arrears wait for an operator.
  EXPECT_FALSE(classify(operation::submit, nested(401, "1000"), ctx()).not_before);
  EXPECT_FALSE(classify(operation::submit, nested(429, "1113"), ctx()).not_before);
}

TEST(ErrorClass, TimeHelpers) {
  // 2023-11-14T22:13:20Z is 2023-11-15 06:13:20 CST; the next CST midnight is 16:00Z on the 15th.
  EXPECT_EQ(next_cst_midnight(t0), 1'700'064'000'000);
  EXPECT_EQ(parse_resume_time("next_flush_time=1735776000"), 1'735'776'000'000);
  EXPECT_EQ(parse_resume_time("at 1735776000123 ms"), 1'735'776'000'123);
  EXPECT_FALSE(parse_resume_time("code 1308, limit 12345"));
  EXPECT_EQ(parse_resume_time("reset 2025-01-02T08:00"), 1'735'776'000'000);
  EXPECT_EQ(parse_retry_after("30", t0), t0 + 30'000);
  EXPECT_FALSE(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", t0));
  EXPECT_FALSE(parse_retry_after("-1", t0));
  const verdict v = classify(operation::submit, reply(503, "", "12"), ctx());
  EXPECT_EQ(v.not_before, t0 + 12'000);
}

TEST(ErrorClass, PollNotFoundHasAGracePeriod) {
  classify_context c = ctx();
  c.submitted_at = t0 - 10'000;
  // The simulator's and the provider's unknown-id reply (API.md §11.10): HTTP 404, code 1214.
  const verdict early = classify(operation::poll, nested(404, "1214", "task not found"), c);
  EXPECT_EQ(early.what, action::retry);
  EXPECT_FALSE(early.consumes_attempt);
  c.now = t0 + 10 * 60'000;
  const verdict late = classify(operation::poll, nested(404, "1214", "task not found"), c);
  EXPECT_EQ(late.what, action::fail_job);
  EXPECT_EQ(late.error_code, "task_not_found");
  // A bare 404 (no provider body): the poll path itself is missing, whatever the task.
  const verdict bare = classify(operation::poll, reply(404, ""), c);
  EXPECT_EQ(bare.what, action::retry);
  EXPECT_EQ(bare.fault, account_fault::endpoint_missing);
  EXPECT_EQ(late.fault, account_fault::none);
}

TEST(ErrorClass, AccountFaultsSpendNoAttempt) {
  // Nothing reached the provider: no attempt, and the account (not the job) is at fault.
  for (auto op : {operation::submit, operation::poll}) {
    const verdict v = classify(op, {kind::not_sent, 0, "", {}, "connect refused"}, ctx());
    EXPECT_EQ(v.what, action::retry);
    EXPECT_FALSE(v.consumes_attempt);
    EXPECT_EQ(v.fault, account_fault::unreachable);
  }
  // A download's host is not the account's endpoint.
  EXPECT_EQ(classify(operation::download, {kind::not_sent, 0, "", {}, "connect refused"}, ctx()).fault,
            account_fault::none);
  // Every 5xx is marked, coded or not; the breaker counts a run of them.
  EXPECT_EQ(classify(operation::submit, reply(500, "garbage"), ctx()).fault, account_fault::server_error);
  EXPECT_EQ(classify(operation::submit, nested(500, "1234"), ctx()).fault, account_fault::server_error);
  EXPECT_EQ(classify(operation::poll, reply(502, ""), ctx()).fault, account_fault::server_error);
  // The provider talking about the job is not an account fault.
  EXPECT_EQ(classify(operation::submit, nested(400, "1301"), ctx()).fault, account_fault::none);
  EXPECT_EQ(classify(operation::submit, nested(404, "1211", "model not found"), ctx()).fault, account_fault::none);
  EXPECT_EQ(classify(operation::submit, nested(404, "1211", "model not found"), ctx()).what, action::fail_job);
}

TEST(ErrorClass, PollErrorsNeverFailAJobEarly) {
  classify_context c = ctx();
  c.submitted_at = t0 - 1000;
  for (int status : {500, 502, 503, 504, 408, 429}) {
    const verdict v = classify(operation::poll, reply(status, "x"), c);
    EXPECT_EQ(v.what, action::retry) << status;
    EXPECT_FALSE(v.consumes_attempt) << status;
  }
  EXPECT_EQ(classify(operation::poll, {kind::maybe_delivered, 0, "", {}, "timeout"}, c).what, action::retry);
  EXPECT_EQ(classify(operation::poll, nested(429, "1302"), c).hint, retry_hint::long_backoff);
  EXPECT_EQ(classify(operation::poll, nested(401, "1001"), c).what, action::pause_account);
  EXPECT_EQ(classify(operation::poll, nested(429, "1113"), c).what, action::pause_account);
  for (const char* code : {"1200", "1234", "1305", "1312", "1120"}) {
    const verdict v = classify(operation::poll, nested(500, code), c);
    EXPECT_EQ(v.what, action::retry) << code;
    EXPECT_FALSE(v.consumes_attempt) << code;
  }
}

TEST(ErrorClass, Downloads) {
  classify_context c = ctx();
  const verdict first = classify(operation::download, reply(403, "AccessDenied"), c);
  EXPECT_EQ(first.what, action::retry);
  EXPECT_EQ(first.hint, retry_hint::refresh_urls);
  c.urls_refreshed = true;
  const verdict second = classify(operation::download, reply(404, ""), c);
  EXPECT_EQ(second.what, action::fail_job);
  EXPECT_EQ(second.error_code, "url_expired");
  EXPECT_EQ(classify(operation::download, reply(503, ""), c).what, action::retry);
  EXPECT_EQ(classify(operation::download, {kind::maybe_delivered, 0, "", {}, "truncated"}, c).what, action::retry);
  EXPECT_EQ(classify(operation::download, reply(400, ""), c).what, action::fail_job);
}

TEST(ErrorClass, ErrorBodiesOfBothShapesAndGarbage) {
  auto nested_body = parse_error_body(R"({"error":{"code":"1302","message":"slow down"}})");
  ASSERT_TRUE(nested_body);
  EXPECT_EQ(nested_body->code, "1302");
  EXPECT_EQ(nested_body->message, "slow down");
  auto flat = parse_error_body(R"({"code":1261,"message":"prompt too long"})");
  ASSERT_TRUE(flat);
  EXPECT_EQ(flat->code, "1261");
  auto geekai = parse_error_body(R"({"error":{"code":"1200","message":"failed","details":""}})");
  ASSERT_TRUE(geekai);
  EXPECT_EQ(geekai->code, "1200");
  for (std::string_view junk : {"", "null", "[]", "{", "<html>502</html>", R"({"error":"text"})", R"({"code":{}})",
                                "\xff\xfe", R"({"error":{"code":null}})"}) {
    EXPECT_FALSE(parse_error_body(junk)) << junk;
    // And the classifier still answers.
    EXPECT_EQ(classify(operation::poll, reply(500, std::string(junk)), ctx()).what, action::retry);
  }
}

TEST(ErrorClass, MessagesAreShortSingleLines) {
  const std::string long_message(5000, 'x');
  const verdict v = classify(operation::submit, nested(400, "1214", long_message + "\\nsecond line"), ctx());
  EXPECT_LT(v.message.size(), 400u);
  EXPECT_EQ(v.message.find('\n'), std::string::npos);
}

// Issue 12 #3: a key echoed JSON-escaped past character 262 is decoded, then cut at 300; the
// cut must come after the redaction or half the key reaches account_pauses and the log.
TEST(ErrorClass, AKeyEchoedEscapedLateInTheMessageIsRedactedBeforeTheCut) {
  const std::string key = "sk-escaped0123456789abcdefghijklmnopqrstuvwxyzABCDEF";
  log::register_secret(key);
  std::string escaped;
  for (char c : key) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
    escaped += buf;
  }
  const std::string body =
      R"({"error":{"code":"1000","message":")" + std::string(262, 'x') + escaped + R"( is invalid"}})";
  ASSERT_EQ(body.find(key), std::string::npos) << "the raw body does not contain the key, so a raw scrub misses it";
  const auto v = classify(operation::submit, reply(401, body), ctx());
  EXPECT_EQ(v.what, action::pause_account);
  for (std::size_t i = 0; i + 8 <= key.size(); ++i) {
    ASSERT_EQ(v.message.find(key.substr(i, 8)), std::string::npos) << "a piece of the key at " << i << ": " << v.message;
  }
  EXPECT_NE(v.message.find("[REDACTED]"), std::string::npos) << v.message;
}

}  // namespace
}  // namespace vidq::provider
