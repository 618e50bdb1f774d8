// Operator verbs that say what they did: retry by state and error code, per-id reasons for
// ids left alone, and `vidq status` showing pauses, budget blocks and failed work. Each test
// runs on SQLite and on PostgreSQL ([database] url): the commands go through the store seam
// (store/operator_store.hpp), and say the same on both.
#include "support/backend.hpp"
#include "support/pg_test_db.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

namespace vidq {
namespace {

using test::backend;

struct cli_verbs_fixture : ::testing::TestWithParam<backend> {
  test::temp_dir dir;
  std::string db = dir.file("vidq.db");
  std::unique_ptr<test::pg_test_db> pg;

  void SetUp() override {
    if (GetParam() == backend::postgres) {
      pg = std::make_unique<test::pg_test_db>();
      VIDQ_REQUIRE_PG(*pg);
    }
    write_config("");
  }
  // vidq.toml: the database of this backend, then `rest`. On PostgreSQL the first command
  // creates the schema, as it creates the SQLite file.
  void write_config(const std::string& rest) {
    const std::string database = pg ? "[database]\nurl = \"" + pg->conninfo() + "\"\n"
                                    : "[database]\npath = \"" + db + "\"\n";
    test::write_file(dir.path() / "vidq.toml", database + rest);
  }
  test::command_result vidq(const std::string& args) {
    return test::run_command("cd '" + dir.path().string() + "' && '" VIDQ_BINARY "' --config vidq.toml " + args);
  }
  void sql(const std::string& statement) {
    if (pg) return pg->exec(statement);
    auto r = test::run_command("sqlite3 '" + db + "' \"" + statement + "\"");
    ASSERT_EQ(r.exit_code, 0) << r.out;
  }
  // The first row's columns joined with '|', and a newline: sqlite3's output.
  std::string row(const std::string& query) {
    if (!pg) return test::run_command("sqlite3 '" + db + "' \"" + query + "\"").out;
    auto rows = pg->rows(query);
    std::string out;
    for (const auto& column : rows.empty() ? std::vector<std::string>{} : rows.front()) {
      out += (out.empty() ? "" : "|") + column;
    }
    return out + "\n";
  }
  std::string state_of(int id) { return row("SELECT state FROM jobs WHERE id = " + std::to_string(id)); }
  // Jobs 1..4: failed task_failed, failed 1301, cancelled, succeeded.
  void four_jobs() {
    for (int i = 0; i < 4; ++i) ASSERT_EQ(vidq("enqueue -m cogvideox-3 -p x -b b").exit_code, 0);
    sql("UPDATE jobs SET state = 'failed', error_code = 'task_failed' WHERE id = 1");
    sql("UPDATE jobs SET state = 'failed', error_code = '1301' WHERE id = 2");
    sql("UPDATE jobs SET state = 'cancelled', error_code = 'cancelled' WHERE id = 3");
    sql("UPDATE jobs SET state = 'succeeded' WHERE id = 4");
  }
};

INSTANTIATE_TEST_SUITE_P(Backends, cli_verbs_fixture, test::both_backends(), test::backend_name);

TEST_P(cli_verbs_fixture, RetryByCodeTouchesOnlyThatCode) {
  four_jobs();
  auto r = vidq("retry --code task_failed");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("requeued 1 job(s)"), std::string::npos) << r.out;
  EXPECT_EQ(state_of(1), "queued\n");
  EXPECT_EQ(state_of(2), "failed\n") << "1301 is never retried by --code task_failed";
  EXPECT_EQ(state_of(3), "cancelled\n");
}

TEST_P(cli_verbs_fixture, RetryByStateAndBatch) {
  four_jobs();
  auto r = vidq("retry --state cancelled --batch b");
  EXPECT_NE(r.out.find("requeued 1 job(s)"), std::string::npos) << r.out;
  EXPECT_EQ(state_of(3), "queued\n");
  EXPECT_EQ(state_of(1), "failed\n");
  EXPECT_EQ(vidq("retry --state queued").exit_code, 2) << "only failed or cancelled";
}

TEST_P(cli_verbs_fixture, EachIdLeftAloneIsListedWithTheReason) {
  four_jobs();
  auto retry = vidq("retry 1 2 4 99 --code task_failed");
  EXPECT_NE(retry.out.find("job 2: failed with 1301, not task_failed"), std::string::npos) << retry.out;
  EXPECT_NE(retry.out.find("job 4: is succeeded, not failed or cancelled; nothing to retry"), std::string::npos)
      << retry.out;
  EXPECT_NE(retry.out.find("job 99: no such job"), std::string::npos) << retry.out;
  EXPECT_NE(retry.out.find("requeued 1 job(s)"), std::string::npos) << retry.out;
  EXPECT_EQ(retry.out.find("job 1:"), std::string::npos) << "job 1 was requeued";
  auto cancel = vidq("cancel 1 4 99");
  EXPECT_NE(cancel.out.find("job 4: already succeeded; nothing to cancel"), std::string::npos) << cancel.out;
  EXPECT_NE(cancel.out.find("job 99: no such job"), std::string::npos) << cancel.out;
  EXPECT_NE(cancel.out.find("cancelled 1 job(s)"), std::string::npos) << cancel.out;
}

// Job 1: its provider task succeeded, the download failed (a paid result); job 2: its task
// FAILed at the provider (nothing paid was produced).
void paid_and_unpaid(cli_verbs_fixture& f) {
  for (int i = 0; i < 2; ++i) ASSERT_EQ(f.vidq("enqueue -m cogvideox-3 -p x -b b").exit_code, 0);
  f.sql("UPDATE jobs SET state = 'failed', attempts = 1, request_id = 'rq-1', task_id = 'task-1', "
        "video_url = 'https://cdn.example/v.mp4', error_code = 'download_io', error_message = 'Permission denied' "
        "WHERE id = 1");
  f.sql("UPDATE jobs SET state = 'failed', attempts = 1, request_id = 'rq-2', task_id = 'task-2', "
        "error_code = 'task_failed' WHERE id = 2");
}

TEST_P(cli_verbs_fixture, PlainRetryOfAPaidResultAsksForDownloadOrResubmit) {
  paid_and_unpaid(*this);
  auto r = vidq("retry 1 2");
  EXPECT_EQ(r.exit_code, 5) << r.out;
  EXPECT_NE(r.out.find("job 1: its provider task succeeded and was paid for; `vidq retry --download 1`"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("--resubmit"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("requeued 1 job(s)"), std::string::npos) << r.out;
  EXPECT_EQ(state_of(1), "failed\n") << "never paid for again without --resubmit";
  EXPECT_EQ(state_of(2), "queued\n");

  auto batch = vidq("retry --batch b");
  EXPECT_EQ(batch.exit_code, 5) << "a batch retry says so too: " << batch.out;
  EXPECT_NE(batch.out.find("job 1: its provider task succeeded"), std::string::npos) << batch.out;
}

TEST_P(cli_verbs_fixture, RetryDownloadRepollsTheStoredTaskAndResubmitPaysAgain) {
  paid_and_unpaid(*this);
  auto d = vidq("retry --download 1 2");
  EXPECT_EQ(d.exit_code, 0) << d.out;
  EXPECT_NE(d.out.find("re-downloading 1 job(s)"), std::string::npos) << d.out;
  EXPECT_NE(d.out.find("job 2: no successful provider task is stored (task_failed)"), std::string::npos) << d.out;
  EXPECT_EQ(state_of(1), "processing\n");
  EXPECT_EQ(row("SELECT task_id, request_id, attempts, refetches, "
                "CASE WHEN next_poll_at IS NOT NULL THEN 1 ELSE 0 END FROM jobs WHERE id = 1"),
            "task-1|rq-1|1|1|1\n")
      << "the same task, no new submit";
  EXPECT_EQ(state_of(2), "failed\n");

  sql("UPDATE jobs SET state = 'failed', error_code = 'url_expired' WHERE id = 1");
  auto again = vidq("retry --resubmit 1");
  EXPECT_EQ(again.exit_code, 0) << again.out;
  EXPECT_EQ(state_of(1), "queued\n");
  EXPECT_EQ(vidq("retry --download --resubmit 2").exit_code, 2) << "one or the other";
}

TEST_P(cli_verbs_fixture, StatusMarksFailuresApartAndShowsWhatHoldsWorkBack) {
  for (int i = 0; i < 4; ++i) ASSERT_EQ(vidq("enqueue -m cogvideox-3 -p x -b b").exit_code, 0);
  sql("UPDATE jobs SET state = 'succeeded', cost = 3000 WHERE id IN (1, 2)");
  // Spend is the ledger's: the two tasks were charged when the provider accepted them.
  sql("INSERT INTO charges(job_id, attempt, request_id, task_id, account, model, batch, price, origin) "
      "SELECT id, 1, 'rq-' || id, 'task-' || id, account, model, batch, cost, 'accepted' FROM jobs WHERE cost > 0");
  sql("UPDATE jobs SET state = 'failed', error_code = '1301' WHERE id = 3");
  write_config("[budget]\nbatch_limit_cny = 3.0\n");
  ASSERT_EQ(vidq("account pause default --reason 'top-up pending'").exit_code, 0);
  auto r = vidq("status");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("########xxxx...."), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("account default paused by operator: top-up pending (until resumed)"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("batch b: batch budget 3.00 CNY reached for batch 'b': spent 6.00 CNY; its queued jobs wait"),
            std::string::npos)
      << r.out;
}

}  // namespace
}  // namespace vidq
