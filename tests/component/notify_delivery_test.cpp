// The notify transports against real peers: a webhook POST to the loopback test server
// (plain http and TLS) whose signature a receiver can verify, and command targets run as
// child processes (stdin, environment, exit status, timeout).
#include "vidq/notify/transport.hpp"

#include "support/net_test_server.hpp"
#include "support/temp_dir.hpp"
#include "vidq/notify/signature.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace vidq::notify {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using net_test::received_request;
using net_test::run_test;
using net_test::scripted_reply;
using net_test::test_server;

message sample_message() {
  notice_row n;
  n.id = 9;
  n.event = notice_event::batch_finished;
  n.at = 1'764'576'000'000;
  n.batch = "b";
  n.payload = R"({"batch":"b","counts":{"succeeded":2}})";
  return build_message(n, "hook");
}

target webhook(const std::string& url, std::string secret = {}) {
  target t;
  t.config.name = "hook";
  t.config.url = url;
  t.config.timeout = 2'000;
  t.secret = ops::secret(std::move(secret));
  return t;
}

attempt_result post(asio::io_context& ioc, net::https_client& client, const target& t, const message& m) {
  attempt_result r;
  ioc.restart();  // run_test stops the context when its body ends
  EXPECT_TRUE(run_test(ioc, [&]() -> awaitable<void> { r = co_await post_webhook(client, t, m, 1'700'000'000); }));
  return r;
}

TEST(NotifyWebhook, SignedPostThatTheReceiverCanVerify) {
  asio::io_context ioc;
  test_server srv(ioc, {.tls = false});
  auto options = net_test::test_client_options();
  options.allow_plain_http = true;
  auto client = net_test::make_test_client(ioc, options);
  const auto m = sample_message();
  const auto r = post(ioc, *client, webhook(srv.url("/hook"), "whsec-0123456789"), m);
  EXPECT_TRUE(r.delivered) << r.error;
  ASSERT_EQ(srv.requests().size(), 1u);
  const auto& got = srv.requests()[0];
  EXPECT_EQ(got.method, "POST");
  EXPECT_EQ(got.body, m.body);
  EXPECT_EQ(got.headers.at("content-type"), "application/json");
  EXPECT_EQ(got.headers.at("idempotency-key"), "vidq-9-hook");
  EXPECT_EQ(got.headers.at("x-vidq-event"), "batch_finished");
  EXPECT_EQ(got.headers.at("x-vidq-notice-id"), "9");
  // What a receiver does: HMAC over "<timestamp>.<body as received>" with the shared secret.
  const std::string& ts = got.headers.at("x-vidq-timestamp");
  EXPECT_EQ(ts, "1700000000");
  EXPECT_EQ(got.headers.at("x-vidq-signature"), "sha256=" + hmac_sha256_hex("whsec-0123456789", ts + "." + got.body));
  EXPECT_NE(got.headers.at("x-vidq-signature"), "sha256=" + hmac_sha256_hex("wrong-secret-xx", ts + "." + got.body));
}

TEST(NotifyWebhook, UnsignedWithoutASecretAndOverTls) {
  asio::io_context ioc;
  test_server srv(ioc, {});
  auto client = net_test::make_test_client(ioc);
  const auto r = post(ioc, *client, webhook(srv.url("/hook")), sample_message());
  EXPECT_TRUE(r.delivered) << r.error;
  ASSERT_EQ(srv.requests().size(), 1u);
  EXPECT_FALSE(srv.requests()[0].headers.contains("x-vidq-signature"));
}

TEST(NotifyWebhook, Non2xxAndUnreachableAreFailuresThatSayWhy) {
  asio::io_context ioc;
  test_server srv(ioc, {.tls = false, .on_request = [](const received_request& req) {
                          scripted_reply r;
                          r.status = req.target == "/moved" ? 302 : 500;
                          return r;
                        }});
  auto options = net_test::test_client_options();
  options.allow_plain_http = true;
  auto client = net_test::make_test_client(ioc, options);
  auto r = post(ioc, *client, webhook(srv.url("/hook")), sample_message());
  EXPECT_FALSE(r.delivered);
  EXPECT_EQ(r.error, "HTTP 500");
  r = post(ioc, *client, webhook(srv.url("/moved")), sample_message());
  EXPECT_EQ(r.error, "HTTP 302");
  srv.stop();
  r = post(ioc, *client, webhook(srv.url("/hook")), sample_message());
  EXPECT_FALSE(r.delivered);
  EXPECT_NE(r.error.find("connect"), std::string::npos) << r.error;
}

attempt_result run(const std::vector<std::string>& argv, const message& m, millis timeout = 5'000) {
  asio::io_context ioc;
  attempt_result r;
  EXPECT_TRUE(run_test(
      ioc, [&]() -> awaitable<void> { r = co_await run_command(argv, m.env, m.body, timeout); },
      std::chrono::milliseconds(timeout + 10'000)));
  return r;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(NotifyCommand, GetsTheBodyOnStdinAndTheEventInItsEnvironment) {
  test::temp_dir dir;
  const auto out = dir.file("got.txt");
  ::setenv("VIDQ_TEST_PRIVATE_KEY", "must-not-leak", 1);
  const auto m = sample_message();
  const auto r = run({"/bin/sh", "-c",
                      "cat > '" + out +
                          "'; printf '\\n%s|%s|%s|%s' \"$VIDQ_EVENT\" \"$VIDQ_BATCH\" "
                          "\"$VIDQ_IDEMPOTENCY_KEY\" \"${VIDQ_TEST_PRIVATE_KEY:-absent}\" >> '" +
                          out + "'"},
                     m);
  ::unsetenv("VIDQ_TEST_PRIVATE_KEY");
  EXPECT_TRUE(r.delivered) << r.error;
  EXPECT_EQ(read_all(out), m.body + "\nbatch_finished|b|vidq-9-hook|absent");
}

TEST(NotifyCommand, ANonZeroExitIsAFailureWithItsOutput) {
  const auto r = run({"/bin/sh", "-c", "echo 'upload refused' >&2; exit 3"}, sample_message());
  EXPECT_FALSE(r.delivered);
  EXPECT_EQ(r.error, "exit status 3: upload refused");
  const auto missing = run({"/nonexistent/vidq-hook"}, sample_message());
  EXPECT_FALSE(missing.delivered);
  EXPECT_FALSE(missing.error.empty());
}

TEST(NotifyCommand, ATimeoutKillsTheProcessWithoutBlockingTheLoop) {
  asio::io_context ioc;
  attempt_result r;
  int ticks = 0;
  const auto started = std::chrono::steady_clock::now();
  auto ticker = [&]() -> awaitable<void> {
    for (int i = 0; i < 20; ++i) {
      co_await net_test::sleep_for(std::chrono::milliseconds(20));
      ++ticks;
    }
  };
  auto body = [&]() -> awaitable<void> {
    // A ticker on the same io_context: it must keep running while the command hangs.
    asio::co_spawn(ioc, ticker(), asio::detached);
    const auto m = sample_message();
    const std::vector<std::string> argv{"/bin/sh", "-c", "exec sleep 30"};  // named: GCC 12 and co_await
    r = co_await run_command(argv, m.env, m.body, 500);
  };
  EXPECT_TRUE(run_test(ioc, body));
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_FALSE(r.delivered);
  EXPECT_NE(r.error.find("timed out after 500 ms"), std::string::npos) << r.error;
  EXPECT_LT(took, std::chrono::seconds(10));
  EXPECT_GE(ticks, 10);  // the loop ran ~25 ticks' worth of time while the child hung
}

}  // namespace
}  // namespace vidq::notify
