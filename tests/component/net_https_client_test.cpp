// https_client against the loopback TLS test server: results, keep-alive reuse (counted
// server-side), stale pooled connections, limits, and TLS verification.
#include "vidq/net/https_client.hpp"

#include "support/net_test_server.hpp"

#include <gtest/gtest.h>

namespace vidq::net {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using net_test::received_request;
using net_test::run_test;
using net_test::scripted_reply;
using net_test::test_server;
using resp = std::optional<net_result<http_response>>;

scripted_reply ok(std::string body = "ok") {
  scripted_reply r;
  r.body = std::move(body);
  return r;
}

TEST(NetHttpsClient, ReturnsStatusSelectedHeadersAndBody) {
  asio::io_context ioc;
  test_server srv(ioc, {.on_request = [](const received_request&) {
                          scripted_reply r;
                          r.status = 429;
                          r.headers = {{"Content-Type", "application/json"},
                                       {"Retry-After", "7"},
                                       {"Location", "/elsewhere"}};
                          r.body = R"({"error":{"code":"1302"}})";
                          return r;
                        }});
  auto client = net_test::make_test_client(ioc);
  resp res;
  ASSERT_TRUE(run_test(ioc, [&]() -> awaitable<void> {
    res = co_await client->request(http_request(srv.url("/api/v4/videos?id=1")));
  }));
  ASSERT_TRUE(*res) << res->error().message();
  const http_response& r = res->value();
  EXPECT_EQ(r.status, 429u);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.retry_after, "7");
  EXPECT_EQ(r.location, "/elsewhere");
  EXPECT_EQ(r.content_length, r.body.size());
  EXPECT_EQ(r.body, R"({"error":{"code":"1302"}})");
  ASSERT_EQ(srv.requests().size(), 1u);
  EXPECT_EQ(srv.requests()[0].target, "/api/v4/videos?id=1");
  EXPECT_EQ(srv.requests()[0].method, "GET");
}

TEST(NetHttpsClient, PostSendsBodyAndHeaders) {
  asio::io_context ioc;
  test_server srv(ioc, {});
  auto client = net_test::make_test_client(ioc);
  resp res;
  http_request req;
  req.method = http::verb::post;
  req.url = srv.url("/submit");
  req.headers = {{"Authorization", "Bearer k-123456789"}, {"Content-Type", "application/json"}};
  req.body = R"({"model":"cogvideox-3"})";
  ASSERT_TRUE(run_test(ioc, [&]() -> awaitable<void> { res = co_await client->request(req); }));
  ASSERT_TRUE(*res) << res->error().message();
  ASSERT_EQ(srv.requests().size(), 1u);
  const auto& got = srv.requests()[0];
  EXPECT_EQ(got.method, "POST");
  EXPECT_EQ(got.body, R"({"model":"cogvideox-3"})");
  EXPECT_EQ(got.headers.at("authorization"), "Bearer k-123456789");
  EXPECT_EQ(got.headers.at("content-type"), "application/json");
  EXPECT_EQ(got.headers.at("host"), "127.0.0.1:" + std::to_string(srv.port()));
  EXPECT_EQ(got.headers.at("content-length"), "23");
}

TEST(NetHttpsClient, KeepAliveReusesOneConnectionAndOneHandshake) {
  asio::io_context ioc;
  test_server srv(ioc, {});
  auto client = net_test::make_test_client(ioc);
  std::vector<bool> reused;
  ASSERT_TRUE(run_test(ioc, [&]() -> awaitable<void> {
    for (int i = 0; i < 10; ++i) {
      auto r = co_await client->request(http_request(srv.url("/poll")));
      EXPECT_TRUE(r) << r.error().message();
      if (r) reused.push_back(r->reused_connection);
    }
  }));
  EXPECT_EQ(srv.connections(), 1u);
  EXPECT_EQ(srv.handshakes(), 1u);
  ASSERT_EQ(reused.size(), 10u);
  EXPECT_FALSE(reused[0]);
  EXPECT_TRUE(reused[9]);
  const auto s = client->stats();
  EXPECT_EQ(s.connections_opened, 1u);
  EXPECT_EQ(s.tls_handshakes, 1u);
  EXPECT_EQ(s.reused, 9u);
  EXPECT_EQ(s.idle, 1u);
}

TEST(NetHttpsClient, ReuseSavesAHandshakePerRequest) {
  // Figures only (timings on a shared machine are noise; the counts are the assertion).
  asio::io_context ioc;
  test_server srv(ioc, {});
  auto client = net_test::make_test_client(ioc);
  constexpr int n = 30;
  milliseconds reused{0}, fresh{0};
  ASSERT_TRUE(run_test(ioc, [&]() -> awaitable<void> {
    co_await client->request(http_request(srv.url()));  // warm up: one connection
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) co_await client->request(http_request(srv.url()));
    auto t1 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) {
      http_request r(srv.url());
      r.options.fresh_connection = true;
      co_await client->request(r);
    }
    auto t2 = std::chrono::steady_clock::now();
    reused = std::chrono::duration_cast<milliseconds>(t1 - t0);
    fresh = std::chrono::duration_cast<milliseconds>(t2 - t1);
  }));
  EXPECT_EQ(srv.handshakes(), 1u + n);
  std::printf("[ figures  ] %d GETs: keep-alive %lld ms, fresh TLS connection each %lld ms\n", n,
              static_cast<long long>(reused.count()), static_cast<long long>(fresh.count()));
}

TEST(NetHttpsClient, ConnectionCloseIsNotPooled) {
  asio::io_context ioc;
  test_server srv(ioc, {.on_request = [](const received_request&) {
                          auto r = ok();
                          r.headers = {{"Connection", "close"}};
                          r.end = scripted_reply::ending::close;
                          return r;
                        }});
  auto client = net_test::make_test_client(ioc);
  ASSERT_TRUE(run_test(ioc, [&]() -> awaitable<void> {
    for (int i = 0; i < 3; ++i) {
      auto r = co_await client->request(http_request(srv.url()));
      EXPECT_TRUE(r) << r.error().message();
    }
  }));
  EXPECT_EQ(srv.connections(), 3u);
  EXPECT_EQ(client->stats().idle, 0u);
}

TEST(NetHttpsClient, KeepAliveTimeoutHintIsHonoured) {
  // "timeout=1": the server may close any moment now; we keep a 1 s margin, so not at all.
  asio::io_context ioc;
  test_server srv(ioc, {.on_request = [](const received_request&) {
                          auto r = ok();
                          r.headers = {{"Keep-Alive", "timeout=1"}};
                          return r;
                        }});
  auto client = net_test::make_test_client(ioc);
  ASSERT_TRUE(run_test(ioc, [&]() -> awaitable<void> {
    co_await client->request(http_request(srv.url()));
    co_await client->request(http_request(srv.url()));
  }));
  EXPECT_EQ(srv.connections(), 2u);
  EXPECT_EQ(keep_alive_timeout("timeout=5, max=100"), milliseconds(5000));
  EXPECT_EQ(keep_alive_timeout("max=100"), std::nullopt);
}

TEST(NetHttpsClient, StalePooledConnectionIsDiscardedBeforeAPostIsWritten) {
  // The server closes idle connections after 30 ms (like a short keepalive_timeout). A POST
  // after that must not be written into the dead connection (it would come back as
  // maybe_delivered, i.e. an ambiguous submit): the probe sees the FIN and dials again.
  asio::io_context ioc;
  test_server srv(ioc, {.on_request = [](const received_request&) {
                          auto r = ok();
                          r.close_if_idle = milliseconds(30);
                          return r;
                        }});
  auto client = net_test::make_test_client(ioc);
  resp second;
  ASSERT_TRUE(run_test(ioc, [&]() -> awaitable<void> {
    auto first = co_await client->request(http_request(srv.url("/poll")));
    EXPECT_TRUE(first);
    co_await net_test::sleep_for(milliseconds(150));
    second = co_await client->request(http_request(srv.url("/submit"), http::verb::post, "{}"));
  }));
  ASSERT_TRUE(*second) << second->error().message();
  EXPECT_FALSE((*second)->reused_connection);
  EXPECT_EQ(srv.connections(), 2u);
  EXPECT_EQ(srv.requests().size(), 2u);
  EXPECT_EQ(client->stats().stale_discarded, 1u);
}

TEST(NetHttpsClient, UnsafeMethodsSkipConnectionsIdleTooLongButGetsReuseThem) {
  asio::io_context ioc;
  test_server srv(ioc, {});
  auto opts = net_test::test_client_options();
  opts.pool.unsafe_reuse_max_idle = milliseconds(50);
  auto client = net_test::make_test_client(ioc, opts);
  resp post, get;
  ASSERT_TRUE(run_test(ioc, [&]() -> awaitable<void> {
    co_await client->request(http_request(srv.url()));
    co_await net_test::sleep_for(milliseconds(120));
    post = co_await client->request(http_request(srv.url(), http::verb::post, "{}"));
    get = co_await client->request(http_request(srv.url()));  // the 120 ms-idle one is fine for it
  }));
  ASSERT_TRUE(*post && *get);
  EXPECT_FALSE((*post)->reused_connection);
  EXPECT_TRUE((*get)->reused_connection);
  EXPECT_EQ(srv.connections(), 2u);
}

TEST(NetHttpsClient, FreshConnectionOptionNeverReuses) {
  asio::io_context ioc;
  test_server srv(ioc, {});
  auto client = net_test::make_test_client(ioc);
  ASSERT_TRUE(run_test(ioc, [&]() -> awaitable<void> {
    co_await client->request(http_request(srv.url()));
    http_request fresh(srv.url(), http::verb::post);
    fresh.options.fresh_connection = true;
    auto r = co_await client->request(fresh);
    EXPECT_TRUE(r && !r->reused_connection);
  }));
  EXPECT_EQ(srv.connections(), 2u);
}

TEST(NetHttpsClient, ResponseBodyLimitIsEnforced) {
  asio::io_context ioc;
  test_server srv(ioc, {.on_request = [](const received_request& q) {
                          auto r = ok(std::string(4000, 'x'));
                          r.omit_content_length = q.target == "/eof";  // limit hit mid-stream
                          if (r.omit_content_length) r.end = scripted_reply::ending::close;
                          return r;
                        }});
  auto opts = net_test::test_client_options();
  opts.max_response_body = 1000;
  auto client = net_test::make_test_client(ioc, opts);
  resp declared, streamed;
  ASSERT_TRUE(run_test(ioc, [&]() -> awaitable<void> {
    declared = co_await client->request(http_request(srv.url("/")));
    streamed = co_await client->request(http_request(srv.url("/eof")));
  }));
  for (auto* r : {&declared, &streamed}) {
    ASSERT_FALSE(**r);
    EXPECT_EQ((*r)->error().ec, net_errc::body_too_large);
    EXPECT_EQ((*r)->error().delivery, delivery::maybe_delivered);
  }
  EXPECT_EQ(streamed->error().step, step::read_body);
}

TEST(NetHttpsClient, PlainHttpIsRefusedUnlessAllowed) {
  asio::io_context ioc;
  test_server plain(ioc, {.tls = false});
  auto strict = net_test::make_test_client(ioc);
  auto opts = net_test::test_client_options();
  opts.allow_plain_http = true;
  auto lax = net_test::make_test_client(ioc, opts);
  resp refused, allowed, bad;
  ASSERT_TRUE(run_test(ioc, [&]() -> awaitable<void> {
    refused = co_await strict->request(http_request(plain.url()));
    allowed = co_await lax->request(http_request(plain.url()));
    bad = co_await strict->request(http_request("not a url"));
  }));
  ASSERT_FALSE(*refused);
  EXPECT_EQ(refused->error().ec, net_errc::scheme_refused);
  EXPECT_EQ(refused->error().delivery, delivery::not_sent);
  ASSERT_TRUE(*allowed) << allowed->error().message();
  EXPECT_EQ((*allowed)->body, "ok");
  EXPECT_EQ(plain.connections(), 1u);
  ASSERT_FALSE(*bad);
  EXPECT_EQ(bad->error().ec, net_errc::bad_url);
}

TEST(NetHttpsClientTls, UnknownCaFailsTheHandshakeAsNotSent) {
  asio::io_context ioc;
  test_server srv(ioc, {});
  auto wrong = net_test::test_client_options();
  wrong.tls.ca_file = net_test::other_tls_identity().ca_cert.string();
  auto wrong_ca = net_test::make_test_client(ioc, wrong);
  auto system_only = net_test::test_client_options();
  system_only.tls.ca_file.clear();
  auto no_extra_ca = net_test::make_test_client(ioc, system_only);
  resp a, b;
  ASSERT_TRUE(run_test(ioc, [&]() -> awaitable<void> {
    a = co_await wrong_ca->request(http_request(srv.url(), http::verb::post));
    b = co_await no_extra_ca->request(http_request(srv.url()));
  }));
  for (auto* r : {&a, &b}) {
    ASSERT_FALSE(**r);
    EXPECT_EQ((*r)->error().step, step::handshake);
    EXPECT_EQ((*r)->error().delivery, delivery::not_sent);
    EXPECT_TRUE(is_tls_error((*r)->error().ec)) << (*r)->error().message();
  }
  EXPECT_TRUE(srv.requests().empty());
}

TEST(NetHttpsClientTls, HostNameMismatchFailsAsNotSent) {
  // The certificate is for 127.0.0.1 and localhost; "wrong.test" is pinned to 127.0.0.1.
  asio::io_context ioc;
  test_server srv(ioc, {});
  auto opts = net_test::test_client_options();
  opts.resolve_overrides["wrong.test"] = "127.0.0.1";
  auto client = net_test::make_test_client(ioc, opts);
  resp r;
  ASSERT_TRUE(run_test(ioc, [&]() -> awaitable<void> {
    r = co_await client->request(http_request(srv.url("/", "wrong.test"), http::verb::post));
  }));
  ASSERT_FALSE(*r);
  EXPECT_EQ(r->error().step, step::handshake);
  EXPECT_EQ(r->error().delivery, delivery::not_sent);
  EXPECT_TRUE(is_tls_error(r->error().ec)) << r->error().message();
  EXPECT_EQ(srv.handshakes(), 0u);
}

TEST(NetHttpsClientTls, LocalhostNameVerifiesThroughTheResolver) {
  asio::io_context ioc;
  test_server srv(ioc, {});
  auto client = net_test::make_test_client(ioc);
  resp r;
  ASSERT_TRUE(run_test(ioc, [&]() -> awaitable<void> {
    r = co_await client->request(http_request(srv.url("/", "localhost")));
  }));
  ASSERT_TRUE(*r) << r->error().message();
  EXPECT_EQ(srv.requests().at(0).headers.at("host"), "localhost:" + std::to_string(srv.port()));
}

TEST(NetHttpsClientTls, MissingCaFileFailsAtCreation) {
  asio::io_context ioc;
  client_options o;
  o.tls.ca_file = "/nonexistent/vidq-ca.pem";
  auto c = https_client::create(ioc.get_executor(), o);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error(), boost::system::errc::no_such_file_or_directory);
}

}  // namespace
}  // namespace vidq::net
