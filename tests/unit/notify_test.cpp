// The pure pieces of completion notices: signature, message, payload completion, retry
// policy, event names, [[notify]] config parsing and URL rules.
#include "support/temp_dir.hpp"
#include "vidq/notify/message.hpp"
#include "vidq/notify/retry_policy.hpp"
#include "vidq/notify/signature.hpp"
#include "vidq/ops/config.hpp"

#include <boost/json/parse.hpp>

#include <gtest/gtest.h>

namespace vidq::notify {
namespace {

TEST(NotifySignature, MatchesRfc4231TestCase2) {
  EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(NotifySignature, SignsTimestampDotBody) {
  const std::string body = R"({"event":"batch_finished"})";
  EXPECT_EQ(signature_header("s3cret-key", 1700000000, body),
            "sha256=" + hmac_sha256_hex("s3cret-key", "1700000000." + body));
  EXPECT_NE(signature_header("s3cret-key", 1700000001, body), signature_header("s3cret-key", 1700000000, body));
  EXPECT_NE(signature_header("other-key!", 1700000000, body), signature_header("s3cret-key", 1700000000, body));
}

notice_row job_notice() {
  notice_row n;
  n.id = 42;
  n.event = notice_event::job_succeeded;
  n.at = 1'764'576'000'000;  // 2025-12-01T08:00:00Z
  n.job_id = 7;
  n.batch = "春季 促销";
  n.payload =
      R"({"job_id":7,"key":"SKU-1","batch":"春季 促销","state":"succeeded","video_path":"/v/SKU-1.mp4","error_code":null})";
  return n;
}

std::string env_of(const message& m, std::string_view name) {
  for (const auto& [k, v] : m.env) {
    if (k == name) return v;
  }
  return "<absent>";
}

TEST(NotifyMessage, BodyHasTheEnvelopeAndTheData) {
  const auto m = build_message(job_notice(), "shop");
  EXPECT_EQ(m.idempotency_key, "vidq-42-shop");
  EXPECT_EQ(m.notice_id, 42);
  EXPECT_EQ(m.event, notice_event::job_succeeded);
  const auto body = boost::json::parse(m.body).as_object();
  EXPECT_EQ(body.at("notice_id").as_int64(), 42);
  EXPECT_EQ(body.at("event").as_string(), "job_succeeded");
  EXPECT_EQ(body.at("at").as_string(), "2025-12-01T08:00:00Z");
  EXPECT_EQ(body.at("idempotency_key").as_string(), "vidq-42-shop");
  EXPECT_EQ(body.at("data").at("key").as_string(), "SKU-1");
  EXPECT_EQ(body.at("data").at("batch").as_string(), "春季 促销");
}

TEST(NotifyMessage, SameNoticeSameBytesAndKeyPerTarget) {
  const auto a = build_message(job_notice(), "shop");
  const auto b = build_message(job_notice(), "shop");
  const auto other = build_message(job_notice(), "slack");
  EXPECT_EQ(a.body, b.body);
  EXPECT_EQ(a.idempotency_key, b.idempotency_key);
  EXPECT_NE(a.idempotency_key, other.idempotency_key);
}

TEST(NotifyMessage, EnvironmentCarriesTheEventAndJobFields) {
  const auto m = build_message(job_notice(), "hook");
  EXPECT_EQ(env_of(m, "VIDQ_EVENT"), "job_succeeded");
  EXPECT_EQ(env_of(m, "VIDQ_NOTICE_ID"), "42");
  EXPECT_EQ(env_of(m, "VIDQ_IDEMPOTENCY_KEY"), "vidq-42-hook");
  EXPECT_EQ(env_of(m, "VIDQ_JOB_ID"), "7");
  EXPECT_EQ(env_of(m, "VIDQ_JOB_KEY"), "SKU-1");
  EXPECT_EQ(env_of(m, "VIDQ_BATCH"), "春季 促销");
  EXPECT_EQ(env_of(m, "VIDQ_VIDEO_PATH"), "/v/SKU-1.mp4");
  EXPECT_EQ(env_of(m, "VIDQ_ERROR_CODE"), "<absent>");  // null in the data: no variable
}

TEST(NotifyMessage, AnUnreadablePayloadIsSentAsAnEmptyObject) {
  auto n = job_notice();
  n.payload = "not json";
  const auto body = boost::json::parse(build_message(n, "t").body).as_object();
  EXPECT_TRUE(body.at("data").as_object().empty());
}

TEST(NotifyPayload, BatchFinishedGetsSpendManifestAndEveryCount) {
  const std::string done = complete_payload(notice_event::batch_finished,
                                            R"({"batch":"b","total":3,"counts":{"succeeded":2,"cancelled":1}})", 2500,
                                            std::string("/videos/b/manifest.csv"));
  const auto data = boost::json::parse(done).as_object();
  EXPECT_EQ(data.at("counts").at("succeeded").as_int64(), 2);
  EXPECT_EQ(data.at("counts").at("failed").as_int64(), 0);
  EXPECT_EQ(data.at("counts").at("cancelled").as_int64(), 1);
  EXPECT_DOUBLE_EQ(data.at("spent_cny").as_double(), 2.5);
  EXPECT_EQ(data.at("manifest").as_string(), "/videos/b/manifest.csv");
  EXPECT_EQ(data.at("total").as_int64(), 3);

  const auto without = boost::json::parse(complete_payload(notice_event::batch_finished, "{}", 0, std::nullopt));
  EXPECT_TRUE(without.at("manifest").is_null());
}

TEST(NotifyPayload, OtherEventsAreUnchanged) {
  EXPECT_EQ(complete_payload(notice_event::job_failed, R"({"a":1})", 99, std::string("x")), R"({"a":1})");
}

TEST(NotifyRetry, GrowsFromOneSecondToTheCap) {
  const millis now = 1'000'000;
  const millis day = 86'400'000;
  EXPECT_EQ(next_attempt_at(1, now, now, day, 0.0), now + retry_base);
  EXPECT_EQ(next_attempt_at(1, now, now, day, 1.0), now + 2 * retry_base);
  EXPECT_EQ(next_attempt_at(3, now, now, day, 1.0), now + 8 * retry_base);
  EXPECT_EQ(next_attempt_at(30, now, now, day, 1.0), now + retry_cap);
  millis previous = 0;
  for (int a = 1; a < 20; ++a) {
    const millis at = *next_attempt_at(a, now, now, day, 1.0);
    EXPECT_GE(at, previous);
    previous = at;
  }
}

TEST(NotifyRetry, GivesUpOnceTheNextAttemptWouldBePastRetryFor) {
  const millis created = 0;
  const millis hour = 3'600'000;
  EXPECT_TRUE(next_attempt_at(5, hour - retry_cap - 1, created, hour, 1.0).has_value());
  EXPECT_FALSE(next_attempt_at(5, hour, created, hour, 0.0).has_value());
}

TEST(NotifyEvents, NamesRoundTrip) {
  for (const auto e : all_notice_events) EXPECT_EQ(parse_notice_event(to_string(e)), e);
  EXPECT_FALSE(parse_notice_event("job_done"));
}

TEST(NotifyUrl, HttpsAnywhereHttpOnlyToLoopback) {
  EXPECT_EQ(ops::notify_url_problem("https://hooks.example.com/vidq"), "");
  EXPECT_EQ(ops::notify_url_problem("http://127.0.0.1:8080/hook"), "");
  EXPECT_EQ(ops::notify_url_problem("http://127.9.9.9/hook"), "");
  EXPECT_EQ(ops::notify_url_problem("http://localhost:9/x"), "");
  EXPECT_EQ(ops::notify_url_problem("http://[::1]:9/x"), "");
  EXPECT_NE(ops::notify_url_problem("http://hooks.example.com/vidq"), "");
  EXPECT_NE(ops::notify_url_problem("http://127.0.0.1.evil.com/x"), "");
  EXPECT_NE(ops::notify_url_problem("http://10.0.0.1/x"), "");
  EXPECT_NE(ops::notify_url_problem("http://user:pw@127.0.0.1/x"), "");
  EXPECT_NE(ops::notify_url_problem("ftp://127.0.0.1/x"), "");
  EXPECT_NE(ops::notify_url_problem("https://"), "");
}

const std::string account = "[[accounts]]\nname = \"a\"\napi_key_env = \"K\"\n";

std::string load_error(const std::string& toml) {
  test::temp_dir dir;
  const auto path = dir.file("vidq.toml");
  test::write_file(path, toml);
  try {
    ops::load_config(path);
  } catch (const ops::config_error& e) {
    const std::string message = e.what();
    return message.substr(message.find("vidq.toml"));
  }
  return "";
}

TEST(NotifyConfig, ParsesWebhookAndCommandTargets) {
  test::temp_dir dir;
  const auto path = dir.file("vidq.toml");
  test::write_file(
      path, account +
                "[[notify]]\nname = \"shop\"\nurl = \"https://hooks.example.com/v\"\n"
                "events = [\"batch_finished\", \"job_failed\", \"job_failed\"]\n"
                "secret_file = \"hook.secret\"\ntimeout_seconds = 3\nretry_for_hours = 2\n"
                "[[notify]]\ncommand = [\"/usr/bin/logger\", \"-t\", \"vidq\"]\nevents = [\"account_paused\"]\n");
  const auto c = ops::load_config(path);
  ASSERT_EQ(c.notify.size(), 2u);
  EXPECT_EQ(c.notify[0].name, "shop");
  EXPECT_EQ(c.notify[0].events.size(), 2u);  // the repeat is dropped
  EXPECT_TRUE(c.notify[0].wants(notice_event::batch_finished));
  EXPECT_FALSE(c.notify[0].wants(notice_event::job_succeeded));
  EXPECT_EQ(c.notify[0].secret_file, dir.file("hook.secret"));  // relative to the config
  EXPECT_EQ(c.notify[0].timeout, 3000);
  EXPECT_EQ(c.notify[0].retry_for, 2 * 3'600'000);
  EXPECT_EQ(c.notify[1].name, "notify-2");
  EXPECT_EQ(c.notify[1].command.size(), 3u);
  EXPECT_EQ(c.notify[1].timeout, 10'000);
}

TEST(NotifyConfig, RefusesWhatCannotWork) {
  const std::string hook = "[[notify]]\nurl = \"https://h.example/x\"\n";
  EXPECT_NE(load_error(account + "[[notify]]\nurl = \"http://h.example/x\"\nevents = [\"job_failed\"]\n")
                .find("notify[0].url: http:// only to a loopback address"),
            std::string::npos);
  EXPECT_NE(load_error(account + hook).find("notify[0].events: must be a non-empty array"), std::string::npos);
  EXPECT_NE(load_error(account + hook + "events = [\"job_done\"]\n").find("'job_done' is not one of"),
            std::string::npos);
  EXPECT_NE(load_error(account + "[[notify]]\nevents = [\"job_failed\"]\n").find("exactly one of url and command"),
            std::string::npos);
  EXPECT_NE(load_error(account + hook + "command = [\"x\"]\nevents = [\"job_failed\"]\n").find("exactly one"),
            std::string::npos);
  EXPECT_NE(load_error(account + hook + "events = [\"job_failed\"]\nsecret = \"abc\"\n")
                .find("secrets are never read from the config file"),
            std::string::npos);
  EXPECT_NE(load_error(account + "[[notify]]\ncommand = [\"x\"]\nevents = [\"job_failed\"]\nsecret_env = \"S\"\n")
                .find("notify[0].secret_env"),
            std::string::npos);
  EXPECT_NE(load_error(account + hook + "events = [\"job_failed\"]\n" + hook +
                       "events = [\"job_failed\"]\nname = \"notify-1\"\n")
                .find("duplicate name 'notify-1'"),
            std::string::npos);
  EXPECT_NE(
      load_error(account + hook + "events = [\"job_failed\"]\ntimeout = 3\n").find("notify[0].timeout: unknown key"),
      std::string::npos);
}

}  // namespace
}  // namespace vidq::notify
