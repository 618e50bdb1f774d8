// What a SIGHUP may change (ops/config_reload.hpp): issue 12 #6.
#include "vidq/ops/config_reload.hpp"

#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

namespace vidq::ops {
namespace {

config loaded(const std::string& toml, test::temp_dir& dir) {
  const auto path = dir.file("vidq.toml");
  test::write_file(path, toml);
  return load_config(path);
}

constexpr const char* base = "[[accounts]]\nname = \"main\"\napi_key_env = \"K\"\n";

TEST(ConfigReload, AnEmptyOrAccountLessFileIsRefused) {
  test::temp_dir dir;
  const config running = loaded(base, dir);
  const config empty = loaded("", dir);  // load_config falls back to the default account
  ASSERT_EQ(empty.accounts.size(), 1u);
  EXPECT_FALSE(declares_accounts(empty.source));
  EXPECT_NE(reload_refusal(running, empty, declares_accounts(empty.source)).find("declares no [[accounts]]"),
            std::string::npos);
  const config no_accounts = loaded("[log]\nlevel = \"debug\"\n", dir);
  EXPECT_NE(reload_refusal(running, no_accounts, declares_accounts(no_accounts.source)), "");
  EXPECT_FALSE(declares_accounts(dir.file("missing.toml")));
  const config same = loaded(base, dir);
  EXPECT_TRUE(declares_accounts(same.source));
  EXPECT_EQ(reload_refusal(running, same, true), "");
}

TEST(ConfigReload, KeysThatNeedARestartAreNamed) {
  test::temp_dir dir;
  const config running = loaded(base, dir);
  const auto refusal = [&](const std::string& extra) {
    return reload_refusal(running, loaded(std::string(base) + extra, dir), true);
  };
  EXPECT_EQ(refusal("[database]\npath = \"other.db\"\n"), "[database] path changed; it needs a restart");
  EXPECT_EQ(refusal("[database]\nurl = \"postgresql://db/vidq\"\n"), "[database] url changed; it needs a restart");
  EXPECT_EQ(refusal("[tls]\nca_file = \"ca.pem\"\n"), "[tls] ca_file changed; it needs a restart");
  EXPECT_EQ(refusal("[status]\nlisten = \"127.0.0.1:9999\"\n"), "[status] listen changed; it needs a restart");
  EXPECT_EQ(refusal("[status]\nallowed_hosts = [\"vidq.lan\"]\n"), "[status] allowed_hosts changed; it needs a restart");
  EXPECT_EQ(refusal("[status]\npublic_read = true\n"), "[status] public_read changed; it needs a restart");
  // These take effect on reload (cmd_run applies them): no refusal.
  EXPECT_EQ(refusal("[output]\ndir = \"elsewhere\"\n"), "");
  EXPECT_EQ(refusal("[status]\ntoken_env = \"T\"\n"), "");
  EXPECT_EQ(refusal("[log]\nlevel = \"debug\"\n[polling]\ngrowth = 2\n"), "");
}

}  // namespace
}  // namespace vidq::ops
