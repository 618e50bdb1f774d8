// Issue 9 item 3 acceptance: completion notices from the real daemon to a loopback
// receiver. The batch_finished webhook arrives signed, once per finished batch, after a
// receiver that answered 500 twice (third try), and across a kill -9 between the commit of
// the state change and the delivery. A batch whose last job fails at claim also gets its
// manifest and its notice, and a command target gets the event on stdin.
#include "support/daemon_harness.hpp"
#include "support/webhook_receiver.hpp"
#include "vidq/notify/signature.hpp"

#include <boost/json/parse.hpp>

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <set>

namespace vidq::test {
namespace {

using namespace std::chrono_literals;
using net_test::received_request;
using net_test::scripted_reply;

constexpr const char* secret = "whsec-e2e-0123456789";

daemon_settings notifying(const std::string& url, const std::string& secret_path, const std::string& events) {
  daemon_settings s;
  s.output_extra = "path_template = \"{batch}/{key}\"\nwrite_manifest = true\n";
  s.extra_toml = "[[notify]]\nname = \"hook\"\nurl = \"" + url + "\"\nevents = [" + events + "]\nsecret_file = \"" +
                 secret_path + "\"\ntimeout_seconds = 5\n";
  return s;
}

std::string event_of(const received_request& r) {
  auto it = r.headers.find("x-vidq-event");
  return it == r.headers.end() ? "" : it->second;
}

// What a receiver checks: the signature over "<timestamp>.<body>" with the shared secret.
bool signature_verifies(const received_request& r) {
  auto ts = r.headers.find("x-vidq-timestamp");
  auto sig = r.headers.find("x-vidq-signature");
  if (ts == r.headers.end() || sig == r.headers.end()) return false;
  return sig->second == "sha256=" + notify::hmac_sha256_hex(secret, ts->second + "." + r.body);
}

std::vector<received_request> of_event(const std::vector<received_request>& all, const std::string& event) {
  std::vector<received_request> out;
  for (const auto& r : all) {
    if (event_of(r) == event) out.push_back(r);
  }
  return out;
}

TEST(DaemonNotify, BatchFinishedArrivesSignedOnTheThirdTryAfterTwo500s) {
  int batch_requests = 0;
  webhook_receiver receiver([&](const received_request& r, std::size_t) {
    scripted_reply reply;
    if (event_of(r) == "batch_finished" && ++batch_requests <= 2) reply.status = 500;
    return reply;
  });
  daemon_harness h;
  write_file(h.dir() / "hook.secret", std::string(secret) + "\n");
  h.write_config(
      notifying(receiver.url(), (h.dir() / "hook.secret").string(), "\"batch_finished\", \"job_succeeded\""));
  ASSERT_EQ(h.import_jobs(daemon_harness::jobs(4, "cogvideox-3", "spring")).exit_code, 0);  // priced: spend > 0

  const pid_t pid = h.start();  // --exit-when-idle: it waits for the notices (retries within 30 s)
  const auto code = h.wait(pid, 120s);
  ASSERT_TRUE(code.has_value()) << h.log_text().substr(0, 4000);
  ASSERT_EQ(*code, 0) << h.log_text().substr(0, 4000);
  ASSERT_EQ(h.scalar("SELECT count(*) FROM jobs WHERE state = 'succeeded'"), 4);

  const auto all = receiver.received();
  const auto batch = of_event(all, "batch_finished");
  ASSERT_EQ(batch.size(), 3u) << "two 500s, then 200";
  for (const auto& r : batch) {
    EXPECT_TRUE(signature_verifies(r)) << r.body;
    EXPECT_EQ(r.headers.at("idempotency-key"), batch.front().headers.at("idempotency-key"));
    EXPECT_EQ(r.body, batch.front().body) << "every attempt sends the same bytes";
  }
  const auto body = boost::json::parse(batch.back().body).as_object();
  EXPECT_EQ(body.at("event").as_string(), "batch_finished");
  const auto& data = body.at("data").as_object();
  EXPECT_EQ(data.at("batch").as_string(), "spring");
  EXPECT_EQ(data.at("counts").at("succeeded").as_int64(), 4);
  EXPECT_EQ(data.at("counts").at("failed").as_int64(), 0);
  EXPECT_GT(data.at("spent_cny").as_double(), 0.0);
  EXPECT_DOUBLE_EQ(data.at("spent_cny").as_double(),
                   static_cast<double>(h.scalar("SELECT sum(cost) FROM jobs WHERE batch = 'spring'")) / 1000.0);
  const std::string manifest(data.at("manifest").as_string());
  EXPECT_EQ(std::filesystem::path(manifest), h.output_dir() / "spring" / "manifest.csv");
  EXPECT_TRUE(std::filesystem::is_regular_file(manifest)) << "the manifest exists when the notice arrives";

  // One notice per finished batch; its one delivery took three attempts.
  EXPECT_EQ(h.scalar("SELECT count(*) FROM notices WHERE event = 'batch_finished'"), 1);
  EXPECT_EQ(h.scalar("SELECT attempts FROM notice_deliveries d JOIN notices n ON n.id = d.notice_id "
                     "WHERE n.event = 'batch_finished' AND d.delivered_at IS NOT NULL"),
            3);
  // Every job_succeeded arrived once, each with its own key, all signed.
  const auto jobs = of_event(all, "job_succeeded");
  std::set<std::string> keys;
  for (const auto& r : jobs) {
    EXPECT_TRUE(signature_verifies(r));
    keys.insert(r.headers.at("idempotency-key"));
  }
  EXPECT_EQ(jobs.size(), 4u);
  EXPECT_EQ(keys.size(), 4u);
  EXPECT_EQ(h.scalar("SELECT count(*) FROM notice_status WHERE status = 'delivered'"), 5);
  auto listed = h.vidq("notify list");
  EXPECT_EQ(listed.exit_code, 0);
  EXPECT_NE(listed.out.find("batch_finished"), std::string::npos) << listed.out;
  EXPECT_EQ(listed.out.find(secret), std::string::npos);
  EXPECT_EQ(h.log_text().find(secret), std::string::npos) << "the secret never reaches a log";
}

TEST(DaemonNotify, AKillNineBetweenCommitAndDeliveryStillDeliversAfterTheRestart) {
  // The first batch_finished request is never answered: the daemon is killed while it waits.
  webhook_receiver receiver([](const received_request& r, std::size_t) {
    scripted_reply reply;
    if (event_of(r) == "batch_finished") reply.action = scripted_reply::kind::stall;
    return reply;
  });
  daemon_harness h;
  write_file(h.dir() / "hook.secret", std::string(secret) + "\n");
  h.write_config(notifying(receiver.url(), (h.dir() / "hook.secret").string(), "\"batch_finished\""));
  ASSERT_EQ(h.import_jobs(daemon_harness::jobs(3, "cogvideox-flash", "crash")).exit_code, 0);

  pid_t pid = h.start("");
  ASSERT_TRUE(wait_for([&] { return of_event(receiver.received(), "batch_finished").size() == 1; }, 120s))
      << h.log_text().substr(0, 4000);
  h.signal(pid, SIGKILL);
  ASSERT_TRUE(h.wait(pid, 30s).has_value());
  // Committed: the notice and its delivery, not delivered, no attempt recorded.
  ASSERT_EQ(h.scalar("SELECT count(*) FROM notices WHERE event = 'batch_finished'"), 1);
  EXPECT_EQ(h.scalar("SELECT count(*) FROM notice_deliveries WHERE delivered_at IS NULL AND attempts = 0"), 1);

  receiver.set_policy({});  // answers 200 from now on
  pid = h.start();
  const auto code = h.wait(pid, 120s);
  ASSERT_TRUE(code.has_value()) << h.log_text().substr(0, 4000);
  ASSERT_EQ(*code, 0) << h.log_text().substr(0, 4000);

  const auto batch = of_event(receiver.received(), "batch_finished");
  // Sent twice, by two processes: the one cut by kill -9 and the restart's. Same key, same
  // bytes: a receiver that deduplicates on Idempotency-Key counts one notice.
  ASSERT_EQ(batch.size(), 2u);
  EXPECT_EQ(batch[0].headers.at("idempotency-key"), batch[1].headers.at("idempotency-key"));
  EXPECT_EQ(batch[0].body, batch[1].body);
  EXPECT_TRUE(signature_verifies(batch[1]));
  EXPECT_EQ(h.scalar("SELECT count(*) FROM notices WHERE event = 'batch_finished'"), 1);
  EXPECT_EQ(h.scalar("SELECT count(*) FROM notice_deliveries WHERE delivered_at IS NOT NULL AND attempts = 1"), 1);
  EXPECT_EQ(h.text("PRAGMA integrity_check"), "ok");
}

TEST(DaemonNotify, ABatchEndingInClaimFailuresGetsItsManifestAndACommandNotice) {
  daemon_harness h;
  const auto got = h.dir() / "notice.json";
  daemon_settings s;
  s.output_extra = "path_template = \"{batch}/{key}\"\nwrite_manifest = true\n";
  s.extra_toml = "[[notify]]\nname = \"script\"\ncommand = [\"/bin/sh\", \"-c\", \"cat > '" + got.string() +
                 "'; test \\\"$VIDQ_EVENT\\\" = batch_finished\"]\nevents = [\"batch_finished\"]\n";
  h.write_config(s);
  // Rows (raw SQL, as cron would write them) for an account the config lacks: every job
  // fails unknown_account at claim and never reaches the download path.
  ASSERT_EQ(h.vidq("migrate").exit_code, 0);
  const auto insert = run_command("sqlite3 " + h.db_path() +
                                  " \"INSERT INTO jobs(key, batch, account, model, prompt) VALUES "
                                  "('g1', 'ghosts', 'ghost', 'cogvideox-flash', 'x'), "
                                  "('g2', 'ghosts', 'ghost', 'cogvideox-flash', 'y')\"");
  ASSERT_EQ(insert.exit_code, 0) << insert.out;
  const pid_t pid = h.start();
  const auto code = h.wait(pid, 60s);
  ASSERT_TRUE(code.has_value()) << h.log_text().substr(0, 4000);
  ASSERT_EQ(*code, 0) << h.log_text().substr(0, 4000);
  ASSERT_EQ(h.scalar("SELECT count(*) FROM jobs WHERE state = 'failed' AND error_code = 'unknown_account'"), 2);
  const auto manifest = h.output_dir() / "ghosts" / "manifest.csv";
  ASSERT_TRUE(std::filesystem::is_regular_file(manifest)) << h.log_text().substr(0, 4000);
  EXPECT_NE(read_file(manifest).find("unknown_account"), std::string::npos);
  ASSERT_TRUE(std::filesystem::is_regular_file(got));
  const auto body = boost::json::parse(read_file(got)).as_object();
  EXPECT_EQ(body.at("data").at("counts").at("failed").as_int64(), 2);
  EXPECT_EQ(body.at("data").at("manifest").as_string(), manifest.string());
  EXPECT_EQ(h.scalar("SELECT count(*) FROM notice_deliveries WHERE target = 'script' AND delivered_at IS NOT NULL"), 1);
}

}  // namespace
}  // namespace vidq::test

namespace vidq::test {
namespace {

TEST(DaemonNotify, ASighupAddsATargetAndABadSecretRefusesTheReload) {
  webhook_receiver receiver;
  daemon_harness h;
  const pid_t pid = h.start("");
  ASSERT_TRUE(wait_for([&] { return h.log_text().find("daemon_ready") != std::string::npos; }, 30s));
  daemon_settings bad;
  bad.extra_toml = "[[notify]]\nurl = \"" + receiver.url() +
                   "\"\nevents = [\"batch_finished\"]\nsecret_env = \"VIDQ_NOT_SET_ANYWHERE\"\n";
  h.write_config(bad);
  h.signal(pid, SIGHUP);
  ASSERT_TRUE(wait_for([&] { return h.log_text().find("config_reload_failed") != std::string::npos; }, 30s));
  EXPECT_NE(h.log_text().find("notify[0] 'notify-1' secret"), std::string::npos) << h.log_text().substr(0, 4000);

  daemon_settings good;
  good.extra_toml = "[[notify]]\nurl = \"" + receiver.url() + "\"\nevents = [\"batch_finished\"]\n";
  h.write_config(good);
  h.signal(pid, SIGHUP);
  ASSERT_TRUE(wait_for([&] { return h.log_text().find("config_reloaded") != std::string::npos; }, 30s));
  ASSERT_EQ(h.import_jobs(daemon_harness::jobs(2, "cogvideox-flash", "after-reload")).exit_code, 0);
  ASSERT_TRUE(wait_for([&] { return of_event(receiver.received(), "batch_finished").size() == 1; }, 120s))
      << h.log_text().substr(0, 4000);
  h.signal(pid, SIGTERM);
  const auto code = h.wait(pid, 60s);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0);
  EXPECT_EQ(of_event(receiver.received(), "batch_finished").size(), 1u);
}

}  // namespace
}  // namespace vidq::test
