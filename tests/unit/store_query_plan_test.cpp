// The daemon's hot queries must stay O(log n) (or O(active rows)) at a million jobs.
// Checked two ways that do not depend on machine speed: the query plan names an index,
// and SQLite's own count of virtual-machine steps stays small on a 1,000,000-row table.

#include "vidq/store/dispatch_store.hpp"

#include "support/test_db.hpp"

#include <gtest/gtest.h>

#include <iostream>

namespace vidq::store {
namespace {

std::vector<std::string> plan(database& db, const std::string& sql) {
  auto stmt = db.prepare("EXPLAIN QUERY PLAN " + sql);
  EXPECT_TRUE(stmt) << db.last_error();
  std::vector<std::string> details;
  while (stmt->step().value()) details.push_back(stmt->get_text(3));
  return details;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

TEST(StoreQueryPlan, HotQueriesUseIndexes) {
  test::test_db t;
  for (const auto& q : dispatch_store::hot_queries()) {
    const auto details = plan(t.db, q.sql);
    ASSERT_FALSE(details.empty()) << q.name;
    for (const auto& d : details) {
      const bool full_scan = d.starts_with("SCAN jobs") && d.find("INDEX") == std::string::npos;
      EXPECT_FALSE(full_scan) << q.name << " scans the whole table:\n" << joined(details);
      EXPECT_EQ(d.find("USE TEMP B-TREE"), std::string::npos) << q.name << " sorts:\n" << joined(details);
    }
  }
}

TEST(StoreQueryPlan, OperatorQueriesUseIndexes) {
  test::test_db t;
  const char* queries[] = {
      "SELECT id FROM jobs WHERE key = 'k'",
      "SELECT id FROM job_events WHERE job_id = 1 ORDER BY id",
      "SELECT * FROM recent_failures",
      "SELECT batch, sum(cost) FROM jobs WHERE state <> 'queued' GROUP BY batch",
  };
  for (const char* sql : queries) {
    const auto details = joined(plan(t.db, sql));
    EXPECT_NE(details.find("INDEX"), std::string::npos) << sql << "\n" << details;
  }
}

// Virtual-machine steps of one execution of `sql` (all rows), a machine-independent cost.
std::int64_t vm_steps(database& db, const std::string& sql, const std::vector<std::string>& text_args = {},
                      std::vector<std::int64_t> int_args = {}) {
  auto stmt = db.prepare(sql);
  EXPECT_TRUE(stmt) << db.last_error();
  int index = 1;
  for (const auto& a : text_args) stmt->bind(index++, a);
  for (const auto a : int_args) stmt->bind(index++, a);
  while (stmt->step().value()) {
  }
  return sqlite3_stmt_status(stmt->handle(), SQLITE_STMTSTATUS_VM_STEP, 0);
}

TEST(StoreQueryPlan, MillionRowTableCostsTheHotQueriesAlmostNothing) {
  test::test_db t;
  // 1,000,000 rows: 990,000 finished, 9,000 queued across 30 batches, 1,000 processing.
  t.exec(
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000) "
      "INSERT INTO jobs(model, prompt, batch, state, next_poll_at, cost, finished_at) "
      "SELECT CASE (i / 7) % 3 WHEN 0 THEN 'cogvideox-3' WHEN 1 THEN 'cogvideox-2' ELSE 'vidu2-image' END, "
      "'prompt ' || i, 'batch-' || (i % 30), "
      "CASE WHEN i <= 9000 THEN 'queued' WHEN i <= 10000 THEN 'processing' ELSE 'succeeded' END, "
      "CASE WHEN i > 9000 AND i <= 10000 THEN i * 1000 END, "
      "CASE WHEN i > 10000 THEN 1000 ELSE 0 END, CASE WHEN i > 10000 THEN i END "
      "FROM n");
  ASSERT_EQ(t.scalar("SELECT count(*) FROM jobs"), 1'000'000);
  t.exec("ANALYZE");

  dispatch_store dispatch(t.db, t.clock);
  const auto groups = dispatch.queued_groups().value();
  EXPECT_EQ(groups.size(), 90u);  // 3 models x 30 batches

  const auto hot = dispatch_store::hot_queries();
  auto sql_of = [&](std::string_view name) {
    for (const auto& q : hot) {
      if (q.name == name) return std::string(q.sql);
    }
    return std::string();
  };
  // A full scan of a million rows costs millions of steps; an index seek a few dozen.
  constexpr std::int64_t budget = 50'000;
  EXPECT_LT(vm_steps(t.db, sql_of("first_group")), budget);
  EXPECT_LT(vm_steps(t.db, sql_of("next_priority"), {"default", "cogvideox-2"}, {0}), budget);
  EXPECT_LT(vm_steps(t.db, sql_of("next_model"), {"default", "cogvideox-2"}), budget);
  EXPECT_LT(vm_steps(t.db, sql_of("next_account"), {"default"}), budget);
  EXPECT_LT(vm_steps(t.db, sql_of("inflight")), budget);
  EXPECT_LT(vm_steps(t.db, sql_of("due_polls"), {}, {9'500'000, 100}), budget);
  EXPECT_LT(vm_steps(t.db, sql_of("next_poll")), budget);
  EXPECT_LT(vm_steps(t.db, sql_of("transient"), {}, {0, 100}), budget);
  auto claimed = dispatch.claim(groups.front(), 20).value();
  EXPECT_EQ(claimed.size(), 20u);
  auto stmt = t.db.prepare(sql_of("claim"));
  ASSERT_TRUE(stmt);
  stmt->bind(1, "default").bind(2, "cogvideox-3").bind(3, 0).bind(4, "batch-3").bind(5, 20).bind(6, t.clock.now());
  stmt->bind(7, "default");  // the serving account: the row's own (a pinned claim)
  while (stmt->step().value()) {
  }
  EXPECT_LT(sqlite3_stmt_status(stmt->handle(), SQLITE_STMTSTATUS_VM_STEP, 0), budget);
  // The per-batch counts of `vidq status` read indexes only, never the table.
  const auto status_plan = joined(plan(t.db, "SELECT * FROM batch_state_counts"));
  EXPECT_EQ(status_plan.find("SCAN jobs\n"), std::string::npos) << status_plan;
  EXPECT_NE(status_plan.find("COVERING INDEX jobs_batch_progress"), std::string::npos) << status_plan;
}

// VM steps of everything `run` executes on `db`'s connection: every prepared statement's
// counter is zeroed first and summed after, so a query the code under test prepares (or
// caches) is counted without the test knowing its SQL.
template <class Run>
std::int64_t connection_vm_steps(database& db, Run&& run) {
  for (auto* s = sqlite3_next_stmt(db.handle(), nullptr); s != nullptr; s = sqlite3_next_stmt(db.handle(), s)) {
    sqlite3_stmt_status(s, SQLITE_STMTSTATUS_VM_STEP, 1);
  }
  run();
  std::int64_t steps = 0;
  for (auto* s = sqlite3_next_stmt(db.handle(), nullptr); s != nullptr; s = sqlite3_next_stmt(db.handle(), s)) {
    steps += sqlite3_stmt_status(s, SQLITE_STMTSTATUS_VM_STEP, 0);
  }
  return steps;
}

// `rows` queued jobs of one account and model, spread evenly over `batches` batches.
void fill_queue(test::test_db& t, int rows, int batches) {
  t.exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " + std::to_string(rows) +
         ") INSERT INTO jobs(model, prompt, batch) "
         "SELECT 'cogvideox-3', 'prompt ' || i, printf('batch-%02d', i % " + std::to_string(batches) + ") FROM n");
  t.exec("ANALYZE");
}

// The store's share of one admission pass (daemon/admit.cpp): the in-flight counts, the
// list of queued groups and a claim of 20 rows. Issue 13 measured queued_groups() at 3-4 ms a
// group with 20,000 rows per group: each seek walked the previous group's index entries.
// The pass must cost the same with 1,000,000 rows queued as with 1,000.
TEST(StoreQueryPlan, AnAdmissionPassCostsTheSameAtAMillionQueuedRows) {
  auto pass_steps = [](int rows) {
    test::test_db t;
    fill_queue(t, rows, 50);
    dispatch_store dispatch(t.db, t.clock);
    std::size_t groups = 0;
    const auto steps = connection_vm_steps(t.db, [&] {
      ASSERT_TRUE(dispatch.inflight_counts());
      const auto g = dispatch.queued_groups().value();
      groups = g.size();
      ASSERT_FALSE(g.empty());
      EXPECT_EQ(dispatch.claim(g.back(), 20).value().size(), 20u);
    });
    EXPECT_EQ(groups, 50u);
    return steps;
  };
  const auto small = pass_steps(1'000);
  const auto large = pass_steps(1'000'000);
  RecordProperty("vm_steps_1k", std::to_string(small));
  RecordProperty("vm_steps_1m", std::to_string(large));
  std::cout << "admission pass VM steps: " << small << " at 1,000 queued rows, " << large
            << " at 1,000,000\n";
  EXPECT_LT(large, small * 3 / 2) << "the pass grows with the queue";
  EXPECT_LT(large, 20'000) << "about 50 index seeks, a few dozen steps each";
}

}  // namespace
}  // namespace vidq::store
