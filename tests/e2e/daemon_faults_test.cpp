// Each fault the simulator can inject, in turn, against the real daemon (issue 4
// acceptance): the daemon keeps running and every job ends in the right state with the
// right error_code. Small batches at a small time scale keep each case to a few seconds.
#include "support/daemon_harness.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <thread>

namespace vidq::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

sim::sim_config with_faults(const std::function<void(sim::fault_rates&)>& set) {
  auto cfg = sim_fixture::quiet_config();
  set(cfg.faults);
  return cfg;
}

// Imports n flash jobs, runs the daemon until idle (exit 0 expected), returns a summary
// "state:error_code=count ..." of the end states for the assertions' messages.
// `exit_code` 4: the run ends with work that waits for an operator (a paused account).
std::string run_batch(daemon_harness& h, int n, const std::string& model = "cogvideox-flash", int exit_code = 0) {
  EXPECT_EQ(h.import_jobs(daemon_harness::jobs(n, model, "faults")).exit_code, 0);
  const pid_t pid = h.start();
  const auto code = h.wait(pid, 120s);
  EXPECT_TRUE(code.has_value()) << "the daemon did not finish";
  if (code) {
    EXPECT_EQ(*code, exit_code) << "the daemon must survive every fault\n" << h.log_text().substr(0, 3000);
  }
  return h.text(
      "SELECT group_concat(s, ' ') FROM (SELECT state || ':' || coalesce(error_code, '-') || '=' || count(*) AS s "
      "FROM jobs GROUP BY state, error_code)");
}

std::int64_t count(const daemon_harness& h, const std::string& where) {
  return h.scalar("SELECT count(*) FROM jobs WHERE " + where);
}

std::int64_t injected(daemon_harness& h, const std::string& fault) {
  const auto stats = h.sim().sim().stats(false);
  const auto& f = stats.at("faults_injected").as_object();
  return f.contains(fault) ? f.at(fault).to_number<std::int64_t>() : 0;
}

TEST(DaemonFaults, Submit5xxIsRetriedUntilItWorks) {
  daemon_harness h({.retry_extra = "max_attempts = 12\n"}, with_faults([](auto& f) { f.submit_5xx = 0.4; }));
  const auto summary = run_batch(h, 12);
  EXPECT_EQ(count(h, "state = 'succeeded'"), 12) << summary;
  EXPECT_GT(injected(h, "submit_5xx"), 0);
  EXPECT_EQ(h.verify_files(), "");
}

TEST(DaemonFaults, Submit5xxEveryTimeFailsAfterMaxAttemptsWithTheProviderCode) {
  daemon_harness h({.retry_extra = "max_attempts = 2\n"}, with_faults([](auto& f) { f.submit_5xx = 1.0; }));
  const auto summary = run_batch(h, 4);
  EXPECT_EQ(count(h, "state = 'failed' AND error_code = '1234' AND attempts = 2"), 4) << summary;
}

TEST(DaemonFaults, Overload1305BacksOffAndSucceeds) {
  daemon_harness h({.retry_extra = "max_attempts = 12\n"}, with_faults([](auto& f) { f.submit_1305 = 0.4; }));
  const auto summary = run_batch(h, 10);
  EXPECT_EQ(count(h, "state = 'succeeded'"), 10) << summary;
  EXPECT_GT(injected(h, "submit_1305"), 0);
}

TEST(DaemonFaults, ForeignClientHoldingSlotsGives1302AndNothingIsLost) {
  daemon_harness h;
  auto admin = h.sim().client();
  const auto held = admin.post("/__sim/hold", "",
                               json::object{{"key", "v0"}, {"model", "cogvideox-flash"}, {"count", 3}, {"ms", 400'000}});
  ASSERT_EQ(held.status, 200) << held.body;
  std::thread releaser([&] {
    std::this_thread::sleep_for(3s);
    admin.post("/__sim/release", "", json::object{{"key", "v0"}});
  });
  const auto summary = run_batch(h, 15);
  releaser.join();
  EXPECT_EQ(count(h, "state = 'succeeded'"), 15) << summary;
  EXPECT_EQ(count(h, "attempts > 1"), 0) << "a 1302 must not use up an attempt";
  const auto stats = h.sim().sim().stats(false);
  EXPECT_GT(stats.at("cap_rejections").to_number<std::int64_t>(), 0) << "the foreign hold should have caused 1302s";
  EXPECT_NE(h.log_text().find(R"("code":"1302")"), std::string::npos);
}

TEST(DaemonFaults, Poll5xxAndEarly404AreRetried) {
  daemon_harness h(daemon_settings{}, with_faults([](auto& f) {
                     f.poll_5xx = 0.4;
                     f.poll_404_early = 1.0;
                     f.poll_404_window_ms = 1500;
                   }));
  const auto summary = run_batch(h, 10);
  EXPECT_EQ(count(h, "state = 'succeeded'"), 10) << summary;
  EXPECT_GT(injected(h, "poll_5xx"), 0);
}

TEST(DaemonFaults, SlowRepliesOnlySlowThingsDown) {
  daemon_harness h(daemon_settings{}, with_faults([](auto& f) {
                     f.slow_reply = 0.3;
                     f.slow_reply_ms = 800;
                   }));
  const auto summary = run_batch(h, 10);
  EXPECT_EQ(count(h, "state = 'succeeded'"), 10) << summary;
}

TEST(DaemonFaults, ResetsEndAsSuccessOrAReportedAmbiguousSubmit) {
  daemon_harness h(daemon_settings{}, with_faults([](auto& f) { f.reset = 0.25; }));
  const auto summary = run_batch(h, 16);
  EXPECT_EQ(count(h, "state = 'succeeded'") + count(h, "state = 'failed' AND error_code = 'submit_ambiguous'"), 16)
      << summary;
  EXPECT_EQ(count(h, "state = 'failed' AND error_code = 'submit_ambiguous' AND error_message LIKE '%request_id%'"),
            count(h, "state = 'failed'"))
      << "an ambiguous failure tells the operator what to look for";
  EXPECT_EQ(h.verify_files(), "");
}

TEST(DaemonFaults, ResetsWithTheResubmitPolicyAllSucceedWithTheSameRequestId) {
  daemon_harness h({.retry_extra = "max_attempts = 12\non_ambiguous_submit = \"resubmit\"\n"},
                   with_faults([](auto& f) { f.reset = 0.25; }));
  const auto summary = run_batch(h, 12);
  EXPECT_EQ(count(h, "state = 'succeeded'"), 12) << summary;
}

TEST(DaemonFaults, TruncatedDownloadsAreRetriedAndNeverPublished) {
  daemon_harness h({.retry_extra = "max_attempts = 12\n"}, with_faults([](auto& f) { f.download_truncate = 0.4; }));
  const auto summary = run_batch(h, 10);
  EXPECT_EQ(count(h, "state = 'succeeded'"), 10) << summary;
  EXPECT_GT(injected(h, "download_truncate"), 0);
  EXPECT_EQ(h.verify_files(), "");
}

TEST(DaemonFaults, MalformedJsonAndWrongContentTypeNeverCrashTheDaemon) {
  daemon_harness h(daemon_settings{}, with_faults([](auto& f) {
                     f.malformed_json = 0.2;
                     f.wrong_content_type = 0.2;
                   }));
  const auto summary = run_batch(h, 16);
  EXPECT_EQ(count(h, "state = 'succeeded'") + count(h, "state = 'failed' AND error_code = 'submit_ambiguous'"), 16)
      << summary;
  EXPECT_EQ(h.verify_files(), "");
}

TEST(DaemonFaults, ProviderFailFailsTheJobWithTheProviderReason) {
  daemon_harness h(daemon_settings{}, with_faults([](auto& f) { f.task_fail = 1.0; }));
  const auto summary = run_batch(h, 6);
  EXPECT_EQ(count(h, "state = 'failed' AND error_code IS NOT NULL AND error_message <> ''"), 6) << summary;
  EXPECT_EQ(count(h, "error_code IN ('submit_ambiguous', 'poll_deadline')"), 0) << summary;
}

TEST(DaemonFaults, AStuckTaskFailsAtItsDeadline) {
  // deadline = max(deadline_min, factor × expected median): 2 s here.
  daemon_harness h({.polling_extra = "deadline_min_seconds = 2.0\ndeadline_factor = 1.0\n"},
                   with_faults([](auto& f) { f.task_stuck = 1.0; }));
  const auto summary = run_batch(h, 4);
  EXPECT_EQ(count(h, "state = 'failed' AND error_code = 'poll_deadline'"), 4) << summary;
}

TEST(DaemonFaults, ExpiredUrlsArePolledOnceMoreThenFailUrlExpired) {
  auto cfg = sim_fixture::quiet_config();
  cfg.url_ttl_ms = 0;  // every result URL is already expired when the daemon fetches it
  daemon_harness h(daemon_settings{}, cfg);
  const auto summary = run_batch(h, 4);
  EXPECT_EQ(count(h, "state = 'failed' AND error_code = 'url_expired'"), 4) << summary;
  EXPECT_GE(h.sim().sim().stats(false).at("downloads").at("expired").to_number<std::int64_t>(), 8)
      << "two tries per job: the original URL and the refreshed one";
}

TEST(DaemonFaults, Arrears1113PausesTheAccountAndKeepsTheRestQueued) {
  daemon_harness h({.key = sim_poor});  // 2 CNY: two cogvideox-3 calls at 1 CNY
  const auto summary = run_batch(h, 6, "cogvideox-3", 4);
  EXPECT_EQ(count(h, "state = 'succeeded'"), 2) << summary;
  EXPECT_EQ(count(h, "state = 'queued'"), 4) << summary;
  EXPECT_GE(count(h, "state = 'queued' AND error_code = '1113'"), 1) << summary;
  EXPECT_EQ(h.scalar("SELECT count(*) FROM account_pauses WHERE account = 'default' AND paused_by = 'provider'"), 1);
  EXPECT_NE(h.log_text().find("account_paused"), std::string::npos);
}

TEST(DaemonFaults, ABadKeyPausesTheAccountAndNeverLeaksTheKey) {
  const std::string key = "sim-key-wrong-9876543210abcdef";
  daemon_harness h({.key = key});
  const auto summary = run_batch(h, 3, "cogvideox-flash", 4);
  EXPECT_EQ(count(h, "state = 'queued' AND error_code IN ('1000', '1001')"), 3) << summary;
  EXPECT_EQ(h.log_text().find(key), std::string::npos) << "the API key appeared in a log line";
  EXPECT_EQ(h.vidq("list").out.find(key), std::string::npos);
}

}  // namespace
}  // namespace vidq::test
