#include "vidq/provider/account_transport.hpp"

#include "support/temp_dir.hpp"
#include "vidq/net/connection.hpp"
#include "vidq/ops/log.hpp"

#include <gtest/gtest.h>

#include <map>

namespace vidq::provider {
namespace {

net::proxy_settings env_with_proxy() {
  net::proxy_settings s;
  s.proxy = *net::parse_proxy_url("http://env-proxy:8080");
  s.no_proxy = "internal.test";
  return s;
}

ops::account_config account() {
  ops::account_config a;
  a.name = "acc";
  return a;
}

TEST(account_proxy_settings, absent_inherits_the_environment) {
  std::string why;
  auto s = account_proxy_settings(account(), env_with_proxy(), why);
  ASSERT_TRUE(s) << why;
  ASSERT_TRUE(s->proxy);
  EXPECT_EQ(s->proxy->host, "env-proxy");
  EXPECT_EQ(s->no_proxy, "internal.test");
}

TEST(account_proxy_settings, config_wins_and_keeps_no_proxy) {
  auto a = account();
  a.proxy = "http://acct-proxy:3128";
  std::string why;
  auto s = account_proxy_settings(a, env_with_proxy(), why);
  ASSERT_TRUE(s) << why;
  EXPECT_EQ(s->proxy->host, "acct-proxy");
  EXPECT_EQ(s->no_proxy, "internal.test");
}

TEST(account_proxy_settings, empty_disables_the_environment_proxy) {
  auto a = account();
  a.proxy = "";
  std::string why;
  auto s = account_proxy_settings(a, env_with_proxy(), why);
  ASSERT_TRUE(s) << why;
  EXPECT_FALSE(s->proxy);
}

TEST(account_proxy_settings, credentials_from_a_file_apply_and_are_redacted) {
  test::temp_dir dir;
  const auto file = dir.file("auth");
  test::write_file(file, "proxyuser:proxy-pass-7781\n");
  auto a = account();
  a.proxy_auth_file = file;
  std::string why;
  auto s = account_proxy_settings(a, env_with_proxy(), why);
  ASSERT_TRUE(s) << why;
  EXPECT_EQ(s->proxy->authorization, net::basic_authorization("proxyuser:proxy-pass-7781"));
  EXPECT_EQ(log::redact("x proxy-pass-7781 y"), "x [REDACTED] y");
  EXPECT_EQ(log::redact(s->proxy->authorization).find(s->proxy->authorization.substr(6)), std::string::npos);
  EXPECT_EQ(describe_route(*s, "https://api.test/v4"), "http://env-proxy:8080 (with credentials)");
}

TEST(account_proxy_settings, bad_sources_are_config_errors_without_values) {
  test::temp_dir dir;
  const auto file = dir.file("auth");
  test::write_file(file, "no-colon-secret-value\n");
  auto a = account();
  a.proxy_auth_file = file;
  std::string why;
  EXPECT_FALSE(account_proxy_settings(a, env_with_proxy(), why));
  EXPECT_NE(why.find("user:password"), std::string::npos) << why;
  EXPECT_EQ(why.find("no-colon-secret-value"), std::string::npos) << why;

  a.proxy_auth_file = (dir.path() / "missing").string();
  EXPECT_FALSE(account_proxy_settings(a, env_with_proxy(), why));
  EXPECT_NE(why.find("account acc"), std::string::npos) << why;

  auto b = account();
  b.proxy = "http://proxy:99999";
  EXPECT_FALSE(account_proxy_settings(b, {}, why));
  EXPECT_NE(why.find("not an http://host:port"), std::string::npos) << why;
}

TEST(describe_route, direct_no_proxy_and_proxy) {
  EXPECT_EQ(describe_route({}, "https://api.test/v4"), "direct");
  EXPECT_EQ(describe_route(env_with_proxy(), "https://internal.test/v4"), "direct (NO_PROXY)");
  EXPECT_EQ(describe_route(env_with_proxy(), "https://api.test/v4"), "http://env-proxy:8080");
}

TEST(env_proxy_settings, a_malformed_variable_is_named_not_echoed) {
  std::map<std::string, std::string> env{{"HTTPS_PROXY", "ftp://u:hunter2pass@p:1"}};
  auto get = [&](const char* n) -> const char* {
    auto it = env.find(n);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  std::string why;
  EXPECT_FALSE(env_proxy_settings(why, get));
  EXPECT_NE(why.find("HTTPS_PROXY"), std::string::npos);
  EXPECT_EQ(why.find("hunter2"), std::string::npos);
}

TEST(account_credential, bearer_sends_the_key_and_jwt_a_cached_token) {
  auto a = account();
  std::string why;
  auto bearer = account_credential::create(a, ops::secret("plain-key-000000"), why);
  ASSERT_TRUE(bearer);
  EXPECT_EQ(bearer->authorization(0), "Bearer plain-key-000000");

  a.auth = ops::auth_kind::jwt;
  auto jwt = account_credential::create(a, ops::secret("kid.the-signing-secret"), why);
  ASSERT_TRUE(jwt) << why;
  const std::string first = jwt->authorization(1'700'000'000'000);
  EXPECT_EQ(first, "Bearer " + make_jwt("kid", "the-signing-secret", 1'700'000'000'000, 210'000));
  EXPECT_EQ(jwt->authorization(1'700'000'100'000), first);  // reused
  EXPECT_EQ(jwt->scrub("echo " + first.substr(7) + " and the-signing-secret"), "echo [REDACTED] and [REDACTED]");

  EXPECT_FALSE(account_credential::create(a, ops::secret("no-dot-in-this-key"), why));
  EXPECT_NE(why.find("<id>.<secret>"), std::string::npos);
}

}  // namespace
}  // namespace vidq::provider
