// Issue 14 end to end: real `vidq run` processes on one PostgreSQL database and one
// simulator. Jobs arrive as a cron job writes them (plain INSERTs); the daemons share the
// provider's caps, and when one dies (kill -9) or stalls past its lease (SIGSTOP), the
// others finish its tasks without submitting them again.
#include "support/daemon_harness.hpp"
#include "support/pg_test_db.hpp"
#include "support/webhook_receiver.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <csignal>
#include <cstdlib>
#include <algorithm>
#include <map>
#include <set>
#include <thread>

namespace vidq::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;


// `n` jobs of `model` in `batch`, as a cron job would write them: no account (any serves).
void insert_jobs(pg_test_db& db, int n, const std::string& model, const std::string& batch) {
  db.exec("INSERT INTO jobs(key, batch, model, prompt) SELECT '" + batch + "-' || i, '" + batch + "', '" + model +
          "', 'a red sneaker rotating on a white table, shot ' || i FROM generate_series(1, " + std::to_string(n) +
          ") AS i");
}

std::string summary(pg_test_db& db) {
  return db.text(
      "SELECT coalesce(string_agg(s, ' '), '') FROM (SELECT state || ':' || coalesce(error_code, '-') || '=' || "
      "count(*) AS s FROM jobs GROUP BY state, error_code) AS t");
}

// The rows a daemon (by pid: its node is host:pid:start) holds in flight, by id.
struct held_row {
  std::string state, task_id, request_id;
};
std::map<std::string, held_row> held_by(pg_test_db& db, pid_t pid) {
  std::map<std::string, held_row> out;
  for (auto& r : db.rows("SELECT id, state, coalesce(task_id, ''), coalesce(request_id, '') FROM jobs WHERE owner "
                         "LIKE '%:" + std::to_string(pid) + ":%' AND state IN ('submitting', 'processing', "
                         "'downloading')")) {
    out[r[0]] = {r[1], r[2], r[3]};
  }
  return out;
}

int count_state(const std::map<std::string, held_row>& rows, const std::string& state) {
  int n = 0;
  for (const auto& [id, r] : rows) n += r.state == state;
  return n;
}

// Waits until one of `pids` holds at least `processing` processing rows and is submitting
// nothing (what it is submitting at the signal would end submit_ambiguous, which the test
// allows for but does not want), then sends it `signo`. Which daemon holds rows is up to
// the race for free slots (usually the one that freed the slot refills it): the signal goes
// to whichever does. Returns its pid and what it held at that moment.
std::pair<pid_t, std::map<std::string, held_row>> signal_one_polling(daemon_harness& h, pg_test_db& db,
                                                                     const std::vector<pid_t>& pids, int processing,
                                                                     int signo, const std::function<bool()>& also = {}) {
  pid_t chosen = 0;
  const bool ready = wait_for(
      [&] {
        if (also && !also()) return false;
        for (pid_t pid : pids) {
          const auto rows = held_by(db, pid);
          if (count_state(rows, "processing") >= processing && count_state(rows, "submitting") == 0) {
            chosen = pid;
            return true;
          }
        }
        return false;
      },
      60s);
  EXPECT_TRUE(ready) << "no daemon held " << processing << " polled rows; " << summary(db);
  if (!ready) return {0, {}};
  h.signal(chosen, signo);
  // Frozen from here (dead or stopped) until its lease runs out: what it held at the signal.
  return {chosen, held_by(db, chosen)};
}

int occurrences(const std::string& text, const std::string& what) {
  int n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(DaemonOnPostgres, OneDaemonServesRowsACronJobInserted) {
  pg_test_db db;
  VIDQ_REQUIRE_PG(db);
  daemon_harness h({.postgres = &db});
  ASSERT_EQ(h.vidq("migrate").exit_code, 0);
  insert_jobs(db, 20, "cogvideox-flash", "cron");
  const auto code = h.wait(h.start(), 120s);
  ASSERT_TRUE(code.has_value()) << "still running; " << summary(db);
  EXPECT_EQ(*code, 0) << h.log_text().substr(0, 3000);
  EXPECT_EQ(db.scalar("SELECT count(*) FROM jobs WHERE state = 'succeeded' AND account = 'default'"), 20)
      << summary(db);
  EXPECT_EQ(db.scalar("SELECT count(*) FROM nodes"), 0) << "a clean stop retires the node's lease";
  EXPECT_EQ(h.verify_files(), "");
}

// The outbox is shared: whichever daemon finishes a batch's last job, the batch_finished
// notice is fanned out by one daemon and delivered by one, with its manifest written; the
// daemons wait for it before --exit-when-idle lets them go.
TEST(DaemonOnPostgres, TwoDaemonsSendEachBatchFinishedNoticeOnce) {
  pg_test_db db;
  VIDQ_REQUIRE_PG(db);
  webhook_receiver receiver;
  daemon_settings settings{.postgres = &db};
  settings.output_extra = "path_template = \"{batch}/{id}\"\nwrite_manifest = true\n";
  settings.extra_toml = "[[notify]]\nname = \"hook\"\nurl = \"" + receiver.url() +
                        "\"\nevents = [\"batch_finished\"]\ntimeout_seconds = 5\n";
  daemon_harness h(settings);
  db.migrate();
  insert_jobs(db, 12, "cogvideox-flash", "spring");
  insert_jobs(db, 12, "cogvideox-flash", "autumn");
  const pid_t first = h.start();
  const pid_t second = h.start();
  for (pid_t pid : {first, second}) {
    const auto code = h.wait(pid, 120s);
    ASSERT_TRUE(code.has_value()) << "still running; " << summary(db);
    EXPECT_EQ(*code, 0) << h.log_text().substr(0, 3000);
  }
  std::map<std::string, int> per_batch;
  for (const auto& r : receiver.received()) {
    const auto body = boost::json::parse(r.body).as_object();
    ++per_batch[std::string(body.at("data").as_object().at("batch").as_string())];
  }
  EXPECT_EQ(per_batch, (std::map<std::string, int>{{"autumn", 1}, {"spring", 1}}));
  EXPECT_EQ(db.scalar("SELECT count(*) FROM notice_deliveries WHERE delivered_at IS NOT NULL"), 2);
  EXPECT_EQ(db.scalar("SELECT count(*) FROM notices WHERE fanned_out = 0"), 0);
  EXPECT_TRUE(std::filesystem::exists(h.output_dir() / "spring" / "manifest.csv"));
  EXPECT_TRUE(std::filesystem::exists(h.output_dir() / "autumn" / "manifest.csv"));
}

TEST(DaemonOnPostgres, ThreeDaemonsShareTheCapsAndFinishADeadAndAStalledOnesTasks) {
  pg_test_db db;
  VIDQ_REQUIRE_PG(db);
  ::setenv(second_key_env, sim_v1, 1);
  sim::sim_config sim_cfg = sim_fixture::quiet_config();
  // Every reply takes a while, so that a daemon stopped at any moment has polls on the wire
  // whose answers it reads when it runs again: the late writes this test wants refused.
  sim_cfg.faults.slow_reply = 1.0;
  sim_cfg.faults.slow_reply_ms = 300;
  sim_cfg.durations["cogvideox-flash"] = {60, 90};
  sim_cfg.durations["cogvideox-2:speed"] = {60, 90};
  sim_cfg.durations["cogvideox-2:quality"] = {60, 90};
  constexpr double lease_seconds = 3;
  daemon_harness h({.time_scale = 0.02,
                    .accounts_toml =
                        account_toml("small", daemon_key_env, "V0") + account_toml("large", second_key_env, "V1"),
                    .postgres = &db,
                    .lease_seconds = lease_seconds},
                   sim_cfg);
  db.migrate();
  insert_jobs(db, 150, "cogvideox-flash", "flash");
  insert_jobs(db, 150, "cogvideox-2", "cogx2");

  const std::vector<pid_t> daemons{h.start(), h.start(), h.start()};

  // kill -9 one daemon while it polls tasks it submitted.
  const auto [killed, killed_held] = signal_one_polling(h, db, daemons, 2, SIGKILL);
  ASSERT_NE(killed, 0);
  ASSERT_EQ(h.wait(killed, 10s), 128 + SIGKILL);
  std::vector<pid_t> alive;
  for (pid_t pid : daemons) {
    if (pid != killed) alive.push_back(pid);
  }

  // SIGSTOP another near the end of the queue, past its lease; then let it run again. It
  // must hold several polled rows: a late write needs a poll on the wire at the stop, which
  // about one row in three has (measured: 4-12 refused writes of 11-28 rows held). With a
  // single row, as a loaded CI machine once gave, the test saw no late write to refuse.
  const auto [stalled, stalled_held] = signal_one_polling(h, db, alive, 8, SIGSTOP, [&] {
    return db.scalar("SELECT count(*) FROM jobs WHERE state = 'queued'") <= 20;
  });
  ASSERT_NE(stalled, 0);
  const pid_t steady = alive[0] == stalled ? alive[1] : alive[0];
  const bool taken_over = wait_for([&] { return held_by(db, stalled).empty(); }, 30s);
  EXPECT_TRUE(taken_over) << "the stalled daemon's rows were not adopted; " << summary(db);
  h.signal(stalled, SIGCONT);

  const auto stalled_code = h.wait(stalled, 180s);
  const auto steady_code = h.wait(steady, 180s);
  ASSERT_TRUE(stalled_code.has_value() && steady_code.has_value()) << "still running; " << summary(db);
  EXPECT_EQ(*stalled_code, 0);
  EXPECT_EQ(*steady_code, 0);

  // Every job terminal: succeeded, except what a signalled daemon was submitting at that
  // moment (the ambiguous-submit policy fails it; the pre-checks make that rare).
  std::set<std::string> ambiguous;
  for (const auto* held : {&killed_held, &stalled_held}) {
    for (const auto& [id, r] : *held) {
      if (r.state == "submitting") ambiguous.insert(id);
    }
  }
  EXPECT_EQ(db.scalar("SELECT count(*) FROM jobs WHERE state = 'succeeded'"), 300 - static_cast<int>(ambiguous.size()))
      << summary(db);
  for (const auto& r : db.rows("SELECT id, error_code FROM jobs WHERE state <> 'succeeded'")) {
    EXPECT_TRUE(ambiguous.contains(r[0]) && r[1] == "submit_ambiguous") << "job " << r[0] << " ended " << r[1];
  }

  // The caps held across the three daemons, and nothing was submitted twice.
  const auto stats = h.sim().sim().stats(false);
  std::set<std::string> lanes;
  for (const auto& slot : stats.at("slots").as_array()) {
    const auto& s = slot.as_object();
    EXPECT_LE(s.at("peak_in_flight").to_number<std::int64_t>(), s.at("cap").to_number<std::int64_t>())
        << json::serialize(s);
    EXPECT_EQ(s.at("cap_rejections").to_number<std::int64_t>(), 0) << json::serialize(s);
    lanes.insert(std::string(s.at("key").as_string()) + "/" + std::string(s.at("model").as_string()));
  }
  EXPECT_EQ(lanes.size(), 4u) << "both keys served both models";
  EXPECT_EQ(stats.at("cap_rejections").to_number<std::int64_t>(), 0);
  const double polls_per_task = stats.at("polls").to_number<double>() / stats.at("tasks_created").to_number<double>();
  RecordProperty("polls_per_task", std::to_string(polls_per_task));
  EXPECT_TRUE(stats.at("duplicate_request_ids").as_array().empty()) << json::serialize(stats.at("duplicate_request_ids"));

  // The killed daemon's tasks were finished by the others with the task it had created: the
  // same request_id and task id, no new submit.
  ASSERT_FALSE(killed_held.empty());
  for (const auto& [id, before] : killed_held) {
    if (before.state == "submitting") continue;
    const auto after = db.rows("SELECT state, coalesce(task_id, ''), request_id, owner FROM jobs WHERE id = " + id);
    ASSERT_EQ(after.size(), 1u);
    EXPECT_EQ(after[0][0], "succeeded") << "job " << id;
    EXPECT_EQ(after[0][1], before.task_id) << "job " << id << " got a new task";
    EXPECT_EQ(after[0][2], before.request_id) << "job " << id << " was submitted again";
    EXPECT_EQ(after[0][3].find(":" + std::to_string(killed) + ":"), std::string::npos) << "job " << id;
  }

  // The stalled daemon came back with an expired lease: its late writes to rows the others
  // had adopted changed nothing (write_refused is logged when a guarded write matches no row).
  const auto stalled_index = std::find(daemons.begin(), daemons.end(), stalled) - daemons.begin();
  const std::string stalled_log = read_file(h.dir() / ("daemon-" + std::to_string(stalled_index + 1) + ".log"));
  EXPECT_NE(stalled_log.find("\"lease_expired\""), std::string::npos);
  const int refused = occurrences(stalled_log, "\"write_refused\"");
  EXPECT_GE(refused, 1) << "no late write was attempted; held at the stop: " << stalled_held.size();
  for (const auto& [id, before] : stalled_held) {
    if (before.state == "submitting") continue;
    EXPECT_EQ(db.text("SELECT state FROM jobs WHERE id = " + id), "succeeded") << "job " << id;
  }
  EXPECT_EQ(db.scalar("SELECT count(*) FROM jobs WHERE owner LIKE '%:" + std::to_string(stalled) +
                      ":%' AND id IN (" + [&] {
                        std::string ids = "0";
                        for (const auto& [id, r] : stalled_held) ids += "," + id;
                        return ids;
                      }() + ")"),
            0)
      << "a row the stalled daemon lost came back to it";
  RecordProperty("late_writes_refused", refused);
  RecordProperty("killed_held", static_cast<int>(killed_held.size()));
  RecordProperty("stalled_held", static_cast<int>(stalled_held.size()));
  EXPECT_EQ(h.verify_files(), "");
}

}  // namespace
}  // namespace vidq::test
