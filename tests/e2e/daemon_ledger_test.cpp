// Issue 11 acceptance, items 1 and 3, against the real daemon and the simulator: spend is
// what the provider billed (its stats: every created task at its price), per day and per
// batch, through task FAILs plus `vidq retry`, download failures plus `vidq retry
// --download` or the daemon's own re-download, and an ambiguous submit; a daily budget
// stops admission at the right task; a re-download never creates a task.
#include "support/daemon_harness.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <cstdio>
#include <map>
#include <thread>

namespace vidq::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

constexpr const char* model = "cogvideox-3";  // 1.0 CNY for the daemon and the simulator alike

// Resets every fault, then applies `patch`, through the simulator's control surface.
void set_faults(daemon_harness& h, json::object patch) {
  patch["preset"] = "none";
  const auto r = h.sim().client().post("/__sim/faults", "", patch);
  ASSERT_EQ(r.status, 200) << r.body;
}

std::string import_output(daemon_harness& h, int n, const std::string& batch) {
  const auto r = h.import_jobs(daemon_harness::jobs(n, model, batch));
  return r.exit_code == 0 ? "" : r.out;
}

// Runs the daemon until idle and returns its exit code (-1: it did not finish).
int run_until_idle(daemon_harness& h) {
  const pid_t pid = h.start();
  const auto code = h.wait(pid, 180s);
  EXPECT_TRUE(code.has_value()) << "the daemon did not finish\n" << h.log_text().substr(0, 3000);
  return code.value_or(-1);
}

std::int64_t billed_total(daemon_harness& h) {
  return h.sim().sim().stats(false).at("billed").as_object().at("milli_cny").to_number<std::int64_t>();
}
std::int64_t tasks_created(daemon_harness& h) {
  return h.sim().sim().stats(false).at("tasks_created").to_number<std::int64_t>();
}

// "day=milli ..." from the simulator's per-day bill of key v0, and from the ledger's view.
std::string billed_by_day(daemon_harness& h) {
  const auto billed = h.sim().sim().stats(false).at("billed").as_object();
  std::string out;
  for (const auto& [day, x] : billed.at("by_key").as_object().at("v0").as_object().at("by_day").as_object()) {
    out += std::string(day) + "=" + std::to_string(x.as_object().at("milli_cny").to_number<std::int64_t>()) + " ";
  }
  return out;
}
std::string ledger_by_day(daemon_harness& h) {
  return h.text(
             "SELECT group_concat(s, ' ') FROM (SELECT day || '=' || CAST(round(sum(spent_cny) * 1000) AS INTEGER) "
             "AS s FROM spend_by_day GROUP BY day ORDER BY day)") +
         " ";
}

// The simulator's bill per batch: each task's request_id is mapped to its job by the
// job_events history (every submit attempt's request_id is written there), then to the
// job's batch. Independent of the ledger it checks.
std::map<std::string, std::int64_t> billed_by_batch(daemon_harness& h) {
  std::map<std::string, std::int64_t> out;
  const auto stats = h.sim().sim().stats(true);
  for (const auto& v : stats.at("tasks").as_array()) {
    const auto& t = v.as_object();
    const std::string rid(t.at("request_id").as_string());
    const std::string batch = h.text(
        "SELECT coalesce((SELECT j.batch FROM job_events e JOIN jobs j ON j.id = e.job_id "
        "WHERE e.to_state = 'submitting' AND e.detail LIKE '%request " + rid + "' LIMIT 1), '?')");
    out[batch] += t.at("price_milli_cny").to_number<std::int64_t>();
  }
  return out;
}
std::int64_t ledger_of_batch(daemon_harness& h, const std::string& batch) {
  return h.scalar("SELECT CAST(round(spent_cny * 1000) AS INTEGER) FROM batch_progress WHERE batch = '" + batch + "'");
}

TEST(DaemonLedger, SpendEqualsWhatTheProviderBilledThroughRetriesRedownloadsAndAnAmbiguousSubmit) {
  daemon_harness h({.retry_extra = "max_attempts = 2\nmax_refetches = 0\n"});

  // 1. Every task FAILs at the provider (billed, not refunded); the operator retries them.
  set_faults(h, {{"task_fail", 1.0}});
  ASSERT_EQ(import_output(h, 3, "fails"), "");
  EXPECT_EQ(run_until_idle(h), 0);
  ASSERT_EQ(h.scalar("SELECT count(*) FROM jobs WHERE error_code = 'task_failed'"), 3);
  set_faults(h, {});
  ASSERT_EQ(h.vidq("retry --code task_failed").exit_code, 0);
  EXPECT_EQ(run_until_idle(h), 0);
  EXPECT_EQ(h.scalar("SELECT count(*) FROM jobs WHERE batch = 'fails' AND state = 'succeeded'"), 3);

  // 2. Every download is cut short; the daemon may not re-download by itself here
  //    (max_refetches = 0), so the jobs fail, and `retry --download` fetches them again.
  set_faults(h, {{"download_truncate", 1.0}});
  ASSERT_EQ(import_output(h, 2, "downloads"), "");
  EXPECT_EQ(run_until_idle(h), 0);
  ASSERT_EQ(h.scalar("SELECT count(*) FROM jobs WHERE batch = 'downloads' AND error_code = 'download_truncated'"), 2);
  set_faults(h, {});
  const auto plain = h.vidq("retry --batch downloads");
  EXPECT_EQ(plain.exit_code, 5) << "a paid result is not paid for again: " << plain.out;
  const std::int64_t tasks_before = tasks_created(h);
  const auto again = h.vidq("retry --download --batch downloads");
  ASSERT_EQ(again.exit_code, 0) << again.out;
  EXPECT_EQ(run_until_idle(h), 0);
  EXPECT_EQ(h.scalar("SELECT count(*) FROM jobs WHERE batch = 'downloads' AND state = 'succeeded' AND refetches = 1"),
            2);
  EXPECT_EQ(tasks_created(h), tasks_before) << "a re-download creates no task";

  // 3. The provider creates the task but the connection closes before the answer: the
  //    job fails submit_ambiguous, and the operator resubmits it.
  set_faults(h, {{"submit_close_after_create", 1.0}});
  ASSERT_EQ(import_output(h, 1, "ambiguous"), "");
  EXPECT_EQ(run_until_idle(h), 0);
  ASSERT_EQ(h.scalar("SELECT count(*) FROM jobs WHERE error_code = 'submit_ambiguous'"), 1);
  set_faults(h, {});
  ASSERT_EQ(h.vidq("retry --code submit_ambiguous").exit_code, 0);
  EXPECT_EQ(run_until_idle(h), 0);

  // The bill: 3 FAILed + 3 retried, 2 downloads (each once), 1 ambiguous + 1 resubmit.
  EXPECT_EQ(tasks_created(h), 10);
  EXPECT_EQ(billed_total(h), 10'000);
  EXPECT_EQ(h.scalar("SELECT sum(price - refunded) FROM charges"), billed_total(h));
  EXPECT_EQ(h.scalar("SELECT CAST(round(sum(spent_cny) * 1000) AS INTEGER) FROM spend_by_day"), billed_total(h));
  EXPECT_EQ(ledger_by_day(h), billed_by_day(h));
  const auto by_batch = billed_by_batch(h);
  EXPECT_EQ(by_batch.count("?"), 0u) << "every billed task belongs to a job";
  for (const char* batch : {"fails", "downloads", "ambiguous"}) {
    EXPECT_EQ(ledger_of_batch(h, batch), by_batch.at(batch)) << batch;
  }
  // The figures for the closing note.
  std::printf("billed: %lld tasks, %lld milli-CNY; ledger: %lld milli-CNY; by day: sim %s/ ledger %s\n",
              static_cast<long long>(tasks_created(h)), static_cast<long long>(billed_total(h)),
              static_cast<long long>(h.scalar("SELECT sum(price - refunded) FROM charges")), billed_by_day(h).c_str(),
              ledger_by_day(h).c_str());
  std::printf("sum(jobs.cost), what the views summed before the ledger: %lld milli-CNY\n",
              static_cast<long long>(h.scalar("SELECT sum(cost) FROM jobs")));
  for (const auto& [batch, milli] : by_batch) {
    std::printf("batch %s: sim %lld, batch_progress %lld milli-CNY\n", batch.c_str(), static_cast<long long>(milli),
                static_cast<long long>(ledger_of_batch(h, batch)));
  }
  EXPECT_EQ(by_batch.at("fails"), 6'000);
  EXPECT_EQ(by_batch.at("downloads"), 2'000);
  EXPECT_EQ(by_batch.at("ambiguous"), 2'000);
  // `vidq status --json` and the manifest read the same ledger.
  const auto status = json::parse(h.vidq("status --json").out);
  std::int64_t status_total = 0;
  for (const auto& b : status.as_array()) {
    status_total += std::llround(b.at("spent_cny").to_number<double>() * 1000);
  }
  EXPECT_EQ(status_total, billed_total(h));
  EXPECT_EQ(h.scalar("SELECT count(*) FROM charges WHERE origin = 'ambiguous' AND task_id IS NULL"), 1);
  // `vidq show` of a retried job lists both paid attempts.
  const auto shown = json::parse(h.vidq("show --json fails-0").out).as_object();
  EXPECT_EQ(shown.at("charges").as_array().size(), 2u);
  EXPECT_EQ(shown.at("charged_cny").to_number<double>(), 2.0);
  EXPECT_EQ(h.verify_files(), "");
}

TEST(DaemonLedger, TheDaemonReDownloadsAFailedDownloadFromTheStoredTaskByItself) {
  daemon_harness h({.retry_extra = "max_attempts = 2\nmax_refetches = 2\n"});
  set_faults(h, {{"download_truncate", 1.0}});
  ASSERT_EQ(import_output(h, 2, "local"), "");
  const pid_t pid = h.start();
  // The file host heals once both jobs have given up a first time: the daemon's re-poll and
  // second download must then succeed, without a new submit.
  ASSERT_TRUE(wait_for(
      [&] {
        return h.scalar("SELECT count(DISTINCT job_id) FROM job_events WHERE from_state = 'downloading' AND "
                        "to_state = 'processing'") == 2;
      },
      120s))
      << h.log_text().substr(0, 3000);
  set_faults(h, {});
  const auto code = h.wait(pid, 180s);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0) << h.log_text().substr(0, 3000);
  EXPECT_EQ(h.scalar("SELECT count(*) FROM jobs WHERE state = 'succeeded' AND refetches >= 1"), 2);
  EXPECT_EQ(tasks_created(h), 2) << "re-downloads create no task";
  EXPECT_EQ(h.scalar("SELECT count(*) FROM job_events WHERE from_state = 'downloading' AND to_state = 'processing'"),
            h.scalar("SELECT sum(refetches) FROM jobs"));
  EXPECT_EQ(h.scalar("SELECT sum(price) FROM charges"), billed_total(h));
  EXPECT_EQ(h.verify_files(), "");
}

TEST(DaemonLedger, ARePollOfATaskTheProviderNoLongerHasFailsUrlExpired) {
  daemon_harness h({.retry_extra = "max_attempts = 2\nmax_refetches = 0\n"});
  set_faults(h, {{"download_truncate", 1.0}});
  ASSERT_EQ(import_output(h, 1, "gone"), "");
  EXPECT_EQ(run_until_idle(h), 0);
  ASSERT_EQ(h.scalar("SELECT count(*) FROM jobs WHERE error_code = 'download_truncated'"), 1);
  set_faults(h, {});
  // What an expired or purged task looks like to a poll: an id the provider does not know.
  const auto forget = test::run_command("sqlite3 '" + h.db_path() + "' \"UPDATE jobs SET task_id = '999' || task_id\"");
  ASSERT_EQ(forget.exit_code, 0) << forget.out;
  ASSERT_EQ(h.vidq("retry --download 1").exit_code, 0);
  EXPECT_EQ(run_until_idle(h), 0);
  EXPECT_EQ(h.text("SELECT state || ' ' || error_code FROM jobs"), "failed url_expired");
  EXPECT_NE(h.text("SELECT error_message FROM jobs").find("--resubmit"), std::string::npos);
  EXPECT_EQ(tasks_created(h), 1);
}

TEST(DaemonLedger, RestartRecoveryChargesTheAmbiguousSubmitItFinds) {
  daemon_harness h;
  ASSERT_EQ(import_output(h, 1, "crash"), "");
  // What kill -9 between the write-ahead commit and the POST's answer leaves behind.
  const auto crashed = test::run_command("sqlite3 '" + h.db_path() +
                                         "' \"UPDATE jobs SET state = 'submitting', attempts = 1, "
                                         "request_id = 'vq1-1-crashed'\"");
  ASSERT_EQ(crashed.exit_code, 0) << crashed.out;
  EXPECT_EQ(run_until_idle(h), 0);
  EXPECT_EQ(h.text("SELECT state || ' ' || error_code FROM jobs"), "failed submit_ambiguous");
  EXPECT_EQ(h.text("SELECT origin || ' ' || price || ' ' || coalesce(task_id, 'no task') FROM charges "
                   "WHERE request_id = 'vq1-1-crashed'"),
            "ambiguous 1000 no task")
      << "the provider may have billed it: counted until an operator settles it";
  ASSERT_EQ(h.vidq("retry 1").exit_code, 0) << "no task succeeded: a plain retry resubmits";
  EXPECT_EQ(run_until_idle(h), 0);
  EXPECT_EQ(h.text("SELECT state FROM jobs"), "succeeded");
  EXPECT_EQ(h.scalar("SELECT count(*) FROM charges"), 2);
  EXPECT_EQ(tasks_created(h), 1) << "this simulator never saw the crashed POST";
}

TEST(DaemonLedger, ADailyBudgetCountsRetriedAttemptsAndStopsAdmissionAtTheRightTask) {
  // 3.0 CNY a day. Two jobs FAIL at the provider (2.0 billed); both are retried: only one
  // more 1.0 task fits, the other job waits queued with the budget named.
  daemon_harness h({.extra_toml = "[budget]\ndaily_limit_cny = 3.0\n"});
  set_faults(h, {{"task_fail", 1.0}});
  ASSERT_EQ(import_output(h, 2, "budget"), "");
  EXPECT_EQ(run_until_idle(h), 0);
  ASSERT_EQ(h.scalar("SELECT count(*) FROM jobs WHERE error_code = 'task_failed'"), 2);
  set_faults(h, {});
  ASSERT_EQ(h.vidq("retry --code task_failed").exit_code, 0);
  EXPECT_EQ(run_until_idle(h), 4) << "work left that only the budget holds back";
  EXPECT_EQ(tasks_created(h), 3) << "the third task is the last one the budget allows";
  EXPECT_EQ(h.scalar("SELECT count(*) FROM jobs WHERE state = 'succeeded'"), 1);
  EXPECT_EQ(h.scalar("SELECT count(*) FROM jobs WHERE state = 'queued'"), 1);
  EXPECT_EQ(h.scalar("SELECT sum(price) FROM charges"), 3'000);
  EXPECT_EQ(billed_total(h), 3'000);
  std::printf("budget 3.0 CNY: %lld tasks created, %lld milli-CNY in the ledger, %lld job(s) left queued\n",
              static_cast<long long>(tasks_created(h)), static_cast<long long>(h.scalar("SELECT sum(price) FROM charges")),
              static_cast<long long>(h.scalar("SELECT count(*) FROM jobs WHERE state = 'queued'")));
  const auto status = h.vidq("status");
  EXPECT_NE(status.out.find("daily budget"), std::string::npos) << status.out;
}

}  // namespace
}  // namespace vidq::test
