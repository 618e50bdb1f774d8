#include "vidq/store/dispatch_store.hpp"

#include "vidq/store/sqlite.hpp"

#include <string>

namespace vidq::store {
namespace {

// INDEXED BY pins each hot query to its partial index. Without statistics the planner may
// prefer the general jobs_state_id index plus a sort, which is O(queued rows) instead of
// O(log n); INDEXED BY turns that into an error at prepare time instead of a slow daemon.

// Loose index scan over the jobs_queued index, one seek per group. The group after
// (account, model, priority, batch) is the first row past that key prefix: a later batch
// of the same priority, else a later priority, else a later model, else a later account.
// Each step is its own query with equality on the leading columns and one range on the
// next, which SQLite answers with a single SeekGT past the whole prefix. The row-value form
// `(account, model, priority, batch) > (...)` that this replaced seeks on `account` only
// and then walked every index entry of the previous group (issue 13: 3-4 ms a group at
// 20,000 rows per group).
#define VIDQ_NEXT_GROUP_SELECT "SELECT account, model, priority, batch FROM jobs INDEXED BY jobs_queued WHERE state = 'queued' "
constexpr const char* first_group_sql =
    VIDQ_NEXT_GROUP_SELECT "ORDER BY account, model, priority, batch LIMIT 1";
constexpr const char* next_batch_sql =
    VIDQ_NEXT_GROUP_SELECT "AND account = ?1 AND model = ?2 AND priority = ?3 AND batch > ?4 ORDER BY batch LIMIT 1";
constexpr const char* next_priority_sql =
    VIDQ_NEXT_GROUP_SELECT "AND account = ?1 AND model = ?2 AND priority > ?3 ORDER BY priority, batch LIMIT 1";
constexpr const char* next_model_sql =
    VIDQ_NEXT_GROUP_SELECT "AND account = ?1 AND model > ?2 ORDER BY model, priority, batch LIMIT 1";
constexpr const char* next_account_sql =
    VIDQ_NEXT_GROUP_SELECT "AND account > ?1 ORDER BY account, model, priority, batch LIMIT 1";
#undef VIDQ_NEXT_GROUP_SELECT

// How many of the cursor's leading columns each step binds: (account, model, priority, batch).
struct group_step {
  const char* sql;
  int bound_columns;
};
constexpr group_step next_group_steps[] = {
    {next_batch_sql, 4}, {next_priority_sql, 3}, {next_model_sql, 2}, {next_account_sql, 1}};

// The request_id is built from the job id and attempt (readable in logs and at the
// provider) plus 32 random bits, so that two DBs sharing an account never collide.
constexpr const char* claim_sql =
    "UPDATE jobs SET state = 'submitting', attempts = attempts + 1, updated_at = ?6, "
    "request_id = 'vq' || id || '-' || (attempts + 1) || '-' || lower(hex(randomblob(4))), "
    "error_code = NULL, error_message = NULL, "
    // A pool row takes the account that serves it; what it asked for is kept (0003).
    "requested_account = CASE WHEN account <> ?7 THEN account ELSE requested_account END, account = ?7 "
    "WHERE id IN (SELECT id FROM jobs INDEXED BY jobs_queued WHERE state = 'queued' AND account = ?1 AND model = ?2 "
    "AND priority = ?3 AND batch = ?4 AND not_before <= ?6 ORDER BY id LIMIT ?5) "
    "RETURNING " VIDQ_JOB_COLUMNS;

constexpr const char* inflight_sql =
    "SELECT account, model, count(*) FROM jobs INDEXED BY jobs_inflight "
    "WHERE state IN ('submitting', 'processing') "
    "GROUP BY account, model";

constexpr const char* due_polls_sql =
    "SELECT " VIDQ_JOB_COLUMNS
    " FROM jobs INDEXED BY jobs_poll_due WHERE state = 'processing' AND next_poll_at <= ?1 "
    "ORDER BY next_poll_at LIMIT ?2";

constexpr const char* next_poll_sql =
    "SELECT min(next_poll_at) FROM jobs INDEXED BY jobs_poll_due WHERE state = 'processing'";

constexpr const char* transient_sql =
    "SELECT " VIDQ_JOB_COLUMNS
    " FROM jobs INDEXED BY jobs_transient WHERE state IN ('submitting', 'downloading') "
    "LIMIT ?2";  // ?1 (now) is bound but unused

constexpr named_query all_hot_queries[] = {
    {"first_group", first_group_sql},
    {"next_batch", next_batch_sql},
    {"next_priority", next_priority_sql},
    {"next_model", next_model_sql},
    {"next_account", next_account_sql},
    {"claim", claim_sql},
    {"inflight", inflight_sql},
    {"due_polls", due_polls_sql},
    {"next_poll", next_poll_sql},
    {"transient", transient_sql},
};

}  // namespace

std::span<const named_query> dispatch_store::hot_queries() { return all_hot_queries; }

// The first group past `after` (or the very first when `after` is empty), if any.
result<std::optional<queue_group>> dispatch_store::next_group(const std::optional<queue_group>& after) {
  // LIMIT 1 leaves the statement mid-result; reset it so no read holds a snapshot open
  // (a busy statement would pin the WAL and block checkpoints).
  auto read = [](statement& s) {
    queue_group g{s.get_text(0), s.get_text(1), s.get_int64(2), s.get_text(3)};
    s.reset();
    return g;
  };
  if (!after) {
    auto stmt = db_.cached(first_group_sql);
    if (!stmt) return stmt.error();
    auto row = (*stmt)->step();
    if (!row) return row.error();
    if (!*row) return std::optional<queue_group>{};
    return std::optional<queue_group>{read(**stmt)};
  }
  for (const auto& step : next_group_steps) {
    auto stmt = db_.cached(step.sql);
    if (!stmt) return stmt.error();
    auto& s = **stmt;
    s.bind(1, after->account);
    if (step.bound_columns >= 2) s.bind(2, after->model);
    if (step.bound_columns >= 3) s.bind(3, after->priority);
    if (step.bound_columns >= 4) s.bind(4, after->batch);
    auto row = s.step();
    if (!row) return row.error();
    if (*row) return std::optional<queue_group>{read(s)};
  }
  return std::optional<queue_group>{};
}

result<std::vector<queue_group>> dispatch_store::queued_groups() {
  std::vector<queue_group> out;
  std::optional<queue_group> cursor;
  for (;;) {
    auto next = next_group(cursor);
    if (!next) return next.error();
    if (!*next) return out;
    out.push_back(**next);
    cursor = std::move(*next);
  }
}

result<std::vector<job_row>> dispatch_store::claim(const queue_group& group, int limit) {
  return claim(group, limit, group.account);
}

result<std::vector<job_row>> dispatch_store::claim(const queue_group& group, int limit, std::string_view serving_account) {
  auto tx = transaction::begin(db_);
  if (!tx) return tx.error();
  auto stmt = db_.cached(claim_sql);
  if (!stmt) return stmt.error();
  auto& s = **stmt;
  s.bind(1, group.account).bind(2, group.model).bind(3, group.priority).bind(4, group.batch);
  s.bind(5, limit).bind(6, clock_.now()).bind(7, serving_account);
  auto claimed = read_job_rows(s);
  if (!claimed) return claimed.error();
  s.reset();  // a RETURNING statement must be finished before COMMIT
  if (auto r = tx->commit(); !r) return r.error();
  return claimed;
}

result<std::vector<inflight_count>> dispatch_store::inflight_counts() {
  auto stmt = db_.cached(inflight_sql);
  if (!stmt) return stmt.error();
  auto& s = **stmt;
  std::vector<inflight_count> out;
  auto rows = s.for_each_row([&](const statement& r) {
    out.push_back({r.get_text(0), r.get_text(1), r.get_int64(2)});
  });
  if (!rows) return rows.error();
  return out;
}

result<std::vector<job_row>> dispatch_store::rows(const char* sql, int limit) {
  auto stmt = db_.cached(sql);
  if (!stmt) return stmt.error();
  auto& s = **stmt;
  s.bind(1, clock_.now()).bind(2, limit);
  return read_job_rows(s);
}

result<std::vector<job_row>> dispatch_store::due_polls(int limit) { return rows(due_polls_sql, limit); }

result<std::vector<job_row>> dispatch_store::transient_rows() { return rows(transient_sql, -1); }

result<std::vector<dispatch_store::duration_sample>> dispatch_store::recent_duration_samples(int limit) {
  auto stmt =
      db_.cached("SELECT model, params, at_least_ms, at_most_ms FROM duration_samples ORDER BY id DESC LIMIT ?1");
  if (!stmt) return stmt.error();
  auto& s = **stmt;
  s.bind(1, limit);
  std::vector<duration_sample> out;
  auto done = s.for_each_row([&](const statement& row) {
    out.push_back({row.get_text(0), row.get_text(1), row.get_int64(2), row.get_optional_int64(3)});
  });
  s.reset();
  if (!done) return done.error();
  return out;
}

result<std::optional<millis>> dispatch_store::next_poll_time() {
  auto stmt = db_.cached(next_poll_sql);
  if (!stmt) return stmt.error();
  auto row = (*stmt)->step();
  if (!row) return row.error();
  const auto next = (*stmt)->get_optional_int64(0);
  (*stmt)->reset();  // a stepped-but-unfinished statement would keep a read transaction open
  return next;
}

}  // namespace vidq::store
