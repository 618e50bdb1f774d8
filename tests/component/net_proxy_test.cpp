// HTTPS through an HTTP CONNECT proxy (tests/support/connect_proxy): the transport tunnels,
// verifies the origin's certificate end to end, reports a refusing proxy as a failure before
// sending, and NO_PROXY goes direct. The provider client and the result fetcher go through it
// against the simulator.
#include "vidq/engine/fetch.hpp"
#include "vidq/net/errors.hpp"
#include "vidq/net/https_client.hpp"
#include "vidq/net/proxy.hpp"
#include "vidq/ops/log.hpp"
#include "vidq/provider/account_transport.hpp"
#include "vidq/provider/client.hpp"

#include "support/connect_proxy.hpp"
#include "support/net_test_server.hpp"
#include "support/sim_fixture.hpp"
#include "support/temp_dir.hpp"

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <fstream>
#include <optional>

namespace vidq {
namespace {

namespace asio = boost::asio;
using net_test::run_test;

net::proxy_settings via(const test::connect_proxy& p, std::string no_proxy = {}) {
  net::proxy_settings s;
  s.proxy = *net::parse_proxy_url(p.url());
  s.no_proxy = std::move(no_proxy);
  return s;
}

net::net_result<net::http_response> get(asio::io_context& ioc, net::https_client& c, const std::string& url,
                                        std::optional<net::proxy_settings> proxy = std::nullopt) {
  std::optional<net::net_result<net::http_response>> out;
  ioc.restart();
  EXPECT_TRUE(run_test(ioc, [&]() -> asio::awaitable<void> {
    net::http_request req(url);
    req.options.proxy = proxy;
    out = co_await c.request(std::move(req));
  }));
  if (!out) throw std::runtime_error("request did not finish");
  return std::move(*out);
}

TEST(net_proxy, request_tunnels_through_the_proxy_and_reuses_the_tunnel) {
  asio::io_context ioc;
  net_test::test_server server(ioc, {});
  test::connect_proxy proxy;
  auto options = net_test::test_client_options();
  options.proxy = via(proxy);
  auto client = net_test::make_test_client(ioc, options);

  auto r = get(ioc, *client, server.url("/a"));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status, 200u);
  auto again = get(ioc, *client, server.url("/b"));
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_TRUE(again->reused_connection);
  EXPECT_EQ(proxy.tunnels(), 1u);
  ASSERT_EQ(proxy.targets().size(), 1u);
  EXPECT_EQ(proxy.targets()[0], "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(client->stats().tunnels_opened, 1u);
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST(net_proxy, a_direct_and_a_proxied_connection_are_never_pooled_together) {
  asio::io_context ioc;
  net_test::test_server server(ioc, {});
  test::connect_proxy proxy;
  auto client = net_test::make_test_client(ioc);
  ASSERT_TRUE(get(ioc, *client, server.url("/direct")));
  auto r = get(ioc, *client, server.url("/proxied"), via(proxy));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_FALSE(r->reused_connection);
  EXPECT_EQ(proxy.tunnels(), 1u);
}

TEST(net_proxy, no_proxy_goes_direct) {
  asio::io_context ioc;
  net_test::test_server server(ioc, {});
  test::connect_proxy proxy;
  auto client = net_test::make_test_client(ioc);
  for (const char* list : {"127.0.0.1", "*", "localhost,127.0.0.0/8", "127.0.0.1:" /* port appended below */}) {
    std::string entry = list;
    if (entry.ends_with(':')) entry += std::to_string(server.port());
    auto r = get(ioc, *client, server.url("/"), via(proxy, entry));
    ASSERT_TRUE(r) << entry << ": " << r.error().message();
  }
  EXPECT_EQ(proxy.connections(), 0u);
  // A NO_PROXY entry for another port does not bypass.
  auto r = get(ioc, *client, server.url("/"), via(proxy, "127.0.0.1:1"));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(proxy.tunnels(), 1u);
}

TEST(net_proxy, the_origin_certificate_is_still_verified_through_the_tunnel) {
  asio::io_context ioc;
  net_test::test_server server(ioc, {});
  test::connect_proxy proxy;
  auto options = net_test::test_client_options();
  options.tls.ca_file = net_test::other_tls_identity().ca_cert.string();  // not the server's CA
  auto client = net_test::make_test_client(ioc, options);
  auto r = get(ioc, *client, server.url("/"), via(proxy));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().step, net::step::handshake);
  EXPECT_TRUE(net::is_tls_error(r.error().ec)) << r.error().message();
  EXPECT_EQ(proxy.tunnels(), 1u);  // the proxy did its part; the provider's certificate failed
  EXPECT_EQ(server.requests().size(), 0u);
}

TEST(net_proxy, the_host_name_checked_is_the_origins_not_the_proxys) {
  // The certificate holds 127.0.0.1 and localhost, and the proxy is at 127.0.0.1: a check
  // against the proxy's address would pass for "wrong.test"; the origin's name must fail.
  asio::io_context ioc;
  net_test::test_server server(ioc, {});
  test::connect_proxy proxy({{}, 0, {"wrong.test"}});
  auto client = net_test::make_test_client(ioc);
  auto good = get(ioc, *client, server.url("/", "localhost"), via(proxy));
  ASSERT_TRUE(good) << good.error().message();
  EXPECT_EQ(proxy.targets().back(), "localhost:" + std::to_string(server.port()));
  auto bad = get(ioc, *client, server.url("/", "wrong.test"), via(proxy));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().step, net::step::handshake);
  EXPECT_TRUE(net::is_tls_error(bad.error().ec)) << bad.error().message();
  EXPECT_EQ(proxy.tunnels(), 2u);
}

TEST(net_proxy, a_proxy_asking_for_credentials_is_a_failure_before_sending) {
  asio::io_context ioc;
  net_test::test_server server(ioc, {});
  const std::string right = net::basic_authorization("alice:correct-horse");
  test::connect_proxy proxy({right, 0, {}});
  auto client = net_test::make_test_client(ioc);

  for (const std::string& sent : {std::string{}, net::basic_authorization("alice:wrong-horse")}) {
    auto settings = via(proxy);
    settings.proxy->authorization = sent;
    auto r = get(ioc, *client, server.url("/"), settings);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().ec, net::net_errc::proxy_auth_required);
    EXPECT_EQ(r.error().step, net::step::connect);
    EXPECT_EQ(r.error().delivery, net::delivery::not_sent);
    EXPECT_EQ(r.error().status, 407u);
    const std::string text = r.error().message();
    EXPECT_NE(text.find("proxy authentication required"), std::string::npos) << text;
    EXPECT_NE(text.find(proxy.url()), std::string::npos) << text;
    EXPECT_EQ(text.find("horse"), std::string::npos) << text;
    if (!sent.empty()) {
      EXPECT_EQ(text.find(sent.substr(6)), std::string::npos) << text;
    }
  }
  auto settings = via(proxy);
  settings.proxy->authorization = right;
  auto ok = get(ioc, *client, server.url("/"), settings);
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_EQ(proxy.tunnels(), 1u);
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST(net_proxy, a_refusing_proxy_says_so) {
  for (unsigned status : {403u, 502u}) {
    asio::io_context ioc;
    net_test::test_server server(ioc, {});
    test::connect_proxy proxy({{}, status, {}});
    auto client = net_test::make_test_client(ioc);
    auto r = get(ioc, *client, server.url("/"), via(proxy));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().ec, net::net_errc::proxy_refused);
    EXPECT_EQ(r.error().step, net::step::connect);
    EXPECT_EQ(r.error().delivery, net::delivery::not_sent);
    EXPECT_EQ(r.error().status, status);
    EXPECT_NE(r.error().message().find("proxy refused the tunnel"), std::string::npos);
    EXPECT_EQ(server.connections(), 0u);
  }
}

TEST(net_proxy, an_unreachable_proxy_is_a_connect_failure_naming_the_proxy) {
  asio::io_context ioc;
  net_test::test_server server(ioc, {});
  unsigned short closed_port = 0;
  {
    test::connect_proxy gone;
    closed_port = gone.port();
  }
  auto client = net_test::make_test_client(ioc);
  net::proxy_settings s;
  s.proxy = *net::parse_proxy_url("http://127.0.0.1:" + std::to_string(closed_port));
  auto r = get(ioc, *client, server.url("/"), s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().step, net::step::connect);
  EXPECT_EQ(r.error().delivery, net::delivery::not_sent);
  EXPECT_NE(r.error().message().find("via proxy http://127.0.0.1:"), std::string::npos) << r.error().message();
}

// ---- the provider client and the fetcher against the simulator, through the proxy ----

class ProviderThroughProxy : public ::testing::Test {
 protected:
  manual_clock clock_;
  test::sim_fixture sim_{clock_};
  test::temp_dir dir_;
  asio::io_context ioc_;

  std::unique_ptr<net::https_client> make_http(std::optional<net::proxy_settings> client_wide = std::nullopt) {
    net::client_options o = net_test::test_client_options();
    o.tls.ca_file = sim_.ca_file().string();
    if (client_wide) o.proxy = *client_wide;
    auto c = net::https_client::create(ioc_.get_executor(), o);
    if (!c) throw std::runtime_error("client: " + c.error().message());
    return std::move(*c);
  }
  ops::account_config account() const {
    ops::account_config a;
    a.name = "sim";
    a.base_url = "https://127.0.0.1:" + std::to_string(sim_.port()) + "/api/paas/v4";
    return a;
  }
  provider::submit_result submit(provider::provider_client& c) {
    provider::job_spec spec;
    spec.model = "cogvideox-3";
    spec.prompt = "a cat on a skateboard";
    std::optional<provider::submit_result> out;
    ioc_.restart();
    EXPECT_TRUE(run_test(ioc_, [&]() -> asio::awaitable<void> { out = co_await c.submit(spec, "rid-proxy"); }));
    if (!out) throw std::runtime_error("submit did not finish");
    return std::move(*out);
  }
};

TEST_F(ProviderThroughProxy, account_proxy_carries_submit_poll_and_the_env_proxy_the_download) {
  test::connect_proxy proxy;
  // The account names its proxy; the client-wide (environment) setting carries downloads.
  auto http = make_http(via(proxy));
  ops::account_config a = account();
  a.proxy = proxy.url();
  std::string why;
  auto settings = provider::account_proxy_settings(a, net::proxy_settings{}, why);
  ASSERT_TRUE(settings) << why;
  provider::https_provider_client client(a, ops::secret(test::sim_v0), *http, clock_, *settings);

  auto sub = submit(client);
  const auto* ok = std::get_if<provider::submit_accepted>(&sub);
  ASSERT_NE(ok, nullptr) << std::get<provider::verdict>(sub).message;
  clock_.advance(20'000);
  std::optional<provider::poll_result> polled;
  ioc_.restart();
  ASSERT_TRUE(run_test(ioc_, [&]() -> asio::awaitable<void> {
    provider::poll_context ctx;
    ctx.submitted_at = clock_.now();
    polled = co_await client.poll(ok->task_id, ctx);
  }));
  const auto* done = std::get_if<provider::task_succeeded>(&*polled);
  ASSERT_NE(done, nullptr);
  EXPECT_GE(proxy.tunnels(), 1u);

  const auto tunnels_before = proxy.targets().size();
  engine::https_result_fetcher fetcher(*http, dir_.path() / "videos");
  engine::fetch_request req(1, "b", done->video_url, done->cover_url);
  std::optional<engine::fetch_result> got;
  ioc_.restart();
  ASSERT_TRUE(run_test(ioc_, [&]() -> asio::awaitable<void> { got = co_await fetcher.fetch(req); }));
  const auto* file = std::get_if<engine::fetched>(&*got);
  ASSERT_NE(file, nullptr);
  EXPECT_GT(file->video_bytes, 0u);
  // The same tunnel may carry the download (same origin, same proxy): what matters is that
  // the simulator was reached only through the proxy.
  EXPECT_GE(proxy.targets().size(), tunnels_before);
  for (const auto& t : proxy.targets()) EXPECT_EQ(t, "127.0.0.1:" + std::to_string(sim_.port()));
  EXPECT_EQ(http->stats().tunnels_opened, http->stats().connections_opened);
}

TEST_F(ProviderThroughProxy, wrong_proxy_credentials_surface_as_a_retry_that_names_the_proxy) {
  test::connect_proxy proxy({net::basic_authorization("vidq:right-pass-123"), 0, {}});
  auto http = make_http();
  const auto file = dir_.path() / "proxy-auth";
  std::ofstream(file) << "vidq:wrong-pass-456\n";
  ops::account_config a = account();
  a.proxy = proxy.url();
  a.proxy_auth_file = file.string();
  std::string why;
  auto settings = provider::account_proxy_settings(a, net::proxy_settings{}, why);
  ASSERT_TRUE(settings) << why;
  provider::https_provider_client client(a, ops::secret(test::sim_v0), *http, clock_, *settings);

  std::vector<std::string> lines;
  log::set_sink([](std::string_view line, void* user) { static_cast<std::vector<std::string>*>(user)->emplace_back(line); },
                &lines);
  log::set_min_level(log::level::debug);
  auto sub = submit(client);
  log::set_sink(nullptr, nullptr);
  log::set_min_level(log::level::info);
  const auto* v = std::get_if<provider::verdict>(&sub);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->what, provider::action::retry);  // not sent: nothing reached the provider
  EXPECT_NE(v->message.find("proxy authentication required"), std::string::npos) << v->message;
  EXPECT_EQ(v->message.find("wrong-pass"), std::string::npos) << v->message;
  const std::string b64 = net::basic_authorization("vidq:wrong-pass-456").substr(6);
  EXPECT_EQ(v->message.find(b64), std::string::npos);
  for (const auto& line : lines) {
    EXPECT_EQ(line.find("wrong-pass"), std::string::npos) << line;
    EXPECT_EQ(line.find(b64), std::string::npos) << line;
  }
  EXPECT_EQ(proxy.refused(), 1u);

  std::ofstream(file) << "vidq:right-pass-123\n";
  settings = provider::account_proxy_settings(a, net::proxy_settings{}, why);
  ASSERT_TRUE(settings) << why;
  provider::https_provider_client fixed(a, ops::secret(test::sim_v0), *http, clock_, *settings);
  auto accepted = submit(fixed);
  EXPECT_TRUE(std::holds_alternative<provider::submit_accepted>(accepted));
  EXPECT_EQ(proxy.tunnels(), 1u);
}

TEST_F(ProviderThroughProxy, proxy_none_disables_the_environment_proxy_for_the_account) {
  test::connect_proxy proxy;
  auto http = make_http();
  ops::account_config a = account();
  a.proxy = "";  // what "none" is normalized to
  std::string why;
  auto settings = provider::account_proxy_settings(a, via(proxy), why);
  ASSERT_TRUE(settings) << why;
  EXPECT_FALSE(settings->proxy);
  provider::https_provider_client client(a, ops::secret(test::sim_v0), *http, clock_, *settings);
  EXPECT_TRUE(std::holds_alternative<provider::submit_accepted>(submit(client)));
  EXPECT_EQ(proxy.connections(), 0u);
}

}  // namespace
}  // namespace vidq
