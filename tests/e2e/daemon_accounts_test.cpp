// Issue 10 end to end against the simulator: one queue served by several keys, and faults of
// an account's endpoint (closed port, wrong base_url, bad key) that pause instead of failing.
#include "support/daemon_harness.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <csignal>
#include <cstdlib>
#include <thread>

namespace vidq::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;


std::int64_t count(const daemon_harness& h, const std::string& where) {
  return h.scalar("SELECT count(*) FROM jobs WHERE " + where);
}

std::string summary(const daemon_harness& h) {
  return h.text(
      "SELECT group_concat(s, ' ') FROM (SELECT account || '/' || state || ':' || coalesce(error_code, '-') || '=' || "
      "count(*) AS s FROM jobs GROUP BY account, state, error_code)");
}

TEST(DaemonAccounts, ASingleAccountNamedMainServesPlainSqlRows) {
  daemon_harness h({.accounts_toml = account_toml("main", daemon_key_env, "V0")});
  ASSERT_EQ(h.vidq("migrate").exit_code, 0);
  ASSERT_EQ(h.scalar("SELECT count(*) FROM jobs"), 0);
  // What a cron job writes: no account, so the column default 'default', which no
  // configured account is called.
  const auto insert = run_command("sqlite3 " + h.db_path() +
                                  " \"INSERT INTO jobs(model, prompt) VALUES ('cogvideox-flash', 'a teapot'), "
                                  "('cogvideox-flash', 'a kettle')\"");
  ASSERT_EQ(insert.exit_code, 0) << insert.out;
  const auto code = h.wait(h.start(), 60s);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0) << h.log_text().substr(0, 3000);
  EXPECT_EQ(count(h, "state = 'succeeded' AND account = 'main' AND requested_account = 'default'"), 2) << summary(h);
  const auto shown = h.vidq("show 1");
  EXPECT_NE(shown.out.find("requested_account"), std::string::npos) << shown.out;
  EXPECT_EQ(h.verify_files(), "");
}

TEST(DaemonAccounts, TwoKeysOfDifferentTiersShareOneQueueByTheirCaps) {
  ::setenv(second_key_env, sim_v1, 1);
  // Tasks long enough (flash ≈ 2.7 s at this scale) that slots, not the loop's CPU on 2
  // shared cores, bound the throughput even in the ASan build: only then does work split by
  // the caps (at 0.005 a loaded machine measured 1.56, at 0.015 under ASan 1.54).
  daemon_harness h({.time_scale = 0.03,
                    .accounts_toml =
                        account_toml("small", daemon_key_env, "V0") + account_toml("large", second_key_env, "V1")});
  // 300 jobs with no account at all.
  std::vector<std::string> lines;
  for (int i = 0; i < 300; ++i) {
    lines.push_back(R"({"key":"pool-)" + std::to_string(i) +
                    R"(","batch":"pool","model":"cogvideox-flash","prompt":"a cup)" + std::to_string(i) + R"("})");
  }
  ASSERT_EQ(h.import_jobs(lines).exit_code, 0);
  const auto code = h.wait(h.start(), 240s);
  ASSERT_TRUE(code.has_value()) << "still running\n" << summary(h);
  EXPECT_EQ(*code, 0) << h.log_text().substr(0, 3000);
  EXPECT_EQ(count(h, "state = 'succeeded'"), 300) << summary(h);

  const auto stats = h.sim().sim().stats(false);
  std::map<std::string, std::int64_t> peak;
  for (const auto& slot : stats.at("slots").as_array()) {
    const auto& s = slot.as_object();
    EXPECT_LE(s.at("peak_in_flight").to_number<std::int64_t>(), s.at("cap").to_number<std::int64_t>())
        << json::serialize(s);
    EXPECT_EQ(s.at("cap_rejections").to_number<std::int64_t>(), 0) << json::serialize(s);
    peak[std::string(s.at("key").as_string())] = s.at("peak_in_flight").to_number<std::int64_t>();
  }
  EXPECT_EQ(peak["v0"], 5) << "the V0 key was used up to its cap";
  EXPECT_EQ(peak["v1"], 10) << "the V1 key was used up to its cap";
  EXPECT_TRUE(stats.at("duplicate_request_ids").as_array().empty());
  EXPECT_EQ(stats.at("tasks_created").to_number<std::int64_t>(), 300);
  const auto small = count(h, "account = 'small'");
  const auto large = count(h, "account = 'large'");
  const double ratio = static_cast<double>(large) / static_cast<double>(std::max<std::int64_t>(small, 1));
  RecordProperty("v1_to_v0_ratio", std::to_string(ratio));
  // Measured 1.54–1.97 on 2 loaded cores (docs/OPERATIONS.md): "about twice" when slots
  // bind; the peaks above are the exact part.
  EXPECT_NEAR(ratio, 2.0, 0.55) << small << " jobs on V0, " << large << " on V1";
  EXPECT_EQ(h.verify_files(), "");
}

TEST(DaemonAccounts, AClosedProviderPortFailsNothingAndSpendsNoAttempt) {
  daemon_harness h;
  ASSERT_EQ(h.import_jobs(daemon_harness::jobs(10, "cogvideox-flash", "outage")).exit_code, 0);
  h.sim().close_port();
  const pid_t pid = h.start();
  const auto outage_end = std::chrono::steady_clock::now() + 60s;
  std::this_thread::sleep_for(5s);
  EXPECT_EQ(h.scalar("SELECT count(*) FROM account_pauses WHERE paused_by = 'breaker'"), 1)
      << h.log_text().substr(0, 3000);
  std::this_thread::sleep_until(outage_end);
  EXPECT_EQ(count(h, "state = 'failed'"), 0) << summary(h);
  EXPECT_EQ(count(h, "state = 'queued' AND attempts = 0"), 10) << summary(h);
  h.sim().reopen_port();
  const auto code = h.wait(pid, 240s);
  ASSERT_TRUE(code.has_value()) << "still running after the port opened\n" << summary(h);
  EXPECT_EQ(*code, 0) << h.log_text().substr(0, 3000);
  EXPECT_EQ(count(h, "state = 'succeeded' AND attempts = 1"), 10) << summary(h);
  EXPECT_EQ(h.scalar("SELECT count(*) FROM account_pauses"), 0);
  const auto log = h.log_text();
  EXPECT_NE(log.find("account_breaker_open"), std::string::npos);
  EXPECT_NE(log.find("account_probe_failed"), std::string::npos);
  EXPECT_NE(log.find("\"by\":\"breaker\""), std::string::npos) << "resumed by the probe, not by an operator";
  EXPECT_EQ(h.sim().sim().stats(false).at("tasks_created").to_number<std::int64_t>(), 10);
}

TEST(DaemonAccounts, AWrongBaseUrlWaitsForTheFixedConfigInsteadOfFailingJobs) {
  daemon_settings wrong{.accounts_toml = account_toml("default", daemon_key_env, "V0", "@ORIGIN@/api/v4")};
  daemon_harness h(wrong);
  ASSERT_EQ(h.import_jobs(daemon_harness::jobs(20, "cogvideox-flash", "typo")).exit_code, 0);
  const pid_t pid = h.start();
  std::this_thread::sleep_for(4s);
  EXPECT_EQ(count(h, "state = 'failed'"), 0) << summary(h);
  EXPECT_EQ(count(h, "state = 'queued' AND attempts = 0"), 20) << summary(h);
  EXPECT_EQ(h.scalar("SELECT count(*) FROM account_pauses WHERE paused_by = 'breaker' AND reason LIKE '%base_url%'"), 1)
      << h.log_text().substr(0, 3000);
  // The operator fixes the typo and reloads; nobody resumes the account by hand.
  h.write_config(daemon_settings{});
  h.signal(pid, SIGHUP);
  const auto code = h.wait(pid, 120s);
  ASSERT_TRUE(code.has_value()) << summary(h);
  EXPECT_EQ(*code, 0) << h.log_text().substr(0, 3000);
  EXPECT_EQ(count(h, "state = 'succeeded' AND attempts = 1"), 20) << summary(h);
}

TEST(DaemonAccounts, ExitWhenIdleWithABadKeyExitsFourAndSaysWhy) {
  daemon_harness h({.key = "sim-key-wrong-9876543210abcdef"});
  ASSERT_EQ(h.import_jobs(daemon_harness::jobs(3, "cogvideox-flash", "badkey")).exit_code, 0);
  const auto code = h.wait(h.start(), 60s);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 4) << h.log_text().substr(0, 3000);
  const auto log = h.log_text();
  EXPECT_NE(log.find("cannot move without an operator"), std::string::npos) << log.substr(0, 3000);
  EXPECT_NE(log.find("account default is paused"), std::string::npos) << log.substr(0, 3000);
  EXPECT_EQ(log.find("sim-key-wrong-9876543210abcdef"), std::string::npos);
  EXPECT_EQ(count(h, "state = 'queued'"), 3);
}

TEST(DaemonAccounts, EnqueueAndImportRefuseAnAccountTheConfigDoesNotHave) {
  daemon_harness h({.accounts_toml = account_toml("main", daemon_key_env, "V0")});
  const auto enqueue = h.vidq("enqueue -m cogvideox-flash -p 'a teapot' -a other");
  EXPECT_EQ(enqueue.exit_code, 2) << enqueue.out;
  EXPECT_NE(enqueue.out.find("no account named 'other'"), std::string::npos) << enqueue.out;
  EXPECT_EQ(h.vidq("enqueue -m cogvideox-flash -p 'a teapot' -a main").exit_code, 0);
  EXPECT_EQ(h.vidq("enqueue -m cogvideox-flash -p 'a teapot'").exit_code, 0) << "the pool";
  EXPECT_EQ(h.vidq("enqueue -m cogvideox-flash -p 'a teapot' -a '*'").exit_code, 0);
  const auto import = h.import_jobs({R"({"model":"cogvideox-flash","prompt":"x","account":"other"})",
                                     R"({"model":"cogvideox-flash","prompt":"y","account":"main"})"});
  EXPECT_EQ(import.exit_code, 3) << import.out;
  EXPECT_NE(import.out.find(":1: account: no account named 'other'"), std::string::npos) << import.out;
  EXPECT_EQ(h.vidq("import -a other /dev/null").exit_code, 2);
}

}  // namespace
}  // namespace vidq::test
