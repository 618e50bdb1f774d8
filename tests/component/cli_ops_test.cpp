// The operator commands as cron jobs and people use them: `vidq account`, `vidq db`,
// `vidq status --watch`. Exit codes, messages, and what they leave in the database.

#include "support/temp_dir.hpp"
#include "support/test_db.hpp"
#include "vidq/store/sqlite.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

namespace vidq {
namespace {

namespace fs = std::filesystem;

struct ops_cli : ::testing::Test {
  test::temp_dir dir;
  std::string db = dir.file("vidq.db");

  void SetUp() override {
    write_config("");
    ASSERT_EQ(vidq("migrate").exit_code, 0);
  }

  void write_config(const std::string& extra) {
    test::write_file(dir.path() / "vidq.toml",
                     "[database]\npath = \"vidq.db\"\n"
                     "[[accounts]]\nname = \"default\"\napi_key_env = \"VIDQ_TEST_KEY\"\n"
                     "[[accounts]]\nname = \"shop\"\nprovider = \"geekai\"\napi_key_env = \"VIDQ_TEST_KEY\"\n"
                     "tier = \"V2\"\n" +
                         extra);
  }

  test::command_result vidq(const std::string& args) {
    return test::run_command("cd '" + dir.path().string() + "' && '" VIDQ_BINARY "' --config vidq.toml " + args);
  }

  store::database open() {
    auto handle = store::database::open(db);
    EXPECT_TRUE(handle);
    return std::move(*handle);
  }

  std::int64_t scalar(store::database& handle, const std::string& sql) {
    auto stmt = handle.prepare(sql);
    EXPECT_TRUE(stmt) << handle.last_error();
    EXPECT_TRUE(stmt->step().value());
    return stmt->get_int64(0);
  }
};

bool has(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

TEST_F(ops_cli, AccountPauseListResume) {
  auto paused = vidq("account pause shop --reason 'moving to a new key'");
  EXPECT_EQ(paused.exit_code, 0) << paused.out;
  EXPECT_TRUE(has(paused.out, "paused account shop until `vidq account resume`")) << paused.out;
  {
    auto handle = open();
    EXPECT_EQ(scalar(handle, "SELECT count(*) FROM account_pauses WHERE account = 'shop' AND paused_by = 'operator' "
                             "AND reason = 'moving to a new key' AND until IS NULL"),
              1);
  }
  auto list = vidq("account list");
  EXPECT_EQ(list.exit_code, 0) << list.out;
  EXPECT_TRUE(has(list.out, "default          bigmodel     5  active")) << list.out;
  EXPECT_TRUE(has(list.out, "shop             geekai      15  paused by operator since ")) << list.out;
  EXPECT_TRUE(has(list.out, ": moving to a new key")) << list.out;

  auto json = vidq("account list --json");
  EXPECT_TRUE(has(json.out, R"("name":"shop","provider":"geekai")")) << json.out;
  EXPECT_TRUE(has(json.out, R"("paused":true,"paused_by":"operator","reason":"moving to a new key")")) << json.out;

  auto resumed = vidq("account resume shop");
  EXPECT_EQ(resumed.exit_code, 0) << resumed.out;
  EXPECT_TRUE(has(resumed.out, "resumed account shop")) << resumed.out;
  EXPECT_TRUE(has(vidq("account list").out, "shop             geekai      15  active"));
  auto again = vidq("account resume shop");
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_TRUE(has(again.out, "account shop was not paused")) << again.out;
}

TEST_F(ops_cli, UnknownAccountIsAUsageError) {
  for (const char* args : {"account pause shopp", "account resume shopp"}) {
    auto r = vidq(args);
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.out;
    EXPECT_TRUE(has(r.out, "no account named 'shopp'")) << r.out;
    EXPECT_TRUE(has(r.out, "(configured: default, shop)")) << r.out;
  }
  auto handle = open();
  EXPECT_EQ(scalar(handle, "SELECT count(*) FROM account_pauses"), 0);
  EXPECT_EQ(vidq("account").exit_code, 2);
  EXPECT_EQ(vidq("account pause").exit_code, 2);
}

TEST_F(ops_cli, PauseUntilAcceptsDurationsAndUtcTimes) {
  auto timed = vidq("account pause default --until 2h");
  EXPECT_EQ(timed.exit_code, 0) << timed.out;
  EXPECT_TRUE(has(timed.out, "paused account default until ")) << timed.out;
  {
    auto handle = open();
    const auto left = scalar(handle, "SELECT until - at FROM account_pauses WHERE account = 'default'");
    // `until` and `at` are two clock reads: a loaded machine puts a millisecond or two between.
    EXPECT_GE(left, 2 * 3'600'000 - 1'000);
    EXPECT_LE(left, 2 * 3'600'000);
  }
  EXPECT_EQ(vidq("account pause default --until '2999-01-02 03:04'").exit_code, 0);
  {
    auto handle = open();
    EXPECT_EQ(scalar(handle, "SELECT until FROM account_pauses"), 32472241440000LL);  // 2999-01-02T03:04Z
  }
  EXPECT_TRUE(has(vidq("account list").out, "(until 2999-01-02 03:04:00)"));
  auto bad = vidq("account pause default --until soon");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_TRUE(has(bad.out, "neither a duration")) << bad.out;
  auto past = vidq("account pause default --until 2001-01-01");
  EXPECT_EQ(past.exit_code, 2);
  EXPECT_TRUE(has(past.out, "in the past")) << past.out;
}

// Inserts `n` jobs (with events) in one transaction.
void fill(store::database& handle, int n, const std::string& state = "succeeded") {
  ASSERT_TRUE(handle.exec("BEGIN"));
  ASSERT_TRUE(handle.exec("WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n LIMIT " + std::to_string(n) +
                          ") INSERT INTO jobs(model, prompt, batch) SELECT 'cogvideox-3', "
                          "'a red sneaker rotating on a white table, product shot ' || x, 'b' || (x % 7) FROM n"));
  ASSERT_TRUE(handle.exec("UPDATE jobs SET state = '" + state + "', finished_at = updated_at WHERE state = 'queued'"));
  ASSERT_TRUE(handle.exec("COMMIT"));
}

TEST_F(ops_cli, BackupMakesAVerifiedCopyAndRefusesToOverwrite) {
  {
    auto handle = open();
    fill(handle, 2000);
  }
  auto r = vidq("db backup copy.db");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(has(r.out, "2000 jobs, 2000 events")) << r.out;
  EXPECT_TRUE(has(r.out, "integrity_check ok")) << r.out;
  {
    auto copy = store::database::open(dir.file("copy.db"), {.create = false, .read_only = true});
    ASSERT_TRUE(copy);
    EXPECT_EQ(scalar(*copy, "SELECT count(*) FROM jobs"), 2000);
    EXPECT_EQ(scalar(*copy, "PRAGMA user_version"), store::latest_schema_version());
  }
  for (const auto& entry : fs::directory_iterator(dir.path())) {
    EXPECT_FALSE(has(entry.path().filename().string(), ".tmp-")) << entry.path();
  }
  auto again = vidq("db backup copy.db");
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_TRUE(has(again.out, "exists (use --force to replace it)")) << again.out;
  EXPECT_EQ(vidq("db backup --force copy.db").exit_code, 0);
  EXPECT_FALSE(fs::exists(dir.path() / "copy.db-wal")) << "stale files of the replaced copy are removed";
  auto self = vidq("db backup vidq.db --force");
  EXPECT_EQ(self.exit_code, 1);
  EXPECT_TRUE(has(self.out, "is the database itself")) << self.out;
  EXPECT_EQ(vidq("db backup").exit_code, 2);
}

TEST_F(ops_cli, BackupNeverReplacesADatabaseInUse) {
  auto live = store::database::open(dir.file("other.db"));
  ASSERT_TRUE(live);
  ASSERT_TRUE(live->exec("CREATE TABLE t(x); INSERT INTO t VALUES (1)"));  // frames in other.db-wal
  auto r = vidq("db backup --force other.db");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_TRUE(has(r.out, "non-empty -wal file next to it")) << r.out;
  EXPECT_EQ(scalar(*live, "SELECT count(*) FROM t"), 1);
}

TEST_F(ops_cli, BackupIsConsistentWhileAnotherProcessWrites) {
  {
    auto handle = open();
    fill(handle, 20000);  // several MB: many backup steps
  }
  std::atomic<bool> stop{false};
  std::atomic<int> commits{0};
  std::thread writer([&] {
    auto handle = store::database::open(db);
    while (!stop) {
      if (handle->exec("INSERT INTO jobs(model, prompt) VALUES ('cogvideox-3', 'while backing up')")) ++commits;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  auto r = vidq("db backup live.db");
  stop = true;
  writer.join();
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_GT(commits.load(), 0);
  auto copy = store::database::open(dir.file("live.db"), {.create = false, .read_only = true});
  ASSERT_TRUE(copy);
  // A snapshot: the 20000 rows plus whatever had committed when the copy started.
  EXPECT_GE(scalar(*copy, "SELECT count(*) FROM jobs"), 20000);
  auto check = copy->prepare("PRAGMA integrity_check");
  ASSERT_TRUE(check && check->step().value());
  EXPECT_EQ(check->get_text(0), "ok");
}

TEST_F(ops_cli, CheckpointReportsAndTruncates) {
  {
    auto handle = open();
    fill(handle, 500);
  }
  auto passive = vidq("db checkpoint");
  EXPECT_EQ(passive.exit_code, 0) << passive.out;
  EXPECT_TRUE(has(passive.out, "checkpoint (passive): ")) << passive.out;
  auto truncate = vidq("db checkpoint --truncate");
  EXPECT_EQ(truncate.exit_code, 0) << truncate.out;
  EXPECT_TRUE(has(truncate.out, "WAL file now 0.0 MiB")) << truncate.out;
}

TEST_F(ops_cli, PruneAppliesTheRetentionRulesOnce) {
  auto off = vidq("db prune");
  EXPECT_EQ(off.exit_code, 0);
  EXPECT_TRUE(has(off.out, "retention is off")) << off.out;
  {
    auto handle = open();
    fill(handle, 300);
    // Two thirds finished 40 days ago, the rest now.
    ASSERT_TRUE(handle.exec("UPDATE jobs SET finished_at = finished_at - 40 * 86400000 WHERE id % 3 <> 0"));
  }
  write_config("[retention]\nfinished_job_days = 30\n");
  auto r = vidq("db prune --chunk 64");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(has(r.out, "deleted 200 finished job(s) and 200 event(s)")) << r.out;
  auto handle = open();
  EXPECT_EQ(scalar(handle, "SELECT count(*) FROM jobs"), 100);
  EXPECT_EQ(scalar(handle, "SELECT count(*) FROM job_events WHERE job_id NOT IN (SELECT id FROM jobs)"), 0);
}

TEST_F(ops_cli, WatchPrintsPlainLinesWhenPiped) {
  {
    auto handle = open();
    fill(handle, 14);
  }
  auto r = vidq("status --watch --interval 0.1 --iterations 3");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << r.out;
  std::size_t totals = 0;
  for (auto pos = r.out.find("batch=* total=14 succeeded=14"); pos != std::string::npos;
       pos = r.out.find("batch=* total=14", pos + 1)) {
    ++totals;
  }
  EXPECT_EQ(totals, 3u) << r.out;
  EXPECT_TRUE(has(r.out, "batch=b3 total=2 succeeded=2 failed=0 cancelled=0 running=0 queued=0 done=100%")) << r.out;
  EXPECT_EQ(vidq("status --interval 2").exit_code, 2) << "--interval needs --watch";
  EXPECT_EQ(vidq("status --watch --json").exit_code, 2);
}

TEST_F(ops_cli, WatchEndsWithExitZeroOnCtrlC) {
  const auto start = std::chrono::steady_clock::now();
  auto r = test::run_command("cd '" + dir.path().string() + "' && timeout --preserve-status -s INT 1 '" VIDQ_BINARY
                             "' --config vidq.toml status --watch --interval 30");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5)) << "the 30 s sleep was not interrupted";
  EXPECT_TRUE(has(r.out, "batch=* total=0")) << r.out;
}

TEST_F(ops_cli, HelpOnEveryNewCommand) {
  for (const char* sub : {"account", "account pause", "account resume", "account list", "db", "db backup",
                          "db checkpoint", "db prune", "doctor", "status"}) {
    auto r = vidq(std::string(sub) + " --help");
    EXPECT_EQ(r.exit_code, 0) << sub << "\n" << r.out;
    EXPECT_TRUE(has(r.out, "Usage")) << sub << "\n" << r.out;
  }
  EXPECT_TRUE(has(vidq("status --help").out, "--watch"));
  EXPECT_TRUE(has(vidq("db --help").out, "backup"));
}

}  // namespace
}  // namespace vidq
