// The CLI with [database] url (issue 14): migrate, doctor and the commands behind the
// operator store work on PostgreSQL; those not ported yet refuse with exit 2 and say so, and
// no password from the URL reaches the output.
#include "support/pg_test_db.hpp"
#include "support/temp_dir.hpp"
#include "vidq/store/postgres/migrate.hpp"

#include <gtest/gtest.h>

#include <filesystem>

namespace vidq {
namespace {

struct pg_cli {
  test::temp_dir dir;
  explicit pg_cli(const std::string& url) {
    test::write_file(dir.file("vidq.toml"), "[database]\nurl = \"" + url + "\"\n");
  }
  test::command_result run(const std::string& args) {
    return test::run_command("cd '" + dir.path().string() + "' && '" VIDQ_BINARY "' --config vidq.toml " + args);
  }
};

// The test cluster trusts every local user, so a password in the URL is accepted and ignored:
// enough to see that it never comes back out.
std::string with_password(const std::string& url) {
  const auto at = url.find("postgres@");
  return at == std::string::npos ? url : url.substr(0, at) + "postgres:hunter2@" + url.substr(at + 9);
}

TEST(CliPostgres, MigrateCreatesTheSchemaOnceAndDoctorReadsIt) {
  test::pg_test_db db;
  VIDQ_REQUIRE_PG(db);
  pg_cli cli(with_password(db.conninfo()));
  auto first = cli.run("migrate");
  EXPECT_EQ(first.exit_code, 0) << first.out;
  const std::string latest = std::to_string(store::pg::latest_schema_version());
  EXPECT_NE(first.out.find("schema migrated from version 0 to " + latest), std::string::npos) << first.out;
  EXPECT_EQ(first.out.find("hunter2"), std::string::npos) << first.out;
  auto again = cli.run("migrate");
  EXPECT_NE(again.out.find("schema already at version " + latest), std::string::npos) << again.out;
  EXPECT_EQ(db.scalar("SELECT count(*) FROM schema_migrations"), store::pg::latest_schema_version());

  auto doctor = cli.run("doctor");
  EXPECT_NE(doctor.out.find("(PostgreSQL)"), std::string::npos) << doctor.out;
  EXPECT_NE(doctor.out.find("database schema            version " + latest), std::string::npos) << doctor.out;
  EXPECT_EQ(doctor.out.find("hunter2"), std::string::npos) << doctor.out;
}

TEST(CliPostgres, CommandsNotPortedYetRefuseWithExit2) {
  test::pg_test_db db;
  VIDQ_REQUIRE_PG(db);
  pg_cli cli(db.conninfo());
  for (const char* command : {"db backup copy.db", "db checkpoint"}) {
    auto r = cli.run(command);
    EXPECT_EQ(r.exit_code, 2) << command << ": " << r.out;
    EXPECT_NE(r.out.find("works on a SQLite file only; "), std::string::npos) << command << ": " << r.out;
  }
  EXPECT_NE(cli.run("db backup copy.db").out.find("pg_dump"), std::string::npos) << "says what to use instead";
  EXPECT_FALSE(std::filesystem::exists(cli.dir.file("vidq.db"))) << "no SQLite file created behind the operator's back";
}

// The operator's day on PostgreSQL: enqueue (the first command creates the schema), list,
// show with history and ledger, export the manifest, list notices, pause and resume an
// account. cli_verbs_test runs retry,
// cancel and status on both backends.
TEST(CliPostgres, EnqueueListShowAndAccountPausesWork) {
  test::pg_test_db db;
  VIDQ_REQUIRE_PG(db);
  pg_cli cli(with_password(db.conninfo()));
  auto added = cli.run("enqueue -m cogvideox-3 -p 'a red chair' -b spring --key sku-1");
  ASSERT_EQ(added.exit_code, 0) << added.out;
  EXPECT_EQ(added.out.find("NOTICE"), std::string::npos) << "the server's notices stay out of the output: " << added.out;
  EXPECT_EQ(db.scalar("SELECT count(*) FROM schema_migrations"), store::pg::latest_schema_version());
  auto twice = cli.run("enqueue -m cogvideox-3 -p 'a red chair' -b spring --key sku-1");
  EXPECT_EQ(twice.exit_code, 0) << twice.out;
  EXPECT_EQ(db.scalar("SELECT count(*) FROM jobs"), 1) << "the key makes a second enqueue a no-op";

  db.exec("UPDATE jobs SET state = 'succeeded', cost = 1500 WHERE key = 'sku-1'");
  db.exec("INSERT INTO charges(job_id, attempt, request_id, task_id, account, model, batch, price, origin, at) "
          "SELECT id, 1, 'rq-1', 'task-1', account, model, batch, 1500, 'accepted', 1 FROM jobs");
  auto list = cli.run("list --batch spring");
  EXPECT_EQ(list.exit_code, 0) << list.out;
  EXPECT_NE(list.out.find("sku-1"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("succeeded"), std::string::npos) << list.out;
  auto show = cli.run("show sku-1 --json");
  EXPECT_EQ(show.exit_code, 0) << show.out;
  EXPECT_NE(show.out.find("\"task-1\""), std::string::npos) << "the ledger's charge: " << show.out;
  EXPECT_NE(show.out.find("\"succeeded\""), std::string::npos) << "the trigger's history: " << show.out;
  EXPECT_EQ(show.out.find("hunter2"), std::string::npos) << show.out;
  auto manifest = cli.run("export --batch spring --format jsonl");
  EXPECT_EQ(manifest.exit_code, 0) << manifest.out;
  EXPECT_NE(manifest.out.find("\"key\":\"sku-1\""), std::string::npos) << manifest.out;
  EXPECT_NE(manifest.out.find("exported 1 job(s)"), std::string::npos) << manifest.out;
  auto notices = cli.run("notify list --json");
  EXPECT_EQ(notices.exit_code, 0) << notices.out;
  EXPECT_NE(notices.out.find("[]"), std::string::npos) << "no [notify] targets, no deliveries: " << notices.out;

  EXPECT_EQ(cli.run("account pause default --reason 'top-up pending' --until 2h").exit_code, 0);
  EXPECT_EQ(db.text("SELECT reason FROM account_pauses WHERE account = 'default'"), "top-up pending");
  auto paused = cli.run("account list");
  EXPECT_NE(paused.out.find("paused by operator"), std::string::npos) << paused.out;
  auto resumed = cli.run("account resume default");
  EXPECT_NE(resumed.out.find("resumed account default"), std::string::npos) << resumed.out;
  EXPECT_EQ(db.scalar("SELECT count(*) FROM account_pauses"), 0);
}

// Chunks of several rows per statement: a key twice in one chunk, or already stored, is a
// duplicate; a bad line is reported and skipped; importing the file again inserts nothing.
TEST(CliPostgres, ImportInsertsInChunksAndIsIdempotent) {
  test::pg_test_db db;
  VIDQ_REQUIRE_PG(db);
  pg_cli cli(db.conninfo());
  std::string lines;
  for (int i = 0; i < 1200; ++i) {
    lines += "{\"key\": \"sku-" + std::to_string(i) + "\", \"model\": \"cogvideox-3\", \"prompt\": \"ad " +
             std::to_string(i) + "\", \"batch\": \"spring\"}\n";
  }
  lines += "{\"key\": \"sku-7\", \"model\": \"cogvideox-3\", \"prompt\": \"again\"}\n";
  lines += "{\"key\": \"bad\", \"prompt\": \"no model\"}\n";
  test::write_file(cli.dir.file("jobs.jsonl"), lines);
  auto first = cli.run("import jobs.jsonl");
  EXPECT_EQ(first.exit_code, 3) << "one invalid line: " << first.out;
  EXPECT_NE(first.out.find("inserted 1200, duplicate key 1, invalid 1"), std::string::npos) << first.out;
  EXPECT_EQ(db.scalar("SELECT count(*) FROM jobs WHERE batch = 'spring' AND state = 'queued'"), 1200);
  EXPECT_EQ(db.text("SELECT prompt FROM jobs WHERE key = 'sku-7'"), "ad 7") << "the first line with a key wins";
  auto again = cli.run("import jobs.jsonl");
  EXPECT_NE(again.out.find("inserted 0, duplicate key 1201, invalid 1"), std::string::npos) << again.out;
  EXPECT_EQ(db.scalar("SELECT count(*) FROM jobs"), 1200);
}

// The daemons' own retention step, run by hand: finished rows past [retention] go, with
// their events; queued and recent ones stay.
TEST(CliPostgres, DbPruneAppliesTheRetentionRules) {
  test::pg_test_db db;
  VIDQ_REQUIRE_PG(db);
  db.migrate();
  pg_cli cli(db.conninfo());
  test::write_file(cli.dir.file("vidq.toml"), "[database]\nurl = \"" + db.conninfo() +
                                                  "\"\n[retention]\nfinished_job_days = 30\n");
  db.exec("INSERT INTO jobs(model, prompt, state, finished_at) SELECT 'cogvideox-3', 'old', 'succeeded', 1000 "
          "FROM generate_series(1, 5)");
  db.exec("INSERT INTO jobs(model, prompt) VALUES ('cogvideox-3', 'queued')");
  db.exec("INSERT INTO jobs(model, prompt, state, finished_at) VALUES ('cogvideox-3', 'new', 'failed', "
          "vidq_now_ms())");
  db.exec("INSERT INTO job_events(job_id, at, to_state) SELECT id, 1000, 'succeeded' FROM jobs WHERE prompt = 'old'");
  auto r = cli.run("db prune --chunk 2");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("deleted 5 finished job(s) and 5 event(s)"), std::string::npos) << r.out;
  EXPECT_EQ(db.scalar("SELECT count(*) FROM jobs"), 2);
}

TEST(CliPostgres, ADatabaseBehindThisBinaryMustBeMigratedFirst) {
  test::pg_test_db db;
  VIDQ_REQUIRE_PG(db);
  db.migrate();
  db.exec("DELETE FROM schema_migrations WHERE version = (SELECT max(version) FROM schema_migrations)");
  pg_cli cli(db.conninfo());
  auto r = cli.run("list");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("run `vidq migrate`"), std::string::npos) << r.out;
}

TEST(CliPostgres, AnUnreachableServerIsAFailureNamingItWithoutThePassword) {
  pg_cli cli("postgresql://vidq:hunter2@127.0.0.1:1/vidq?connect_timeout=2");
  auto r = cli.run("migrate");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("cannot connect"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("postgresql://vidq:***@127.0.0.1:1/vidq"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("hunter2"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace vidq
