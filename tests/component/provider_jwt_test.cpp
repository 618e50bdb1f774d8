// auth = "jwt" end to end: the provider client signs the SDK's token from an id.secret key,
// the simulator verifies signature and expiry, and refusals are the provider's auth errors.
#include "vidq/provider/client.hpp"

#include "support/net_test_server.hpp"
#include "support/sim_fixture.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>

namespace vidq {
namespace {

namespace asio = boost::asio;
constexpr const char* jwt_key = "sim-jwt-id.sim-jwt-secret-66666666";

class ProviderJwt : public ::testing::Test {
 protected:
  manual_clock clock_;  // the simulator's; the client gets its own to skew time
  test::sim_fixture sim_{clock_};
  asio::io_context ioc_;
  std::unique_ptr<net::https_client> http_ = make_http();

  std::unique_ptr<net::https_client> make_http() {
    net::client_options o = net_test::test_client_options();
    o.tls.ca_file = sim_.ca_file().string();
    auto c = net::https_client::create(ioc_.get_executor(), o);
    if (!c) throw std::runtime_error("client: " + c.error().message());
    return std::move(*c);
  }
  ops::account_config account(ops::auth_kind auth = ops::auth_kind::jwt) const {
    ops::account_config a;
    a.name = "sim";
    a.base_url = "https://127.0.0.1:" + std::to_string(sim_.port()) + "/api/paas/v4";
    a.auth = auth;
    return a;
  }
  provider::submit_result submit(provider::provider_client& c, const std::string& rid) {
    provider::job_spec spec;
    spec.model = "cogvideox-3";
    spec.prompt = "a cat on a skateboard";
    std::optional<provider::submit_result> out;
    ioc_.restart();
    EXPECT_TRUE(net_test::run_test(ioc_, [&]() -> asio::awaitable<void> { out = co_await c.submit(spec, rid); }));
    if (!out) throw std::runtime_error("submit did not finish");
    return std::move(*out);
  }
};

TEST_F(ProviderJwt, a_signed_token_is_accepted_and_counted_for_its_key) {
  provider::https_provider_client client(account(), ops::secret(jwt_key), *http_, clock_);
  auto first = submit(client, "rid-1");
  ASSERT_TRUE(std::holds_alternative<provider::submit_accepted>(first)) << std::get<provider::verdict>(first).message;
  clock_.advance(200'000);  // past the token's reuse window: a fresh one is signed
  auto second = submit(client, "rid-2");
  ASSERT_TRUE(std::holds_alternative<provider::submit_accepted>(second))
      << std::get<provider::verdict>(second).message;
  const auto stats = sim_.sim().stats();
  EXPECT_NE(boost::json::serialize(stats).find("\"jwt\""), std::string::npos) << boost::json::serialize(stats);
}

TEST_F(ProviderJwt, the_plain_id_secret_key_still_works_as_a_bearer_token) {
  provider::https_provider_client client(account(ops::auth_kind::bearer), ops::secret(jwt_key), *http_, clock_);
  EXPECT_TRUE(std::holds_alternative<provider::submit_accepted>(submit(client, "rid-b")));
}

TEST_F(ProviderJwt, a_wrong_secret_is_refused_as_an_auth_error) {
  provider::https_provider_client client(account(), ops::secret("sim-jwt-id.not-the-secret-000"), *http_, clock_);
  auto r = submit(client, "rid-w");
  const auto* v = std::get_if<provider::verdict>(&r);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->what, provider::action::pause_account);
  EXPECT_EQ(v->error_code, "1004") << v->message;
  EXPECT_EQ(v->message.find("not-the-secret"), std::string::npos);
}

TEST_F(ProviderJwt, an_expired_token_is_refused) {
  manual_clock behind(clock_.now() - 3'600'000);  // the client's clock an hour slow
  provider::https_provider_client client(account(), ops::secret(jwt_key), *http_, behind);
  auto r = submit(client, "rid-e");
  const auto* v = std::get_if<provider::verdict>(&r);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->what, provider::action::pause_account);
  EXPECT_EQ(v->error_code, "1003") << v->message;
}

TEST_F(ProviderJwt, the_simulator_can_be_told_to_refuse_tokens) {
  sim::sim_config cfg = test::sim_fixture::quiet_config();
  cfg.accept_jwt = false;
  test::sim_fixture strict(clock_, cfg);
  ops::account_config a = account();
  a.base_url = "https://127.0.0.1:" + std::to_string(strict.port()) + "/api/paas/v4";
  net::client_options o = net_test::test_client_options();
  o.tls.ca_file = strict.ca_file().string();
  auto http = net::https_client::create(ioc_.get_executor(), o);
  ASSERT_TRUE(http);
  provider::https_provider_client client(a, ops::secret(jwt_key), **http, clock_);
  auto r = submit(client, "rid-s");
  const auto* v = std::get_if<provider::verdict>(&r);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->error_code, "1000");
}

TEST(provider_jwt_config, a_key_without_a_dot_is_a_config_error_at_create) {
  manual_clock clock;
  asio::io_context ioc;
  auto http = net_test::make_test_client(ioc);
  ops::account_config a;
  a.name = "x";
  a.base_url = "https://127.0.0.1:1/api/paas/v4";
  a.auth = ops::auth_kind::jwt;
  a.api_key_env = "VIDQ_TEST_JWT_NODOT_KEY";
  ::setenv("VIDQ_TEST_JWT_NODOT_KEY", "nodotkey-123456789", 1);
  std::string why;
  auto c = provider::https_provider_client::create(a, *http, clock, why);
  ::unsetenv("VIDQ_TEST_JWT_NODOT_KEY");
  ASSERT_FALSE(c);
  EXPECT_NE(why.find("<id>.<secret>"), std::string::npos) << why;
  EXPECT_EQ(why.find("nodotkey"), std::string::npos) << why;
}

}  // namespace
}  // namespace vidq
