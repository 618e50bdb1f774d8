// `vidq doctor` through a CONNECT proxy taken from HTTPS_PROXY, with proxy credentials from a
// file and an auth = "jwt" account: it says which route it takes, never the credentials.
#include "support/connect_proxy.hpp"
#include "support/sim_fixture.hpp"
#include "support/temp_dir.hpp"
#include "vidq/net/proxy.hpp"

#include <gtest/gtest.h>

namespace vidq {
namespace {

bool has(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

TEST(doctor_proxy, probes_through_the_environment_proxy_and_reports_it_without_credentials) {
  manual_clock clock;
  test::sim_fixture sim{clock};
  test::temp_dir dir;
  test::connect_proxy proxy({net::basic_authorization("ops:doctor-proxy-pw"), 0, {}});
  const std::string base = "https://127.0.0.1:" + std::to_string(sim.port()) + "/api/paas/v4";
  test::write_file(dir.path() / "proxy-auth", "ops:doctor-proxy-pw\n");
  test::write_file(dir.path() / "vidq.toml",
                   "[database]\npath = \"vidq.db\"\n[output]\ndir = \"videos\"\n"
                   "[tls]\nca_file = \"" + sim.ca_file().string() + "\"\n"
                   "[[accounts]]\nname = \"main\"\nbase_url = \"" + base + "\"\n"
                   "api_key_env = \"VIDQ_DOCTOR_KEY\"\nproxy_auth_file = \"proxy-auth\"\n"
                   "[[accounts]]\nname = \"tok\"\nbase_url = \"" + base + "\"\n"
                   "api_key_env = \"VIDQ_DOCTOR_JWT\"\nauth = \"jwt\"\nproxy = \"none\"\n");
  const auto r = test::run_command("cd '" + dir.path().string() + "' && env -u NO_PROXY -u no_proxy HTTPS_PROXY='" +
                                   proxy.url() + "' VIDQ_DOCTOR_KEY='" + test::sim_v0 +
                                   "' VIDQ_DOCTOR_JWT='sim-jwt-id.sim-jwt-secret-66666666' '" VIDQ_BINARY
                                   "' --config vidq.toml doctor --timeout 3");
  EXPECT_TRUE(has(r.out, "ok    account main proxy")) << r.out;
  EXPECT_TRUE(has(r.out, proxy.url() + " (with credentials)")) << r.out;
  EXPECT_TRUE(has(r.out, "ok    account tok proxy")) << r.out;
  EXPECT_TRUE(has(r.out, "direct")) << r.out;
  EXPECT_TRUE(has(r.out, "ok    account main api")) << r.out;
  EXPECT_TRUE(has(r.out, "ok    account tok api")) << "the JWT was accepted:\n" << r.out;
  EXPECT_FALSE(has(r.out, "doctor-proxy-pw")) << r.out;
  EXPECT_FALSE(has(r.out, net::basic_authorization("ops:doctor-proxy-pw").substr(6))) << r.out;
  EXPECT_FALSE(has(r.out, "sim-jwt-secret")) << r.out;
  EXPECT_EQ(proxy.tunnels(), 1u);  // main through the proxy; tok direct (proxy = "none")
}

}  // namespace
}  // namespace vidq
