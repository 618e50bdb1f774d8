// [[accounts]] proxy, proxy_auth_env, proxy_auth_file and auth (docs/OPERATIONS.md
// "Proxies and token auth").
#include "vidq/ops/config.hpp"

#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

namespace vidq::ops {
namespace {

config load(const std::string& account_lines, test::temp_dir& dir) {
  const auto path = dir.file("vidq.toml");
  test::write_file(path, "[[accounts]]\nname = \"a\"\napi_key_env = \"K\"\n" + account_lines);
  return load_config(path);
}

std::string load_error(const std::string& account_lines) {
  test::temp_dir dir;
  try {
    load(account_lines, dir);
  } catch (const config_error& e) {
    const std::string message = e.what();
    return message.substr(message.find("vidq.toml"));
  }
  return "";
}

TEST(ConfigNetwork, DefaultsAreEnvironmentProxyAndBearer) {
  test::temp_dir dir;
  const auto c = load("", dir);
  EXPECT_FALSE(c.accounts[0].proxy);
  EXPECT_EQ(c.accounts[0].auth, auth_kind::bearer);
  EXPECT_TRUE(c.accounts[0].proxy_auth_env.empty());
}

TEST(ConfigNetwork, ReadsProxyAuthAndJwt) {
  test::temp_dir dir;
  const auto c = load("proxy = \"http://proxy.corp:3128\"\nproxy_auth_env = \"PA\"\nproxy_auth_file = \"pa.txt\"\n"
                      "auth = \"jwt\"\n",
                      dir);
  const auto& a = c.accounts[0];
  ASSERT_TRUE(a.proxy);
  EXPECT_EQ(*a.proxy, "http://proxy.corp:3128");
  EXPECT_EQ(a.proxy_auth_env, "PA");
  EXPECT_TRUE(std::filesystem::path(a.proxy_auth_file).is_absolute());  // relative to the file
  EXPECT_EQ(a.auth, auth_kind::jwt);
  EXPECT_EQ(to_string(a.auth), "jwt");
}

TEST(ConfigNetwork, NoneAndEmptyMeanDirect) {
  for (const char* value : {"none", ""}) {
    test::temp_dir dir;
    const auto c = load(std::string("proxy = \"") + value + "\"\n", dir);
    ASSERT_TRUE(c.accounts[0].proxy) << value;
    EXPECT_EQ(*c.accounts[0].proxy, "") << value;
  }
}

TEST(ConfigNetwork, RefusesCredentialsInTheUrlWithoutEchoingThem) {
  const auto e = load_error("proxy = \"http://bob:s3cr3t-pw@proxy:3128\"\n");
  EXPECT_NE(e.find("accounts[0].proxy"), std::string::npos) << e;
  EXPECT_NE(e.find("proxy_auth_env"), std::string::npos) << e;
  EXPECT_EQ(e.find("s3cr3t"), std::string::npos) << e;
}

TEST(ConfigNetwork, RefusesOtherSchemesAndAuthKinds) {
  EXPECT_NE(load_error("proxy = \"https://proxy:3128\"\n").find("only HTTP CONNECT"), std::string::npos);
  EXPECT_NE(load_error("proxy = \"socks5://proxy:1080\"\n").find("accounts[0].proxy"), std::string::npos);
  EXPECT_NE(load_error("auth = \"hmac\"\n").find("bearer, jwt"), std::string::npos);
}

}  // namespace
}  // namespace vidq::ops
