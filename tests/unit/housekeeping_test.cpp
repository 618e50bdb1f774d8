#include "vidq/store/housekeeping.hpp"

#include "support/test_db.hpp"

#include <gtest/gtest.h>

#include <filesystem>

namespace vidq::store {
namespace {

constexpr millis day = 86'400'000;

// A job that went queued → processing → `state`, finished at `finished_at` (NULL for
// non-terminal states). The trigger writes its two events.
std::int64_t job_in(test::test_db& t, const std::string& state, std::optional<millis> finished_at) {
  t.exec("INSERT INTO jobs(model, prompt) VALUES ('cogvideox-3', 'p')");
  const auto id = t.db.last_insert_rowid();
  const std::string where = " WHERE id = " + std::to_string(id);
  t.exec("UPDATE jobs SET state = 'processing', task_id = 't'" + where);
  if (state != "processing") {
    t.exec("UPDATE jobs SET state = '" + state + "', finished_at = " +
           (finished_at ? std::to_string(*finished_at) : std::string("NULL")) + where);
  }
  return id;
}

std::int64_t count(test::test_db& t, const std::string& sql) { return t.scalar("SELECT count(*) FROM " + sql); }

ops::retention_config keep_jobs(millis age) { return {.finished_jobs = age}; }

TEST(Retention, OffByDefaultDeletesNothing) {
  test::test_db t;
  job_in(t, "succeeded", t.clock.now() - 400 * day);
  const auto out = apply_retention(t.db, ops::retention_config{}, t.clock.now()).value();
  EXPECT_EQ(out.jobs_deleted, 0);
  EXPECT_EQ(out.events_deleted, 0);
  EXPECT_FALSE(out.more);
  EXPECT_EQ(count(t, "jobs"), 1);
}

TEST(Retention, DeletesOnlyFinishedJobsPastTheCutoffWithTheirEvents) {
  test::test_db t;
  const millis now = t.clock.now();
  const auto old_ok = job_in(t, "succeeded", now - 31 * day);
  const auto old_failed = job_in(t, "failed", now - 40 * day);
  const auto old_cancelled = job_in(t, "cancelled", now - 35 * day);
  const auto recent = job_in(t, "succeeded", now - 29 * day);
  const auto running = job_in(t, "processing", std::nullopt);
  // A failed job an operator put back in the queue keeps no finished_at (job_store::retry),
  // and even a stray one must not make a queued job disappear.
  const auto requeued = job_in(t, "failed", now - 50 * day);
  t.exec("UPDATE jobs SET state = 'queued' WHERE id = " + std::to_string(requeued));
  const auto events_before = count(t, "job_events");

  const auto out = apply_retention(t.db, keep_jobs(30 * day), now).value();
  EXPECT_EQ(out.jobs_deleted, 3);
  EXPECT_EQ(out.events_deleted, 6);  // queued→processing, processing→terminal, each
  EXPECT_FALSE(out.more);
  for (auto gone : {old_ok, old_failed, old_cancelled}) {
    EXPECT_EQ(count(t, "jobs WHERE id = " + std::to_string(gone)), 0) << gone;
    EXPECT_EQ(count(t, "job_events WHERE job_id = " + std::to_string(gone)), 0) << gone;
  }
  for (auto kept : {recent, running, requeued}) EXPECT_EQ(count(t, "jobs WHERE id = " + std::to_string(kept)), 1);
  EXPECT_EQ(count(t, "job_events"), events_before - 6);
}

TEST(Retention, WorksInBoundedChunksOldestFirst) {
  test::test_db t;
  const millis now = t.clock.now();
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(job_in(t, "succeeded", now - (100 - i) * day));  // ids[0] oldest

  auto first = apply_retention(t.db, keep_jobs(day), now, 2).value();
  EXPECT_EQ(first.jobs_deleted, 2);
  EXPECT_TRUE(first.more);
  EXPECT_EQ(count(t, "jobs WHERE id IN (" + std::to_string(ids[0]) + "," + std::to_string(ids[1]) + ")"), 0);

  std::int64_t total = first.jobs_deleted;
  for (int calls = 0; calls < 10; ++calls) {
    auto next = apply_retention(t.db, keep_jobs(day), now, 2).value();
    total += next.jobs_deleted;
    if (!next.more) break;
  }
  EXPECT_EQ(total, 5);
  EXPECT_EQ(count(t, "jobs"), 0);
}

TEST(Retention, DeletesTheEventsEvenWithForeignKeysOff) {
  // An operator's sqlite3 shell, or any connection without PRAGMA foreign_keys=ON, would
  // otherwise leave orphan events behind.
  test::test_db t;
  job_in(t, "failed", t.clock.now() - 10 * day);
  t.exec("PRAGMA foreign_keys = OFF");
  const auto out = apply_retention(t.db, keep_jobs(day), t.clock.now()).value();
  EXPECT_EQ(out.jobs_deleted, 1);
  EXPECT_EQ(count(t, "job_events"), 0);
}

TEST(Retention, EventsRuleDeletesOldEventsOfAnyJob) {
  test::test_db t;
  const millis now = t.clock.now();
  t.exec("INSERT INTO jobs(id, model, prompt, state) VALUES (7, 'cogvideox-3', 'p', 'processing')");
  for (millis age : {90 * day, 60 * day, 8 * day, 6 * day, 0 * day}) {
    t.exec("INSERT INTO job_events(job_id, at, to_state) VALUES (7, " + std::to_string(now - age) + ", 'processing')");
  }
  const auto out = apply_retention(t.db, {.events = 7 * day}, now).value();
  EXPECT_EQ(out.events_deleted, 3);
  EXPECT_EQ(out.jobs_deleted, 0);
  EXPECT_EQ(count(t, "job_events"), 2);
  EXPECT_EQ(count(t, "job_events WHERE at < " + std::to_string(now - 7 * day)), 0);
  EXPECT_EQ(count(t, "jobs"), 1);
}

TEST(Retention, EventsRuleReportsMoreWhenItsWindowWasFull) {
  test::test_db t;
  const millis now = t.clock.now();
  t.exec("INSERT INTO jobs(id, model, prompt) VALUES (1, 'cogvideox-3', 'p')");
  t.exec("WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n LIMIT 10) "
         "INSERT INTO job_events(job_id, at, to_state) SELECT 1, " + std::to_string(now - 30 * day) + " + x, 'queued' FROM n");
  auto out = apply_retention(t.db, {.events = day}, now, 4).value();
  EXPECT_EQ(out.events_deleted, 4);
  EXPECT_TRUE(out.more);
  while (out.more) out = apply_retention(t.db, {.events = day}, now, 4).value();
  EXPECT_EQ(count(t, "job_events"), 0);
}

TEST(Retention, NothingIsDeletedWhenTheDatabaseIsLocked) {
  test::test_db t;
  job_in(t, "succeeded", t.clock.now() - 10 * day);
  auto other = database::open(t.dir.file("vidq.db"), {.busy_timeout_ms = 0});
  ASSERT_TRUE(other);
  auto busy = database::open(t.dir.file("vidq.db"), {.busy_timeout_ms = 50});
  ASSERT_TRUE(busy);
  ASSERT_TRUE(other->exec("BEGIN IMMEDIATE"));
  auto out = apply_retention(*busy, keep_jobs(day), t.clock.now());
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error(), errc::database_busy);
  ASSERT_TRUE(other->exec("ROLLBACK"));
  EXPECT_EQ(count(t, "jobs"), 1);
}

// Machine-independent cost: SQLite's virtual-machine steps for one run of `sql`.
std::int64_t vm_steps(database& db, const char* sql, millis cutoff, int limit) {
  auto stmt = db.prepare(sql);
  EXPECT_TRUE(stmt) << db.last_error();
  stmt->bind(1, cutoff).bind(2, limit);
  EXPECT_TRUE(stmt->run());
  return sqlite3_stmt_status(stmt->handle(), SQLITE_STMTSTATUS_VM_STEP, 0);
}

TEST(Retention, LookupsStayCheapOnALargeDatabase) {
  // 200,000 finished jobs and events, none old enough: a call must not walk them.
  test::test_db t;
  const millis now = t.clock.now();
  t.exec("WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n LIMIT 200000) "
         "INSERT INTO jobs(model, prompt, state, finished_at) SELECT 'cogvideox-3', 'p', 'succeeded', " +
         std::to_string(now) + " - x FROM n");
  t.exec("WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n LIMIT 200000) "
         "INSERT INTO job_events(job_id, at, to_state) SELECT x, " + std::to_string(now - day) + " + x, 'succeeded' FROM n");
  const millis cutoff = now - 30 * day;
  for (const auto& q : retention_queries()) {
    auto plan = t.db.prepare(std::string("EXPLAIN QUERY PLAN ") + q.sql);
    ASSERT_TRUE(plan) << q.name << ": " << t.db.last_error();
    std::string details;
    while (plan->step().value()) details += plan->get_text(3) + "\n";
    EXPECT_EQ(details.find("TEMP B-TREE"), std::string::npos) << q.name << "\n" << details;
    if (std::string_view(q.name) == "expired_jobs") {
      EXPECT_NE(details.find("jobs_finished"), std::string::npos) << details;
    }
    EXPECT_LT(vm_steps(t.db, q.sql, cutoff, 500), 20'000) << q.name << "\n" << details;
  }
  // And a real call with 500 rows to delete costs about 500 rows' work.
  auto out = apply_retention(t.db, keep_jobs(1), now - 199'000, 500).value();  // 999 rows match
  EXPECT_EQ(out.jobs_deleted, 500);
  EXPECT_TRUE(out.more);
}

TEST(Checkpoint, PassiveCopiesTheWalBack) {
  test::test_db t;
  for (int i = 0; i < 20; ++i) t.exec("INSERT INTO jobs(model, prompt) VALUES ('cogvideox-3', 'p')");
  const auto out = checkpoint(t.db).value();
  EXPECT_GT(out.wal_frames, 0);
  EXPECT_EQ(out.checkpointed_frames, out.wal_frames);
  EXPECT_FALSE(out.busy);
}

TEST(Checkpoint, TruncateEmptiesTheWalFile) {
  test::test_db t;
  for (int i = 0; i < 20; ++i) t.exec("INSERT INTO jobs(model, prompt) VALUES ('cogvideox-3', 'p')");
  const auto wal = t.dir.path() / "vidq.db-wal";
  ASSERT_GT(std::filesystem::file_size(wal), 0u);
  const auto out = checkpoint(t.db, checkpoint_mode::truncate).value();
  EXPECT_FALSE(out.busy);
  EXPECT_EQ(std::filesystem::file_size(wal), 0u);
}

TEST(Checkpoint, PassiveNeverWaitsForAReader) {
  test::test_db t;
  t.exec("INSERT INTO jobs(model, prompt) VALUES ('cogvideox-3', 'p')");
  auto reader = database::open(t.dir.file("vidq.db"));
  ASSERT_TRUE(reader);
  ASSERT_TRUE(reader->exec("BEGIN"));
  ASSERT_TRUE(reader->exec("SELECT count(*) FROM jobs"));  // holds a snapshot
  t.exec("INSERT INTO jobs(model, prompt) VALUES ('cogvideox-3', 'p')");
  const auto out = checkpoint(t.db).value();  // returns at once, copies what it may
  EXPECT_FALSE(out.busy);
  EXPECT_LT(out.checkpointed_frames, out.wal_frames);
  ASSERT_TRUE(reader->exec("COMMIT"));
}

TEST(Checkpoint, InMemoryDatabaseHasNoWal) {
  auto db = database::open(":memory:");
  ASSERT_TRUE(db);
  const auto out = checkpoint(*db).value();
  EXPECT_EQ(out.wal_frames, 0);
  EXPECT_EQ(out.checkpointed_frames, 0);
}

}  // namespace
}  // namespace vidq::store
