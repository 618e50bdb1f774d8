// The PostgreSQL schema (migrations/postgres/0001_init.sql) against SQLite's (migrations/0001..
// 0007), with SQLite as the oracle: the same SQL runs on a migrated database of each backend and
// the answers must agree (tables, columns, indexes, triggers, views, defaults, CHECKs, history
// details, the ledger, run-time samples, notices). Then the PostgreSQL-only parts: owner/epoch,
// nodes, lanes and the NOTIFY that replaces PRAGMA data_version.
#include "support/pg_test_db.hpp"
#include "support/test_db.hpp"
#include "vidq/store/postgres/migrations.hpp"

#include <boost/json/parse.hpp>

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace vidq::store {
namespace {

using rows = std::vector<std::string>;  // one string per row, cells joined by '|', NULL as "NULL"

rows sorted(rows r) {
  std::sort(r.begin(), r.end());
  return r;
}

struct finish_conn {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using conn_ptr = std::unique_ptr<PGconn, finish_conn>;
struct clear_result {
  void operator()(PGresult* r) const { PQclear(r); }
};
using result_ptr = std::unique_ptr<PGresult, clear_result>;

void ignore_notice(void*, const char*) {}  // "... does not exist, skipping" is not test output

conn_ptr connect(const std::string& conninfo) {
  conn_ptr c(PQconnectdb(conninfo.c_str()));
  EXPECT_EQ(PQstatus(c.get()), CONNECTION_OK) << PQerrorMessage(c.get());
  PQsetNoticeProcessor(c.get(), ignore_notice, nullptr);
  return c;
}

struct PgSchema : ::testing::Test {
  test::pg_test_db pg;
  test::test_db lite;
  conn_ptr raw;  // for what pg_test_db does not offer: errors, whole result sets

  void SetUp() override {
    if (!pg.available()) return;
    pg.migrate();
    raw = connect(pg.conninfo());
  }

  void both(const std::string& sql) {
    lite.exec(sql);
    pg.exec(sql);
  }
  // The server's message, "" when the statement worked.
  std::string pg_error(const std::string& sql) {
    result_ptr r(PQexec(raw.get(), sql.c_str()));
    const auto status = PQresultStatus(r.get());
    return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK ? "" : PQresultErrorMessage(r.get());
  }
  rows pg_rows(const std::string& sql) {
    result_ptr r(PQexec(raw.get(), sql.c_str()));
    EXPECT_EQ(PQresultStatus(r.get()), PGRES_TUPLES_OK) << PQresultErrorMessage(r.get()) << sql;
    rows out;
    for (int i = 0; i < PQntuples(r.get()); ++i) {
      std::string row;
      for (int j = 0; j < PQnfields(r.get()); ++j) {
        row += (j ? "|" : "") + std::string(PQgetisnull(r.get(), i, j) ? "NULL" : PQgetvalue(r.get(), i, j));
      }
      out.push_back(std::move(row));
    }
    return out;
  }
  rows lite_rows(const std::string& sql) {
    auto stmt = lite.db.prepare(sql);
    EXPECT_TRUE(stmt) << lite.db.last_error() << sql;
    rows out;
    if (!stmt) return out;
    auto done = stmt->for_each_row([&](const statement& s) {
      std::string row;
      for (int j = 0; j < s.column_count(); ++j) row += (j ? "|" : "") + (s.is_null(j) ? "NULL" : s.get_text(j));
      out.push_back(std::move(row));
    });
    EXPECT_TRUE(done) << lite.db.last_error() << sql;
    return out;
  }
  // The same query on both backends gives the same rows (sorted unless the order is the view's).
  void expect_same(const std::string& sql, bool ordered = false) {
    const rows l = lite_rows(sql), p = pg_rows(sql);
    EXPECT_EQ(ordered ? p : sorted(p), ordered ? l : sorted(l)) << sql;
  }
};

TEST_F(PgSchema, MigratesOnceAndRecordsIt) {
  VIDQ_REQUIRE_PG(pg);
  const auto all = pg::embedded_migrations();
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all.front().version, 1);
  for (std::size_t i = 1; i < all.size(); ++i) EXPECT_GT(all[i].version, all[i - 1].version) << all[i].name;
  EXPECT_EQ(pg.scalar("SELECT count(*) FROM schema_migrations"), static_cast<std::int64_t>(all.size()));
  EXPECT_EQ(pg.text("SELECT name FROM schema_migrations WHERE version = 1"), "0001_init");
  EXPECT_GT(pg.scalar("SELECT applied_at FROM schema_migrations WHERE version = 1"), 1'600'000'000'000);
  pg.migrate();
  EXPECT_EQ(pg.scalar("SELECT count(*) FROM schema_migrations"), static_cast<std::int64_t>(all.size()))
      << "a second run applies nothing";
}

TEST_F(PgSchema, HasSQLitesTablesColumnsIndexesTriggersAndViews) {
  VIDQ_REQUIRE_PG(pg);
  const rows pg_only_tables = {"lanes", "nodes", "schema_migrations"};
  rows pg_tables;
  for (auto& t : pg_rows("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
                         "AND table_type = 'BASE TABLE'")) {
    if (std::find(pg_only_tables.begin(), pg_only_tables.end(), t) == pg_only_tables.end()) pg_tables.push_back(t);
  }
  const rows tables = lite_rows("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite%'");
  EXPECT_EQ(sorted(pg_tables), sorted(tables));
  const rows views = lite_rows("SELECT name FROM sqlite_schema WHERE type = 'view'");
  EXPECT_EQ(sorted(pg_rows("SELECT table_name FROM information_schema.views WHERE table_schema = 'public'")),
            sorted(views));

  // Columns in SQLite's order; the PostgreSQL-only ones come after them.
  auto relations = tables;
  relations.insert(relations.end(), views.begin(), views.end());
  for (const auto& name : relations) {
    const std::string columns_of = "SELECT column_name FROM information_schema.columns WHERE table_name = '" + name;
    EXPECT_EQ(pg_rows(columns_of + "' AND column_name NOT IN ('owner', 'epoch') ORDER BY ordinal_position"),
              lite_rows("SELECT name FROM pragma_table_info('" + name + "')"))
        << name;
  }
  EXPECT_EQ(pg.text("SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns "
                    "WHERE table_name = 'jobs' AND ordinal_position > " +
                    lite.text("SELECT count(*) FROM pragma_table_info('jobs')")),
            "owner,epoch");

  const rows pg_indexes = pg_rows("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'");
  for (const auto& row : lite_rows("SELECT name || '|' || (sql LIKE '% WHERE %') FROM sqlite_schema "
                                   "WHERE type = 'index' AND sql IS NOT NULL")) {
    const auto name = row.substr(0, row.find('|'));
    EXPECT_NE(std::find(pg_indexes.begin(), pg_indexes.end(), name), pg_indexes.end()) << "index " << name;
    if (row.ends_with("|1")) {
      const std::string partial = "SELECT count(*) FROM pg_indexes WHERE indexdef LIKE '% WHERE %' AND indexname = '";
      EXPECT_EQ(pg.scalar(partial + name + "'"), 1) << "partial like SQLite's: " << name;
    }
  }
  const rows pg_triggers = pg_rows("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal");
  for (const auto& name : lite_rows("SELECT name FROM sqlite_schema WHERE type = 'trigger'")) {
    EXPECT_NE(std::find(pg_triggers.begin(), pg_triggers.end(), name), pg_triggers.end()) << "trigger " << name;
  }
}

TEST_F(PgSchema, APlainInsertGetsEveryDefault) {
  VIDQ_REQUIRE_PG(pg);
  both("INSERT INTO jobs(model, prompt) VALUES ('cogvideox-3', 'a red sneaker rotating on a white table')");
  expect_same(
      "SELECT id, key, batch, priority, account, model, prompt, image_url, params, state, attempts, "
      "not_before, request_id, task_id, submitted_at, next_poll_at, polls, finished_at, video_url, cost, "
      "error_code, requested_account, refetches, seen_running_at FROM jobs");
  EXPECT_EQ(pg.text("SELECT state || ' ' || batch || '/' || account || '/' || params FROM jobs"),
            "queued default/default/{}");
  const auto now =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  EXPECT_NEAR(pg.scalar("SELECT created_at FROM jobs"), now, 60'000);
  EXPECT_LE(pg.scalar("SELECT abs(updated_at - created_at) FROM jobs"), 5);
  EXPECT_EQ(pg.text("SELECT coalesce(owner, 'none') || ' ' || epoch FROM jobs"), "none 0");
  pg.exec("INSERT INTO jobs(key, model, prompt) VALUES ('k1', 'cogvideox-3', 'x') ON CONFLICT (key) DO NOTHING");
  pg.exec("INSERT INTO jobs(key, model, prompt) VALUES ('k1', 'cogvideox-3', 'y') ON CONFLICT (key) DO NOTHING");
  EXPECT_EQ(pg.scalar("SELECT count(*) FROM jobs WHERE key = 'k1'"), 1) << "an existing key is a no-op";
}

TEST_F(PgSchema, RejectsWhatSQLiteRejects) {
  VIDQ_REQUIRE_PG(pg);
  both("INSERT INTO jobs(model, prompt, request_id) VALUES ('cogvideox-3', 'x', 'vq1-1-a')");
  both(
      "INSERT INTO charges(job_id, attempt, request_id, account, model, batch, price, origin) "
      "VALUES (1, 1, 'r1', 'a', 'm', 'b', 1000, 'accepted')");
  for (const std::string bad : {
           "INSERT INTO jobs(model, prompt, state) VALUES ('cogvideox-3', 'x', 'done')",
           "INSERT INTO jobs(model, prompt, params) VALUES ('cogvideox-3', 'x', '{not json')",
           "INSERT INTO jobs(prompt) VALUES ('no model')",
           "INSERT INTO jobs(model, request_id) VALUES ('cogvideox-3', 'vq1-1-a')",
           "INSERT INTO account_pauses(account, reason, paused_by) VALUES ('a', 'r', 'nobody')",
           "INSERT INTO charges(job_id, attempt, request_id, account, model, batch, price, origin) "
           "VALUES (1, 1, 'r2', 'a', 'm', 'b', -1, 'accepted')",
           "INSERT INTO charges(job_id, attempt, request_id, account, model, batch, price, origin) "
           "VALUES (1, 1, 'r1', 'a', 'm', 'b', 5, 'accepted')",
           "INSERT INTO charges(job_id, attempt, request_id, account, model, batch, price, origin) "
           "VALUES (1, 1, 'r3', 'a', 'm', 'b', 5, 'gift')",
           "UPDATE charges SET refunded = price + 1",
           "INSERT INTO notices(event) VALUES ('job_exploded')",
           "INSERT INTO notices(event, payload) VALUES ('budget_blocked', 'nope')",
           "INSERT INTO duration_samples(job_id, model, params, at_least_ms, at_most_ms, at) "
           "VALUES (1, 'm', '{}', 10, 10, 0)",
       }) {
    EXPECT_FALSE(lite.db.exec(bad)) << "the oracle: " << bad;
    EXPECT_NE(pg_error(bad), "") << bad;
  }
  for (const std::string good : {"INSERT INTO jobs(model, params) VALUES ('m', '[1, 2]')",
                                 "INSERT INTO jobs(model, params) VALUES ('m', '{\"a\": {\"b\": null}}')",
                                 "UPDATE charges SET refunded = price"}) {
    EXPECT_TRUE(lite.db.exec(good)) << "the oracle: " << good;
    EXPECT_EQ(pg_error(good), "") << good;
  }
}

TEST_F(PgSchema, EveryStateChangeWritesSQLitesHistoryDetail) {
  VIDQ_REQUIRE_PG(pg);
  for (const char* sql : {
           "INSERT INTO jobs(model, prompt) VALUES ('cogvideox-3', 'a'), ('cogvideox-3', 'b')",
           "UPDATE jobs SET state = 'submitting', attempts = 1, request_id = 'vq1-1-ab', "
           "updated_at = updated_at + 1000 WHERE id = 1",
           "UPDATE jobs SET state = 'processing', task_id = 'task-7' WHERE id = 1",
           "UPDATE jobs SET state = 'downloading', video_url = 'https://cdn/v.mp4' WHERE id = 1",
           "UPDATE jobs SET state = 'succeeded', video_path = '/out/1.mp4', video_bytes = 1234 WHERE id = 1",
           "UPDATE jobs SET state = 'cancelled', error_code = 'cancelled', error_message = 'by hand' WHERE id = 2",
           "UPDATE jobs SET state = 'queued', error_code = NULL WHERE id = 2",
           "UPDATE jobs SET state = 'failed', error_code = '1301', error_message = NULL WHERE id = 2",
           "UPDATE jobs SET prompt = 'y'",                // not a state change: no event
           "UPDATE jobs SET state = state WHERE id = 2",  // nor is this
       }) {
    both(sql);
  }
  const std::string events =
      "SELECT job_id, from_state, to_state, coalesce(detail, 'NULL') FROM job_events ORDER BY id";
  expect_same(events, true);
  EXPECT_EQ(pg_rows(events),
            (rows{"1|queued|submitting|attempt 1, request vq1-1-ab", "1|submitting|processing|task task-7",
                  "1|processing|downloading|NULL", "1|downloading|succeeded|/out/1.mp4 (1234 bytes)",
                  "2|queued|cancelled|cancelled: by hand", "2|cancelled|queued|requeued by operator",
                  "2|queued|failed|1301: "}));
  EXPECT_EQ(pg.scalar("SELECT at FROM job_events WHERE id = 1"), pg.scalar("SELECT updated_at FROM jobs WHERE id = 1"))
      << "a change that moved updated_at is stamped with it";
}

// SQLite 0003's jobs_back_to_pool (a nested UPDATE there, a BEFORE trigger here).
TEST_F(PgSchema, APoolJobGoesBackToThePoolWhenRequeued) {
  VIDQ_REQUIRE_PG(pg);
  for (const char* sql : {
           "INSERT INTO jobs(model, prompt, account) VALUES ('cogvideox-3', 'x', '*'), ('cogvideox-3', 'y', 'main')",
           // a pool claim writes the serving account and keeps the request
           "UPDATE jobs SET state = 'submitting', account = 'main', requested_account = '*' WHERE id = 1",
           "UPDATE jobs SET state = 'submitting' WHERE id = 2",
           "UPDATE jobs SET state = 'queued', error_code = '1302', error_message = 'full'",
       }) {
    both(sql);
  }
  const std::string accounts = "SELECT id, account, coalesce(requested_account, 'NULL') FROM jobs ORDER BY id";
  expect_same(accounts, true);
  EXPECT_EQ(pg_rows(accounts), (rows{"1|*|NULL", "2|main|NULL"}));
  expect_same("SELECT job_id, to_state, detail FROM job_events ORDER BY id", true);
}

TEST_F(PgSchema, HistoryIsAppendOnlyButRetentionMayDeleteIt) {
  VIDQ_REQUIRE_PG(pg);
  both("INSERT INTO jobs(model, prompt) VALUES ('cogvideox-3', 'x'), ('cogvideox-3', 'y')");
  both("UPDATE jobs SET state = 'cancelled'");
  const std::string rewrite = "UPDATE job_events SET detail = 'rewritten'";
  EXPECT_FALSE(lite.db.exec(rewrite)) << "the oracle";
  EXPECT_NE(pg_error(rewrite).find("job_events is append-only"), std::string::npos);
  both("DELETE FROM job_events WHERE job_id = 1");  // housekeeping's events rule
  both("DELETE FROM jobs");                         // the cascade takes job 2's
  expect_same("SELECT count(*) FROM job_events");
  EXPECT_EQ(pg.scalar("SELECT count(*) FROM job_events"), 0);
}

TEST_F(PgSchema, ViewsGiveSQLitesFigures) {
  VIDQ_REQUIRE_PG(pg);
  both(
      "INSERT INTO jobs(model, prompt, batch, account, state, cost, updated_at, finished_at, next_poll_at, "
      "error_code, error_message, task_id) VALUES "
      "('cogvideox-3', 'x', 'b1', 'main', 'succeeded', 1000, 1700000000000, 1700000000000, NULL, NULL, NULL, 't1'),"
      "('cogvideox-3', 'x', 'b1', 'main', 'queued', 0, 1700000000000, NULL, NULL, NULL, NULL, NULL),"
      "('cogvideox-3', 'x', 'b1', 'main', 'failed', 1000, 1700000100000, 1700000100000, NULL, '1301', 'unsafe', 't3'),"
      "('vidu2-image', 'x', 'b2', 'alt', 'processing', 0, 9000000000000, NULL, 0, NULL, NULL, 't4'),"
      "('vidu2-image', 'x', 'b2', 'alt', 'submitting', 0, 0, NULL, NULL, NULL, NULL, NULL),"
      "('cogvideox-3', 'x', 'b2', 'main', 'downloading', 0, 9000000000000, NULL, NULL, NULL, NULL, 't6'),"
      "('cogvideox-3', 'x', 'b3', 'main', 'failed', 0, 1600000000000, NULL, NULL, 'poll_deadline', 'slow', 't7'),"
      "('cogvideox-3', 'x', 'b3', 'main', 'cancelled', 0, 1700000000000, 1700000000000, NULL, NULL, NULL, NULL)");
  both(
      "INSERT INTO charges(job_id, attempt, request_id, task_id, account, model, batch, price, origin, at) VALUES "
      "(1, 1, 'r1a', 't0', 'main', 'cogvideox-3', 'b1', 1000, 'accepted', 1700000000000),"
      "(1, 2, 'r1b', 't1', 'main', 'cogvideox-3', 'b1', 1000, 'accepted', 1700000000000),"
      "(3, 1, 'r3', 't3', 'main', 'cogvideox-3', 'b1', 1000, 'accepted', 1700086400000),"
      "(4, 1, 'r4', 't4', 'alt', 'vidu2-image', 'b2', 500, 'accepted', 1700086400000),"
      "(5, 1, 'r5', NULL, 'alt', 'vidu2-image', 'b2', 500, 'ambiguous', 1700086400000),"
      "(6, 1, 'r6', 't6', 'main', 'cogvideox-flash', 'b2', 0, 'accepted', 1700086400000)");
  both("UPDATE charges SET refunded = 400 WHERE request_id = 'r3'");
  both(
      "INSERT INTO account_pauses(account, reason, until, paused_by, at) VALUES ('alt', '1113: arrears', NULL, "
      "'provider', 5), ('main', 'by hand', 1700000000000, 'operator', 6)");
  both(
      "INSERT INTO notice_deliveries(notice_id, target, attempts, next_attempt_at, last_error, delivered_at) "
      "SELECT id, 'hook', 1, 1700000000000, 'HTTP 500', NULL FROM notices UNION ALL "
      "SELECT id, 'cmd', 1, 1700000000000, NULL, 1700000000999 FROM notices");

  expect_same("SELECT * FROM batch_state_counts");
  const std::string progress =
      "SELECT batch, total, queued, running, succeeded, failed, cancelled, pct_done, "
      "CAST(round(spent_cny * 1000) AS BIGINT) FROM batch_progress";
  expect_same(progress);
  EXPECT_EQ(sorted(pg_rows(progress)),
            (rows{"b1|3|1|0|1|1|0|66.7|2600", "b2|3|0|3|0|0|0|0.0|1000", "b3|2|0|0|0|1|1|100.0|0"}));
  expect_same("SELECT * FROM inflight_by_account");
  EXPECT_EQ(pg.text("SELECT in_flight || ' ' || submitting || ' ' || processing FROM inflight_by_account "
                    "WHERE account = 'alt'"),
            "2 1 1");
  expect_same("SELECT * FROM recent_failures", true);
  EXPECT_EQ(pg_rows("SELECT id, failed_at FROM recent_failures"),
            (rows{"3|2023-11-14 22:15:00", "7|2020-09-13 12:26:40"}))
      << "newest first, a failure without finished_at last, as SQLite sorts NULL";
  expect_same("SELECT id, batch, model, state, task_id, polls, last_change FROM stuck");
  EXPECT_EQ(pg.text("SELECT string_agg(id::text, ',' ORDER BY id) FROM stuck"), "4,5");
  const std::string spend =
      "SELECT day, account, model, jobs, tasks, CAST(round(spent_cny * 1000) AS BIGINT), "
      "CAST(round(refunded_cny * 1000) AS BIGINT) FROM spend_by_day";
  expect_same(spend);
  EXPECT_EQ(sorted(pg_rows(spend)),
            (rows{"2023-11-14|main|cogvideox-3|1|2|2000|0", "2023-11-15|alt|vidu2-image|2|2|1000|0",
                  "2023-11-15|main|cogvideox-3|1|1|600|400", "2023-11-15|main|cogvideox-flash|1|1|0|0"}));
  expect_same("SELECT * FROM batch_open_jobs");
  expect_same("SELECT * FROM batch_finished_counts");
  expect_same("SELECT * FROM notice_status");
  EXPECT_EQ(pg.scalar("SELECT count(*) FROM notice_status WHERE status = 'pending'"), 2);
  for (const char* account : {"alt", "main"}) {
    const std::string sql = std::string("SELECT payload FROM account_pause_payloads WHERE account = '") + account + "'";
    EXPECT_EQ(boost::json::parse(pg.text(sql)), boost::json::parse(lite.text(sql))) << account;
  }
}

// SQLite's ledger has no trigger: its behaviour is the UNIQUE(request_id) upsert of
// store::record_charge and the CHECKs, which must act the same here.
TEST_F(PgSchema, TheLedgerUpsertKeepsOneChargePerRequestLikeSQLite) {
  VIDQ_REQUIRE_PG(pg);
  const auto charge = [](const std::string& request, const std::string& task, const std::string& origin) {
    return "INSERT INTO charges(job_id, attempt, request_id, task_id, account, model, batch, price, origin, at) "
           "VALUES (1, 1, '" +
           request + "', " + task + ", 'main', 'cogvideox-3', 'spring', 1000, '" + origin +
           "', 1700000000000) ON CONFLICT(request_id) DO UPDATE SET "
           "origin = CASE WHEN charges.task_id IS NULL AND excluded.task_id IS NOT NULL THEN excluded.origin "
           "ELSE charges.origin END, task_id = coalesce(charges.task_id, excluded.task_id)";
  };
  both(charge("r1", "NULL", "ambiguous"));     // the POST got no answer
  both(charge("r1", "'task-7'", "accepted"));  // a resubmit with the same request id proves the task
  both(charge("r1", "'task-8'", "accepted"));  // a replay changes nothing
  both(charge("r2", "'task-9'", "duplicate"));
  const std::string ledger = "SELECT request_id, coalesce(task_id, 'NULL'), origin, price, refunded FROM charges";
  expect_same(ledger);
  EXPECT_EQ(sorted(pg_rows(ledger)), (rows{"r1|task-7|accepted|1000|0", "r2|task-9|duplicate|1000|0"}));
  both("UPDATE charges SET refunded = price WHERE task_id = 'task-9'");
  const std::string spend =
      "SELECT jobs, tasks, CAST(round(spent_cny * 1000) AS BIGINT), "
      "CAST(round(refunded_cny * 1000) AS BIGINT) FROM spend_by_day";
  expect_same(spend);
  EXPECT_EQ(pg_rows(spend), rows{"1|2|1000|1000"});
}

// The triggers of SQLite 0007, driven by raw UPDATEs shaped like the daemon's records.
TEST_F(PgSchema, DurationSamplesLikeSQLite) {
  VIDQ_REQUIRE_PG(pg);
  both(
      "INSERT INTO jobs(model, prompt, params) SELECT 'cogvideox-3', 'x', '{\"n\":' || n || '}' "
      "FROM (SELECT 1 AS n UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 "
      "UNION ALL SELECT 6) AS t ORDER BY n");
  const auto running = [](int id, const char* seen) {
    return "UPDATE jobs SET state = 'processing', submitted_at = 1000, seen_running_at = " + std::string(seen) +
           ", updated_at = 2000 WHERE id = " + std::to_string(id);
  };
  for (const std::string& sql : std::vector<std::string>{
           running(1, "41000"),  // seen running at 40 s, done at 52 s
           "UPDATE jobs SET state = 'downloading', video_url = 'u', updated_at = 53000 WHERE id = 1",
           // a re-poll for fresh URLs teaches nothing new
           "UPDATE jobs SET state = 'processing', updated_at = 54000 WHERE id = 1",
           "UPDATE jobs SET state = 'downloading', video_url = 'u2', updated_at = 55000 WHERE id = 1",
           running(2, "901000"),  // given up at poll_deadline: at least 900 s
           "UPDATE jobs SET state = 'failed', error_code = 'poll_deadline', updated_at = 902000 WHERE id = 2",
           running(3, "31000"),  // a provider FAIL: no sample
           "UPDATE jobs SET state = 'failed', error_code = '1301', updated_at = 32000 WHERE id = 3",
           running(4, "61000"),  // cancelled while running: at least 60 s
           "UPDATE jobs SET state = 'cancelled', updated_at = 62000 WHERE id = 4",
           running(5, "NULL"),  // never seen running: at least 0
           "UPDATE jobs SET state = 'downloading', video_url = 'u', updated_at = 9000 WHERE id = 5",
           running(6, "9000"),  // seen running at the very moment it was seen done
           "UPDATE jobs SET state = 'downloading', video_url = 'u', updated_at = 9000 WHERE id = 6",
       }) {
    both(sql);
  }
  const std::string samples =
      "SELECT job_id, model, params, at_least_ms, coalesce(at_most_ms, -1), at FROM duration_samples ORDER BY id";
  expect_same(samples, true);
  EXPECT_EQ(pg_rows(samples),
            (rows{"1|cogvideox-3|{\"n\":1}|40000|52000|53000", "2|cogvideox-3|{\"n\":2}|900000|-1|902000",
                  "4|cogvideox-3|{\"n\":4}|60000|-1|62000", "5|cogvideox-3|{\"n\":5}|0|8000|9000",
                  "6|cogvideox-3|{\"n\":6}|7999|8000|9000"}));
}

// The outbox triggers of SQLite 0006 (tests/component/notice_store_test.cpp), including a
// multi-row UPDATE and DELETE that must finish a batch once, as SQLite's per-row triggers do.
TEST_F(PgSchema, NoticesLikeSQLite) {
  VIDQ_REQUIRE_PG(pg);
  const auto add = [&](const std::string& batch, int n) {
    for (int i = 0; i < n; ++i) {
      both("INSERT INTO jobs(model, prompt, batch) VALUES ('cogvideox-3', 'p', '" + batch + "')");
    }
  };
  add("b", 3);      // ids 1-3
  add("other", 1);  // 4
  add("c", 20);     // 5-24
  add("d", 2);      // 25-26
  for (const char* sql : {
           "UPDATE jobs SET state = 'submitting' WHERE id = 1",
           "UPDATE jobs SET state = 'succeeded', cost = 1250, video_path = '/v/1.mp4' WHERE id = 1",
           "UPDATE jobs SET state = 'failed', error_code = '1301', error_message = 'unsafe' WHERE id = 2",
           "UPDATE jobs SET state = 'cancelled' WHERE id = 3",  // finishes b
           "UPDATE jobs SET state = 'processing' WHERE batch = 'c' AND id <= 10",
           "UPDATE jobs SET state = 'cancelled' WHERE batch = 'c'",  // one notice for the batch
           "UPDATE jobs SET state = 'failed' WHERE batch = 'd'",
           "UPDATE jobs SET state = 'queued' WHERE id = 26",  // vidq retry
           "DELETE FROM jobs WHERE id = 26",                  // the last open job of d: d finishes again
           "DELETE FROM jobs WHERE id = 25",                  // a finished job: nothing to finish
           "INSERT INTO account_pauses(account, reason, paused_by) VALUES ('main', '1113: arrears', 'provider')",
           "INSERT INTO account_pauses(account, reason, paused_by) VALUES ('main', 'again', 'provider') "
           "ON CONFLICT(account) DO UPDATE SET reason = excluded.reason, paused_by = excluded.paused_by",
           "INSERT INTO account_pauses(account, reason, paused_by) VALUES ('main', 'by hand', 'operator') "
           "ON CONFLICT(account) DO UPDATE SET reason = excluded.reason, paused_by = excluded.paused_by",
       }) {
    both(sql);
  }
  const std::string notices =
      "SELECT event, coalesce(job_id, 0), coalesce(batch, ''), coalesce(account, ''), fanned_out FROM notices";
  expect_same(notices);
  EXPECT_EQ(
      sorted(pg_rows(notices)),
      sorted(rows{"account_paused|0||main|0", "account_paused|0||main|0", "batch_finished|0|b||0",
                  "batch_finished|0|c||0", "batch_finished|0|d||0", "batch_finished|0|d||0", "job_failed|2|b|default|0",
                  "job_failed|25|d|default|0", "job_failed|26|d|default|0", "job_succeeded|1|b|default|0"}));
  // The payloads are the same JSON (PostgreSQL spaces it differently).
  const std::string payloads = "SELECT payload FROM notices ORDER BY event, job_id, batch, account, payload";
  const rows l = lite_rows(payloads), p = pg_rows(payloads);
  ASSERT_EQ(l.size(), p.size());
  for (std::size_t i = 0; i < l.size(); ++i) EXPECT_EQ(boost::json::parse(p[i]), boost::json::parse(l[i])) << l[i];
}

TEST_F(PgSchema, PostgresOnlyOwnershipNodesAndLanes) {
  VIDQ_REQUIRE_PG(pg);
  pg.exec("INSERT INTO jobs(model, prompt) VALUES ('cogvideox-3', 'x')");
  pg.exec(
      "INSERT INTO nodes(node, host, pid, started_at, lease_until) VALUES ('n1', 'h1', 1, 0, 10), "
      "('n2', 'h2', 2, 0, 99999999999999)");
  pg.exec("INSERT INTO lanes(account, model, cap) VALUES ('main', 'cogvideox-3', 5)");
  EXPECT_EQ(pg.text("SELECT cap || ' ' || coalesce(limit_now::text, 'cap') || ' ' || backoff_until FROM lanes "
                    "WHERE account = 'main' AND model = 'cogvideox-3' FOR UPDATE"),
            "5 cap 0");
  // n1 claims, its lease expires, n2 adopts: n1's guarded write then changes nothing.
  pg.exec("UPDATE jobs SET state = 'submitting', owner = 'n1', epoch = epoch + 1 WHERE id = 1");
  EXPECT_EQ(pg.scalar("SELECT count(*) FROM jobs WHERE owner IN (SELECT node FROM nodes WHERE lease_until < 1000) "
                      "AND state IN ('submitting', 'processing', 'downloading')"),
            1);
  pg.exec("UPDATE jobs SET owner = 'n2', epoch = epoch + 1 WHERE id = 1 AND owner = 'n1' AND epoch = 1");
  EXPECT_EQ(pg_rows("UPDATE jobs SET state = 'processing' WHERE id = 1 AND owner = 'n1' AND epoch = 1 RETURNING id"),
            rows{});
  EXPECT_EQ(pg.text("SELECT state || ' ' || owner || ' ' || epoch FROM jobs"), "submitting n2 2");
  EXPECT_NE(pg.text("SELECT indexdef FROM pg_indexes WHERE indexname = 'jobs_owner'").find("WHERE"), std::string::npos);
  EXPECT_NE(pg_error("INSERT INTO nodes(node) VALUES ('n3')"), "") << "a node without a lease";
}

// Notifications the listener has received within `ms` (all of them: waits the whole time).
int notifications(PGconn* listener, int ms, int enough = 1'000) {
  int got = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (got < enough) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd fd{PQsocket(listener), POLLIN, 0};
    if (::poll(&fd, 1, static_cast<int>(left.count())) <= 0) continue;
    EXPECT_EQ(PQconsumeInput(listener), 1) << PQerrorMessage(listener);
    while (PGnotify* n = PQnotifies(listener)) {
      EXPECT_STREQ(n->relname, "vidq_jobs");
      EXPECT_STREQ(n->extra, "");
      PQfreemem(n);
      ++got;
    }
  }
  return got;
}

TEST_F(PgSchema, AQueuedRowWakesListenersAndNothingElseDoes) {
  VIDQ_REQUIRE_PG(pg);
  conn_ptr listener = connect(pg.conninfo());
  result_ptr listening(PQexec(listener.get(), "LISTEN vidq_jobs"));
  ASSERT_EQ(PQresultStatus(listening.get()), PGRES_COMMAND_OK) << PQresultErrorMessage(listening.get());
  constexpr int quiet_ms = 300, arrival_ms = 10'000;

  pg.exec("INSERT INTO jobs(model, prompt) VALUES ('cogvideox-3', 'x')");  // any client's plain INSERT
  EXPECT_EQ(notifications(listener.get(), arrival_ms, 1), 1);
  pg.exec("INSERT INTO jobs(model, prompt) SELECT 'cogvideox-3', 'bulk' FROM generate_series(1, 100)");
  EXPECT_EQ(notifications(listener.get(), arrival_ms, 1), 1);
  EXPECT_EQ(notifications(listener.get(), quiet_ms), 0) << "one wake-up for a bulk insert, not one per row";

  pg.exec("UPDATE jobs SET state = 'submitting' WHERE id = 1");  // a claim leaves nothing queued
  pg.exec("UPDATE jobs SET state = 'cancelled' WHERE prompt = 'bulk'");
  pg.exec("BEGIN; INSERT INTO jobs(model, prompt) VALUES ('cogvideox-3', 'y'); ROLLBACK;");
  pg.exec("INSERT INTO jobs(model, prompt, state) VALUES ('cogvideox-3', 'z', 'cancelled')");
  EXPECT_EQ(notifications(listener.get(), quiet_ms), 0);

  pg.exec("UPDATE jobs SET state = 'queued' WHERE id = 1");  // a requeue is work again
  EXPECT_EQ(notifications(listener.get(), arrival_ms, 1), 1);
}

}  // namespace
}  // namespace vidq::store
