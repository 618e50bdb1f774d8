#include "vidq/net/connection.hpp"
#include "vidq/net/errors.hpp"
#include "vidq/net/proxy.hpp"

#include <gtest/gtest.h>

#include <map>

namespace vidq::net {
namespace {

origin https_origin(std::string host, std::string port = "443") { return origin{true, std::move(host), std::move(port)}; }

TEST(parse_proxy_url, host_port_with_and_without_scheme) {
  auto p = parse_proxy_url("http://proxy.corp:3128");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->host, "proxy.corp");
  EXPECT_EQ(p->port, "3128");
  EXPECT_TRUE(p->authorization.empty());
  EXPECT_EQ(p->display(), "http://proxy.corp:3128");

  auto bare = parse_proxy_url("10.1.2.3:8080/");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->host, "10.1.2.3");
  EXPECT_EQ(bare->port, "8080");

  auto dflt = parse_proxy_url("http://proxy");
  ASSERT_TRUE(dflt);
  EXPECT_EQ(dflt->port, "80");

  auto v6 = parse_proxy_url("http://[::1]:3128");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->display(), "http://[::1]:3128");
}

TEST(parse_proxy_url, userinfo_becomes_basic_auth_and_stays_out_of_display) {
  // base64("al ice:p@ss") = "YWwgaWNlOnBAc3M=" (python3 -c 'import base64;print(base64.b64encode(b"al ice:p@ss"))')
  auto p = parse_proxy_url("http://al%20ice:p%40ss@proxy:3128");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->authorization, "Basic YWwgaWNlOnBAc3M=");
  EXPECT_EQ(p->display(), "http://proxy:3128");
  EXPECT_EQ(p->pool_key().find("YWwg"), std::string::npos);
  EXPECT_NE(p->pool_key(), p->display());
}

TEST(parse_proxy_url, refuses_what_it_cannot_speak) {
  for (const char* bad : {"https://proxy:3128", "socks5://proxy:1080", "http://proxy:3128/path", "http://:3128",
                          "http://proxy:0", "http://proxy:99999", "http://proxy:3128?x=1", ""}) {
    auto p = parse_proxy_url(bad);
    ASSERT_FALSE(p) << bad;
    EXPECT_EQ(p.error(), net_errc::bad_proxy_url) << bad;
  }
}

TEST(basic_authorization, rfc_7617_example) {
  EXPECT_EQ(basic_authorization("Aladdin:open sesame\n"), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
}

TEST(bypasses_proxy, host_suffixes_ports_ips_and_star) {
  const std::string list = "localhost, .corp.example,*.intra, files.cdn.test:8443 ,10.0.0.0/8,192.168.1.7,[::1]:9000,fd00::/8";
  EXPECT_TRUE(bypasses_proxy(list, "localhost", "443"));
  EXPECT_TRUE(bypasses_proxy(list, "corp.example", "443"));
  EXPECT_TRUE(bypasses_proxy(list, "API.Corp.Example", "443"));
  EXPECT_FALSE(bypasses_proxy(list, "notcorp.example", "443"));  // a suffix on a label boundary only
  EXPECT_TRUE(bypasses_proxy(list, "x.y.intra", "443"));
  EXPECT_TRUE(bypasses_proxy(list, "files.cdn.test", "8443"));
  EXPECT_FALSE(bypasses_proxy(list, "files.cdn.test", "443"));
  EXPECT_TRUE(bypasses_proxy(list, "10.20.30.40", "443"));
  EXPECT_FALSE(bypasses_proxy(list, "11.0.0.1", "443"));
  EXPECT_TRUE(bypasses_proxy(list, "192.168.1.7", "443"));
  EXPECT_FALSE(bypasses_proxy(list, "192.168.1.8", "443"));
  EXPECT_TRUE(bypasses_proxy(list, "::1", "9000"));
  EXPECT_FALSE(bypasses_proxy(list, "::1", "443"));
  EXPECT_TRUE(bypasses_proxy(list, "fd12::5", "443"));
  EXPECT_FALSE(bypasses_proxy(list, "open.bigmodel.cn", "443"));
  EXPECT_TRUE(bypasses_proxy("*", "open.bigmodel.cn", "443"));
  EXPECT_FALSE(bypasses_proxy("", "open.bigmodel.cn", "443"));
  EXPECT_FALSE(bypasses_proxy(" , ,", "open.bigmodel.cn", "443"));
}

TEST(route, no_proxy_applies_to_the_configured_proxy) {
  proxy_settings s;
  EXPECT_EQ(route(s, https_origin("api.test")), nullptr);
  s.proxy = *parse_proxy_url("http://127.0.0.1:3128");
  s.no_proxy = "127.0.0.1";
  EXPECT_EQ(route(s, https_origin("127.0.0.1")), nullptr);
  const proxy_endpoint* p = route(s, https_origin("api.test"));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->port, "3128");
}

TEST(proxy_settings_from_env, upper_case_wins_and_bad_urls_are_errors) {
  std::map<std::string, std::string> env{{"https_proxy", "http://lower:1"}, {"no_proxy", "lower.test"}};
  auto get = [&](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  auto s = proxy_settings_from_env(get);
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->proxy);
  EXPECT_EQ(s->proxy->host, "lower");
  EXPECT_EQ(s->no_proxy, "lower.test");
  env["HTTPS_PROXY"] = "http://upper:2";
  env["NO_PROXY"] = "upper.test";
  s = proxy_settings_from_env(get);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->proxy->host, "upper");
  EXPECT_EQ(s->no_proxy, "upper.test");
  env["HTTPS_PROXY"] = "https://upper:2";
  EXPECT_EQ(proxy_settings_from_env(get).error(), net_errc::bad_proxy_url);
  env.clear();
  s = proxy_settings_from_env(get);
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->proxy);
}

TEST(connect_request, names_the_origin_and_carries_credentials_only_when_given) {
  EXPECT_EQ(connect_request(https_origin("api.test", "8443"), "", "vidq/1"),
            "CONNECT api.test:8443 HTTP/1.1\r\nHost: api.test:8443\r\nUser-Agent: vidq/1\r\n\r\n");
  EXPECT_EQ(connect_request(https_origin("::1"), "Basic eDp5", ""),
            "CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\nProxy-Authorization: Basic eDp5\r\n\r\n");
}

TEST(parse_connect_reply, statuses_and_garbage) {
  EXPECT_EQ(parse_connect_reply("HTTP/1.1 200 Connection established\r\n\r\n").value(), 200u);
  EXPECT_EQ(parse_connect_reply("HTTP/1.0 200 OK\r\nProxy-Agent: x\r\n\r\n").value(), 200u);
  EXPECT_EQ(parse_connect_reply("HTTP/1.1 407 Proxy Authentication Required\r\n"
                                "Proxy-Authenticate: Basic realm=\"p\"\r\nContent-Length: 5\r\n\r\n")
                .value(),
            407u);
  EXPECT_EQ(parse_connect_reply("SSH-2.0-OpenSSH\r\n\r\n").error(), net_errc::proxy_protocol);
  EXPECT_EQ(parse_connect_reply("HTTP/1.1 200 OK\r\n").error(), net_errc::proxy_protocol);  // no blank line
}

TEST(connect_verdict, two_hundreds_open_407_asks_for_auth_others_refuse) {
  EXPECT_FALSE(connect_verdict(200));
  EXPECT_FALSE(connect_verdict(204));
  EXPECT_EQ(connect_verdict(407), net_errc::proxy_auth_required);
  EXPECT_EQ(connect_verdict(403), net_errc::proxy_refused);
  EXPECT_EQ(connect_verdict(502), net_errc::proxy_refused);
  EXPECT_EQ(connect_verdict(101), net_errc::proxy_refused);
}

TEST(proxy_errors, messages_say_it_was_the_proxy) {
  EXPECT_NE(make_error_code(net_errc::proxy_auth_required).message().find("proxy"), std::string::npos);
  EXPECT_NE(make_error_code(net_errc::proxy_refused).message().find("proxy"), std::string::npos);
}

}  // namespace
}  // namespace vidq::net
