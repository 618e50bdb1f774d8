// `vidq db copy` (issue 14 item 7): a SQLite queue with jobs in every state, history, ledger,
// notices, deliveries, samples and pauses, copied into an empty PostgreSQL database by the
// real binary. Every copied table reads the same on both sides, new rows take fresh ids, a
// job in flight keeps its task and has no owner; a non-empty target, a running daemon, an
// old source schema and a failure half way leave the target without a copied row.
#include "support/pg_test_db.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace vidq {
namespace {

constexpr const char* copied_tables[] = {"jobs",    "job_events",        "charges",       "duration_samples",
                                         "notices", "notice_deliveries", "account_pauses"};

// What a day of work leaves behind: 20 imported jobs, then (as the daemon would write them)
// one succeeded with a duration sample, one processing, one submitting, one downloading, one
// failed and refunded; a deleted job (an id gap), charges, a pause with its notice, a delivery.
constexpr const char* day_of_work = R"SQL(
PRAGMA foreign_keys = ON;
UPDATE jobs SET state = 'submitting', attempts = 1, request_id = 'req-1', updated_at = 1700000000000 WHERE id = 1;
UPDATE jobs SET state = 'processing', task_id = 'task-1', submitted_at = 1700000000000,
  next_poll_at = 1700000005000, cost = 1500, updated_at = 1700000001000 WHERE id = 1;
UPDATE jobs SET state = 'downloading', video_url = 'https://cdn.example/1.mp4', updated_at = 1700000060000 WHERE id = 1;
UPDATE jobs SET state = 'succeeded', video_path = 'out/1.mp4', video_bytes = 1234, video_sha256 = 'ab12',
  finished_at = 1700000070000, updated_at = 1700000070000 WHERE id = 1;
UPDATE jobs SET state = 'submitting', attempts = 1, request_id = 'req-2', updated_at = 1700000000000 WHERE id = 2;
UPDATE jobs SET state = 'processing', task_id = 'task-2', submitted_at = 1700000000000, polls = 3,
  next_poll_at = 1700000090000, cost = 2000, seen_running_at = 1700000080000, updated_at = 1700000080000 WHERE id = 2;
UPDATE jobs SET state = 'submitting', attempts = 1, request_id = 'req-3', updated_at = 1700000000000 WHERE id = 3;
UPDATE jobs SET state = 'submitting', attempts = 1, request_id = 'req-4', updated_at = 1700000000000 WHERE id = 4;
UPDATE jobs SET state = 'failed', error_code = '1301', error_message = 'content policy', finished_at = 1700000100000,
  updated_at = 1700000100000 WHERE id = 4;
UPDATE jobs SET state = 'submitting', attempts = 2, request_id = 'req-5', updated_at = 1700000000000 WHERE id = 5;
UPDATE jobs SET state = 'processing', task_id = 'task-5', submitted_at = 1700000000000, updated_at = 1700000001000 WHERE id = 5;
UPDATE jobs SET state = 'downloading', video_url = 'https://cdn.example/5.mp4', updated_at = 1700000050000 WHERE id = 5;
DELETE FROM jobs WHERE id = 6;
INSERT INTO charges(job_id, attempt, request_id, task_id, account, model, batch, price, refunded, origin, at)
  SELECT id, attempts, request_id, task_id, account, model, batch, 1500, 0, 'accepted', 1700000001000 FROM jobs WHERE id = 1;
INSERT INTO charges(job_id, attempt, request_id, task_id, account, model, batch, price, refunded, origin, at)
  SELECT id, attempts, request_id, task_id, account, model, batch, 2000, 0, 'accepted', 1700000001000 FROM jobs WHERE id = 2;
INSERT INTO charges(job_id, attempt, request_id, task_id, account, model, batch, price, refunded, origin, at)
  SELECT id, attempts, request_id, NULL, account, model, batch, 800, 0, 'ambiguous', 1700000001000 FROM jobs WHERE id = 3;
INSERT INTO charges(job_id, attempt, request_id, task_id, account, model, batch, price, refunded, origin, at)
  SELECT id, attempts, request_id, 'task-4', account, model, batch, 500, 500, 'accepted', 1700000001000 FROM jobs WHERE id = 4;
INSERT INTO account_pauses(account, reason, until, paused_by) VALUES ('default', 'top-up pending', NULL, 'operator');
INSERT INTO notice_deliveries(notice_id, target, attempts, next_attempt_at, delivered_at)
  SELECT min(id), 'ops-hook', 1, 1700000200000, 1700000200500 FROM notices;
)SQL";

struct db_copy : ::testing::Test {
  test::temp_dir dir;
  std::string source = dir.file("vidq.db");
  test::pg_test_db target;

  // The test cluster trusts local users: a password in the URL is accepted and ignored, enough
  // to see that it never comes back out.
  std::string url_with_password() const {
    const auto& url = target.conninfo();
    const auto at = url.find("postgres@");
    return at == std::string::npos ? url : url.substr(0, at) + "postgres:hunter2@" + url.substr(at + 9);
  }
  void write_pg_config() {
    test::write_file(dir.file("pg.toml"), "[database]\nurl = \"" + url_with_password() + "\"\n");
  }
  test::command_result on_sqlite(const std::string& args) {
    return test::run_command("cd '" + dir.path().string() + "' && '" VIDQ_BINARY "' --db '" + source + "' " + args);
  }
  test::command_result on_pg(const std::string& args) {
    return test::run_command("cd '" + dir.path().string() + "' && '" VIDQ_BINARY "' --config pg.toml " + args);
  }
  test::command_result sqlite(const std::string& sql) {
    test::write_file(dir.file("script.sql"), sql);
    return test::run_command("sqlite3 -batch '" + source + "' < '" + dir.file("script.sql") + "'");
  }
  // A query's rows as sqlite3 prints them (list mode: '|' between columns, NULL as nothing).
  std::string sqlite_rows(const std::string& sql) { return sqlite(sql + ";\n").out; }
  std::string pg_rows(const std::string& sql) {
    std::string out;
    for (const auto& row : target.rows(sql)) {
      for (std::size_t c = 0; c < row.size(); ++c) out += (c ? "|" : "") + row[c];
      out += "\n";
    }
    return out;
  }
  std::int64_t sqlite_scalar(const std::string& sql) { return std::stoll(sqlite_rows(sql)); }

  void build_source() {
    auto imported = on_sqlite("import '" VIDQ_SOURCE_DIR "/config/samples/ecommerce.jsonl'");
    ASSERT_EQ(imported.exit_code, 0) << imported.out;
    auto worked = sqlite(day_of_work);
    ASSERT_EQ(worked.exit_code, 0) << worked.out;
    ASSERT_EQ(sqlite_scalar("SELECT count(*) FROM duration_samples"), 2) << "jobs 1 and 5 left their samples";
    ASSERT_GE(sqlite_scalar("SELECT count(*) FROM notices"), 3) << "job_succeeded, job_failed, account_paused";
  }
};
using DbCopy = db_copy;  // the suite's name in gtest filters

TEST_F(DbCopy, CopiesEveryTableWithItsIdsAndNewRowsTakeFreshIds) {
  VIDQ_REQUIRE_PG(target);
  build_source();
  write_pg_config();

  auto copy = on_pg("db copy --from '" + source + "'");
  ASSERT_EQ(copy.exit_code, 0) << copy.out;
  EXPECT_EQ(copy.out.find("hunter2"), std::string::npos) << copy.out;
  EXPECT_NE(copy.out.find("postgres:***@"), std::string::npos) << "the target named, redacted: " << copy.out;
  EXPECT_NE(copy.out.find("copied and verified in"), std::string::npos) << copy.out;
  EXPECT_NE(
      copy.out.find("jobs per state: downloading 1, failed 1, processing 1, queued 14, submitting 1, succeeded 1"),
      std::string::npos)
      << copy.out;
  EXPECT_NE(copy.out.find("ledger: 4.800 CNY charged, 0.500 CNY refunded"), std::string::npos) << copy.out;
  EXPECT_NE(copy.out.find("3 job(s) in flight (downloading 1, processing 1, submitting 1)"), std::string::npos)
      << copy.out;
  EXPECT_NE(copy.out.find("with no owner"), std::string::npos) << copy.out;

  // Every column SQLite has, row by row, reads the same on PostgreSQL: no row lost, none
  // added by a trigger (job_events, notices), every id kept (the gap at 6 too).
  for (const char* table : copied_tables) {
    const std::string columns =
        sqlite_rows(std::string("SELECT group_concat(name, ', ') FROM pragma_table_info('") + table + "')");
    ASSERT_FALSE(columns.empty()) << table;
    const std::string order = std::string(table) == "account_pauses"      ? "account"
                              : std::string(table) == "notice_deliveries" ? "notice_id, target"
                                                                          : "id";
    const std::string sql = "SELECT " + columns.substr(0, columns.size() - 1) + " FROM " + table + " ORDER BY " + order;
    const std::string want = sqlite_rows(sql);
    EXPECT_FALSE(want.empty()) << table << " has rows in the source";
    EXPECT_EQ(pg_rows(sql), want) << table;
  }
  EXPECT_EQ(target.scalar("SELECT count(*) FROM jobs WHERE id = 6"), 0);

  // The job in flight keeps its task and request, with no owner: a daemon adopts it.
  EXPECT_EQ(target.text("SELECT task_id || ' ' || request_id || ' ' || state FROM jobs WHERE id = 2"),
            "task-2 req-2 processing");
  EXPECT_EQ(target.scalar("SELECT count(*) FROM jobs WHERE owner IS NOT NULL OR epoch <> 0"), 0);

  // New rows continue after the copied ids, in every table with an identity.
  const auto max_job = sqlite_scalar("SELECT max(id) FROM jobs");
  const auto max_notice = sqlite_scalar("SELECT max(id) FROM notices");
  const auto max_event = sqlite_scalar("SELECT max(id) FROM job_events");
  auto added = on_pg("enqueue -m cogvideox-3 -p 'after the copy' -b moved");
  ASSERT_EQ(added.exit_code, 0) << added.out;
  EXPECT_EQ(target.scalar("SELECT id FROM jobs WHERE batch = 'moved'"), max_job + 1);
  target.exec("INSERT INTO account_pauses(account, reason, paused_by) VALUES ('spare', 'drill', 'operator')");
  EXPECT_EQ(target.scalar("SELECT max(id) FROM notices"), max_notice + 1) << "the pause trigger's notice";
  target.exec("UPDATE jobs SET state = 'cancelled' WHERE batch = 'moved'");
  EXPECT_GT(target.scalar("SELECT max(id) FROM job_events"), max_event);
  target.exec(
      "INSERT INTO charges(job_id, attempt, request_id, account, model, batch, price, origin) "
      "VALUES (1, 1, 'req-new', 'default', 'cogvideox-3', 'moved', 0, 'ambiguous')");
  target.exec("INSERT INTO duration_samples(job_id, model, params, at_least_ms, at) VALUES (1, 'm', '{}', 0, 1)");

  // The operator's commands read the copy.
  auto list = on_pg("list --batch spring-sneakers");
  EXPECT_EQ(list.exit_code, 0) << list.out;
  EXPECT_NE(list.out.find("succeeded"), std::string::npos) << list.out;
  auto show = on_pg("show 2 --json");
  EXPECT_EQ(show.exit_code, 0) << show.out;
  EXPECT_NE(show.out.find("\"task-2\""), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("\"processing\""), std::string::npos) << show.out;
  EXPECT_EQ(show.out.find("hunter2"), std::string::npos) << show.out;

  // The source was only read.
  EXPECT_EQ(sqlite_scalar("SELECT count(*) FROM jobs"), 19);
}

TEST_F(DbCopy, RefusesATargetThatHoldsRowsAndChangesNothing) {
  VIDQ_REQUIRE_PG(target);
  build_source();
  write_pg_config();
  ASSERT_EQ(on_pg("enqueue -m cogvideox-3 -p 'already here' --key live-1").exit_code, 0);

  auto copy = on_pg("db copy --from '" + source + "'");
  EXPECT_EQ(copy.exit_code, 1) << copy.out;
  EXPECT_NE(copy.out.find("already holds rows (jobs)"), std::string::npos) << copy.out;
  EXPECT_NE(copy.out.find("never merges into a live queue"), std::string::npos) << copy.out;
  EXPECT_EQ(copy.out.find("hunter2"), std::string::npos) << copy.out;
  EXPECT_EQ(target.scalar("SELECT count(*) FROM jobs"), 1);
  EXPECT_EQ(target.text("SELECT key FROM jobs"), "live-1");
  EXPECT_EQ(target.scalar("SELECT count(*) FROM charges"), 0);
  EXPECT_EQ(target.scalar("SELECT count(*) FROM account_pauses"), 0);
}

TEST_F(DbCopy, RefusesWhileADaemonHoldsTheSource) {
  VIDQ_REQUIRE_PG(target);
  build_source();
  write_pg_config();
  // The lock `vidq run` holds (daemon/instance_lock.cpp): flock on "<database>.lock".
  const std::string lock_path = source + ".lock";
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  ASSERT_EQ(::pwrite(fd, "4242\n", 5, 0), 5);

  auto copy = on_pg("db copy --from '" + source + "'");
  ::close(fd);
  EXPECT_EQ(copy.exit_code, 1) << copy.out;
  EXPECT_NE(copy.out.find("(pid 4242) already serves"), std::string::npos) << copy.out;
  EXPECT_NE(copy.out.find("stop it first"), std::string::npos) << copy.out;
  EXPECT_EQ(target.text("SELECT to_regclass('jobs')::text"), "") << "the target is not even touched";
}

TEST_F(DbCopy, AFailureHalfWayLeavesTheTargetEmpty) {
  VIDQ_REQUIRE_PG(target);
  build_source();
  write_pg_config();
  // A history row whose job is gone (written with foreign keys off, as the sqlite3 shell
  // does by default): PostgreSQL's foreign key refuses it after the jobs were inserted.
  ASSERT_EQ(sqlite("INSERT INTO job_events(job_id, at, to_state) VALUES (999, 1, 'queued');").exit_code, 0);

  auto copy = on_pg("db copy --from '" + source + "'");
  EXPECT_EQ(copy.exit_code, 1) << copy.out;
  EXPECT_NE(copy.out.find("copying job_events"), std::string::npos) << copy.out;
  EXPECT_NE(copy.out.find("foreign key"), std::string::npos) << copy.out;
  EXPECT_NE(copy.out.find("no row was copied"), std::string::npos) << copy.out;
  EXPECT_EQ(target.scalar("SELECT count(*) FROM jobs"), 0) << "one transaction: the jobs went back out";
  EXPECT_EQ(target.scalar("SELECT count(*) FROM job_events"), 0);

  // Fixed, the same command goes through.
  ASSERT_EQ(sqlite("DELETE FROM job_events WHERE job_id = 999;").exit_code, 0);
  auto again = on_pg("db copy --from '" + source + "'");
  EXPECT_EQ(again.exit_code, 0) << again.out;
  EXPECT_EQ(target.scalar("SELECT count(*) FROM jobs"), 19);
}

TEST_F(DbCopy, RefusesAnOutdatedSourceAndMissingArguments) {
  VIDQ_REQUIRE_PG(target);
  build_source();
  write_pg_config();
  ASSERT_EQ(sqlite("PRAGMA user_version = 6;").exit_code, 0);
  auto old = on_pg("db copy --from '" + source + "'");
  EXPECT_EQ(old.exit_code, 1) << old.out;
  EXPECT_NE(old.out.find("the source is at schema version 6"), std::string::npos) << old.out;
  EXPECT_EQ(target.text("SELECT to_regclass('jobs')::text"), "") << "refused before the target is touched";

  auto no_target = on_sqlite("db copy");
  EXPECT_EQ(no_target.exit_code, 2) << no_target.out;
  EXPECT_NE(no_target.out.find("--to URL"), std::string::npos) << no_target.out;
  auto no_source = on_pg("db copy");
  EXPECT_EQ(no_source.exit_code, 2) << no_source.out;
  EXPECT_NE(no_source.out.find("--from FILE"), std::string::npos) << no_source.out;
  auto missing = on_pg("db copy --from nowhere.db");
  EXPECT_EQ(missing.exit_code, 1) << missing.out;
  EXPECT_FALSE(std::filesystem::exists(dir.file("nowhere.db.lock"))) << "no lock file left for a typo";
}

}  // namespace
}  // namespace vidq
