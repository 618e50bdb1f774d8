#include "vidq/ops/config.hpp"

#include "support/temp_dir.hpp"
#include "vidq/ops/log.hpp"
#include "vidq/ops/secrets.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

namespace vidq::ops {
namespace {

std::string load_error(const std::string& toml) {
  test::temp_dir dir;
  const auto path = dir.file("vidq.toml");
  test::write_file(path, toml);
  try {
    load_config(path);
  } catch (const config_error& e) {
    const std::string message = e.what();
    return message.substr(message.find("vidq.toml"));
  }
  return "";
}

TEST(Config, DefaultsWithoutAFile) {
  const auto c = default_config();
  ASSERT_EQ(c.accounts.size(), 1u);
  EXPECT_EQ(c.accounts[0].cap(), 5);
  EXPECT_EQ(c.accounts[0].base_url, "https://open.bigmodel.cn/api/paas/v4");
  EXPECT_EQ(c.retry.on_ambiguous_submit, ambiguous_submit_policy::fail);
}

TEST(Config, ExampleFileLoadsAndResolvesRelativePaths) {
  const auto c = load_config(std::string(VIDQ_SOURCE_DIR) + "/config/vidq.example.toml");
  ASSERT_FALSE(c.accounts.empty());
  EXPECT_TRUE(std::filesystem::path(c.database_path).is_absolute());
  EXPECT_TRUE(std::filesystem::path(c.output_dir).is_absolute());
}

TEST(Config, ParsesEverySection) {
  test::temp_dir dir;
  const auto path = dir.file("vidq.toml");
  test::write_file(path, R"(
[database]
path = "q.db"
[output]
dir = "/srv/videos"
[[accounts]]
name = "shop"
provider = "geekai"
api_key_env = "GEEKAI_KEY"
tier = "V2"
[[accounts]]
name = "big"
api_key_file = "keys/big"
max_in_flight = 7
[polling]
growth = 2
max_interval_seconds = 30
[retry]
max_attempts = 3
on_ambiguous_submit = "resubmit"
[budget]
daily_limit_cny = 200.5
[budget.prices_cny]
cogvideox-3 = 0.8
)");
  const auto c = load_config(path);
  EXPECT_EQ(c.database_path, (dir.path() / "q.db").string());
  EXPECT_EQ(c.output_dir, "/srv/videos");
  ASSERT_EQ(c.accounts.size(), 2u);
  EXPECT_EQ(c.accounts[0].provider, provider_kind::geekai);
  EXPECT_EQ(c.accounts[0].base_url, "https://geekai.co/api/v1");
  EXPECT_EQ(c.accounts[0].cap(), 15);
  EXPECT_EQ(c.accounts[1].cap(), 7);
  EXPECT_EQ(c.accounts[1].api_key_file, (dir.path() / "keys/big").string());
  EXPECT_EQ(c.polling.max_interval, 30'000);
  EXPECT_EQ(c.retry.on_ambiguous_submit, ambiguous_submit_policy::resubmit);
  EXPECT_EQ(c.budget.daily_limit, 200'500);
  EXPECT_EQ(c.budget.prices.at("cogvideox-3"), 800);
}

TEST(Config, ErrorsNameFileAndKey) {
  EXPECT_EQ(load_error("[polling]\ngrowht = 2\n"), "vidq.toml:polling.growht: unknown key");
  EXPECT_EQ(load_error("[[accounts]]\nname = \"a\"\napi_key_env = \"K\"\ntier = \"V9\"\n"),
            "vidq.toml:accounts[0].tier: 'V9' is not one of: V0, V1, V2, V3");
  EXPECT_EQ(load_error("[retry]\nmax_attempts = \"five\"\n"), "vidq.toml:retry.max_attempts: must be an integer");
  EXPECT_EQ(load_error("[[accounts]]\nname = \"a\"\n"),
            "vidq.toml:accounts[0].api_key_env: one of api_key_env, api_key_file, api_key_credential is required");
  EXPECT_EQ(load_error("[[accounts]]\nname = \"a\"\napi_key_env = \"K\"\nbase_url = \"http://x\"\n"),
            "vidq.toml:accounts[0].base_url: must be an https:// URL");
  EXPECT_NE(load_error("[database\n").find("vidq.toml:1:"), std::string::npos);
}

// Issue 14: [database] url selects PostgreSQL; it is one or the other.
TEST(Config, DatabaseUrlSelectsPostgresAndExcludesAPath) {
  test::temp_dir dir;
  const auto path = dir.file("vidq.toml");
  test::write_file(path, "[database]\nurl = \"postgresql://vidq@db1,db2/vidq?target_session_attrs=read-write\"\n");
  const auto cfg = load_config(path);
  EXPECT_TRUE(cfg.uses_postgres());
  EXPECT_EQ(cfg.database_url, "postgresql://vidq@db1,db2/vidq?target_session_attrs=read-write");
  EXPECT_FALSE(default_config().uses_postgres());
  EXPECT_EQ(load_error("[database]\nurl = \"mysql://db/vidq\"\n"),
            "vidq.toml:database.url: must be a postgresql:// URL (SQLite takes `path`)");
  EXPECT_EQ(load_error("[database]\npath = \"vidq.db\"\nurl = \"postgres://db/vidq\"\n"),
            "vidq.toml:database.url: set either `path` (SQLite) or `url` (PostgreSQL), not both");
}

// Issue 12 #7: TOML's inf and nan passed every "must be > 0" check.
TEST(Config, NumbersMustBeFiniteAndInRange) {
  for (const char* bad : {"inf", "+inf", "nan", "-nan"}) {
    EXPECT_EQ(load_error(std::string("[polling]\nrequests_per_second = ") + bad + "\n"),
              "vidq.toml:polling.requests_per_second: must be a finite number")
        << bad;
    EXPECT_EQ(load_error(std::string("[polling]\njitter = ") + bad + "\n"),
              "vidq.toml:polling.jitter: must be a finite number")
        << bad;
  }
  for (const char* key : {"growth", "max_interval_seconds", "min_interval_seconds", "deadline_min_seconds",
                          "budget_window_seconds", "deadline_factor", "duration_scale", "backlog_poll_worth_seconds"}) {
    EXPECT_EQ(load_error(std::string("[polling]\n") + key + " = inf\n"),
              std::string("vidq.toml:polling.") + key + ": must be a finite number");
  }
  EXPECT_EQ(load_error("[retry]\nmax_delay_seconds = inf\n"), "vidq.toml:retry.max_delay_seconds: must be a finite number");
  EXPECT_EQ(load_error("[budget]\ndaily_limit_cny = inf\n"), "vidq.toml:budget.daily_limit_cny: must be a finite number");
  EXPECT_EQ(load_error("[budget.prices_cny]\ncogvideox-3 = nan\n"),
            "vidq.toml:budget.prices_cny.cogvideox-3: must be a finite number");
  EXPECT_EQ(load_error("[retention]\nevents_days = inf\n"), "vidq.toml:retention.events_days: must be a finite number");
  // Finite but absurd values name the documented range.
  EXPECT_EQ(load_error("[polling]\nrequests_per_second = 1e300\n"),
            "vidq.toml:polling.requests_per_second: must be > 0 and <= 10000");
  EXPECT_EQ(load_error("[polling]\nmax_interval_seconds = 1e300\n"),
            "vidq.toml:polling.max_interval_seconds: must be between 0.01 and 86400 seconds");
  EXPECT_EQ(load_error("[retry]\nbase_delay_seconds = 1e20\n"),
            "vidq.toml:retry.base_delay_seconds: must be between 0.01 and 86400 seconds");
  EXPECT_EQ(load_error("[budget]\nbatch_limit_cny = 1e300\n"),
            "vidq.toml:budget.batch_limit_cny: must be between 0 and 1e+09 (CNY)");
  EXPECT_EQ(load_error("[polling]\ngrowth = 11\n"), "vidq.toml:polling.growth: must be > 0 and <= 10");
  EXPECT_EQ(load_error("[polling]\nrequests_per_second = 20\ngrowth = 2\n"), "");
}

TEST(Config, StatusAllowedHostsAndPublicRead) {
  test::temp_dir dir;
  const auto path = dir.file("vidq.toml");
  test::write_file(path, "[status]\nlisten = \"0.0.0.0:8788\"\nallowed_hosts = [\"vidq.lan\", \"fd00::7\"]\n"
                         "public_read = true\n");
  const auto c = load_config(path);
  EXPECT_EQ(c.status.allowed_hosts, (std::vector<std::string>{"vidq.lan", "fd00::7"}));
  EXPECT_TRUE(c.status.public_read);
  EXPECT_FALSE(default_config().status.public_read);
  EXPECT_EQ(load_error("[status]\nallowed_hosts = \"vidq.lan\"\n"),
            "vidq.toml:status.allowed_hosts: must be an array of host names");
  EXPECT_EQ(load_error("[status]\nallowed_hosts = [\"vidq.lan:8788\"]\n"),
            "vidq.toml:status.allowed_hosts: entries must be host names or addresses, without a port or brackets");
  EXPECT_EQ(load_error("[status]\npublic_read = \"yes\"\n"), "vidq.toml:status.public_read: must be true or false");
}

TEST(Config, AKeyInTheFileIsRefusedWithoutEchoingIt) {
  const auto error = load_error("[[accounts]]\nname = \"a\"\napi_key = \"sk-live-SECRET-0123456789\"\n");
  EXPECT_NE(error.find("accounts[0].api_key: keys are never read from the config file"), std::string::npos) << error;
  EXPECT_EQ(error.find("SECRET"), std::string::npos);
}

TEST(Secrets, LoadedKeysAreRedactedFromLogs) {
  test::temp_dir dir;
  test::write_file(dir.path() / "key", "sk-file-7f3a9c2e11d04b8e\n");
  std::string why;
  auto key = load_secret({.file = dir.file("key")}, why);
  ASSERT_TRUE(key) << why;
  EXPECT_EQ(key->expose(), "sk-file-7f3a9c2e11d04b8e");
  EXPECT_EQ(log::redact("auth failed for Bearer sk-file-7f3a9c2e11d04b8e"), "auth failed for Bearer [REDACTED]");

  std::string captured;
  log::set_sink([](std::string_view line, void* user) { *static_cast<std::string*>(user) += line; }, &captured);
  log::error("provider_error", {{"body", "{\"error\":\"bad key sk-file-7f3a9c2e11d04b8e\"}"}});
  log::set_sink(nullptr, nullptr);
  EXPECT_EQ(captured.find("sk-file"), std::string::npos) << captured;
  EXPECT_NE(captured.find("[REDACTED]"), std::string::npos);
}

TEST(Config, OutputTemplateDefaultsToTheOlderLayoutAndTheExampleShowsBatchAndKey) {
  EXPECT_EQ(default_config().output_path_template, "{batch_folder}/{id}");
  EXPECT_FALSE(default_config().write_manifest);
  const auto example = load_config(std::string(VIDQ_SOURCE_DIR) + "/config/vidq.example.toml");
  EXPECT_EQ(example.output_path_template, "{batch}/{key}");
  test::temp_dir dir;
  const auto path = dir.file("vidq.toml");
  test::write_file(path, "[output]\npath_template = \"{date}/{batch}/{key}\"\nwrite_manifest = true\n");
  const auto c = load_config(path);
  EXPECT_EQ(c.output_path_template, "{date}/{batch}/{key}");
  EXPECT_TRUE(c.write_manifest);
  test::write_file(path, "[output]\npath_template = \"\"\n");
  EXPECT_THROW(load_config(path), config_error);
  test::write_file(path, "[output]\nwrite_manifest = \"yes\"\n");
  EXPECT_THROW(load_config(path), config_error);
}

TEST(Config, MinFreeSpaceDefaultsTo100MiBAndZeroSwitchesItOff) {
  EXPECT_EQ(default_config().output_min_free_mb, 100);
  const auto example = load_config(std::string(VIDQ_SOURCE_DIR) + "/config/vidq.example.toml");
  EXPECT_EQ(example.output_min_free_mb, 100);  // the example shows the default
  test::temp_dir dir;
  const auto path = dir.file("vidq.toml");
  test::write_file(path, "[output]\nmin_free_mb = 0\n");
  EXPECT_EQ(load_config(path).output_min_free_mb, 0);
  test::write_file(path, "[output]\nmin_free_mb = -1\n");
  EXPECT_THROW(load_config(path), config_error);
  test::write_file(path, "[output]\nmin_free_mb = 1.5\n");
  EXPECT_THROW(load_config(path), config_error);
}

TEST(Config, BacklogPollingAndTheGetBudgetWindow) {
  const auto d = default_config();
  EXPECT_DOUBLE_EQ(d.polling.backlog_poll_worth_ms, 12.0);
  EXPECT_EQ(d.polling.budget_window, 1'000);
  const auto example = load_config(std::string(VIDQ_SOURCE_DIR) + "/config/vidq.example.toml");
  EXPECT_DOUBLE_EQ(example.polling.backlog_poll_worth_ms, 12.0);  // the example shows the defaults
  EXPECT_EQ(example.polling.budget_window, 1'000);
  test::temp_dir dir;
  const auto path = dir.file("vidq.toml");
  // A time-scaled simulator (bench/ at 0.01): every provider-time setting goes down with it.
  test::write_file(path,
                   "[polling]\nbacklog_poll_worth_seconds = 0.00012\nbudget_window_seconds = 0.01\n"
                   "min_interval_seconds = 0.02\nmax_interval_seconds = 0.6\n");
  const auto c = load_config(path);
  EXPECT_DOUBLE_EQ(c.polling.backlog_poll_worth_ms, 0.12);
  EXPECT_EQ(c.polling.budget_window, 10);
  EXPECT_EQ(c.polling.min_interval, 20);
  EXPECT_EQ(c.polling.max_interval, 600);
  test::write_file(path, "[polling]\nbacklog_poll_worth_seconds = 0\n");
  EXPECT_THROW(load_config(path), config_error);
  test::write_file(path, "[polling]\nbudget_window_seconds = 61\n");
  EXPECT_THROW(load_config(path), config_error);
}

TEST(Config, RetentionIsOffUnlessSet) {
  EXPECT_FALSE(default_config().retention.finished_jobs);
  EXPECT_FALSE(default_config().retention.events);
  const auto example = load_config(std::string(VIDQ_SOURCE_DIR) + "/config/vidq.example.toml");
  EXPECT_FALSE(example.retention.finished_jobs);  // the example shows the defaults: 0 = off
  EXPECT_FALSE(example.retention.events);
}

TEST(Config, RetentionDaysBecomeMilliseconds) {
  test::temp_dir dir;
  const auto path = dir.file("vidq.toml");
  test::write_file(path, "[retention]\nfinished_job_days = 30\nevents_days = 1.5\n");
  const auto c = load_config(path);
  EXPECT_EQ(c.retention.finished_jobs, 30 * 86'400'000LL);
  EXPECT_EQ(c.retention.events, 36 * 3'600'000LL);
  test::write_file(path, "[retention]\nfinished_job_days = 0\n");
  EXPECT_FALSE(load_config(path).retention.finished_jobs);
}

TEST(Config, RetentionRejectsShortOrUnknownSettings) {
  EXPECT_EQ(load_error("[retention]\nfinished_job_days = 0.5\n"),
            "vidq.toml:retention.finished_job_days: must be 0 (keep forever) or between 1 and 36500 days");
  EXPECT_EQ(load_error("[retention]\nevents_days = -1\n"),
            "vidq.toml:retention.events_days: must be 0 (keep forever) or between 1 and 36500 days");
  EXPECT_EQ(load_error("[retention]\nevents_days = \"7\"\n"), "vidq.toml:retention.events_days: must be a number");
  EXPECT_EQ(load_error("[retention]\njob_days = 7\n"), "vidq.toml:retention.job_days: unknown key");
}

TEST(Secrets, MissingSourcesNameTheSourceOnly) {
  std::string why;
  ::unsetenv("VIDQ_TEST_MISSING_KEY");
  EXPECT_FALSE(load_secret({.env = "VIDQ_TEST_MISSING_KEY"}, why));
  EXPECT_EQ(why, "environment variable VIDQ_TEST_MISSING_KEY is not set");
  ::setenv("VIDQ_TEST_KEY", "sk-env-0000111122223333", 1);
  auto key = load_secret({.env = "VIDQ_TEST_KEY"}, why);
  ASSERT_TRUE(key);
  EXPECT_EQ(key->expose(), "sk-env-0000111122223333");
}

}  // namespace
}  // namespace vidq::ops
