#include "vidq/store/postgres/operator_queries.hpp"

#include "vidq/store/postgres/job_rows.hpp"
#include "vidq/store/postgres/pool.hpp"

#include <boost/json/serialize.hpp>

#include <map>

// GCC 12: every co_await below takes named locals or args(...) (no braced lists, no
// std::string temporaries built inside the co_await expression); see connection.hpp.
namespace vidq::store::pg {

namespace {

using boost::asio::awaitable;

param optional_text(const std::optional<std::string>& s) {
  return s;
}
param state_or_null(const std::optional<job_state>& s) {
  return s ? param(std::string(to_string(*s))) : param();
}

// The columns a new job sets, and their parameters for one row ($first .. $first+8).
constexpr const char* insert_columns =
    "INSERT INTO jobs(key, batch, priority, account, model, prompt, image_url, params, created_at, updated_at) VALUES ";
constexpr int params_per_row = 9;

void add_row(std::string& sql, std::vector<param>& params, const new_job& job, millis now) {
  const int first = static_cast<int>(params.size()) + 1;
  sql += params.size() == 0 ? "(" : ", (";
  for (int i = 0; i < params_per_row; ++i) sql += "$" + std::to_string(first + i) + ", ";
  sql += "$" + std::to_string(first + params_per_row - 1) + ")";
  const auto images = provider::encode_images(job.spec.images);
  params.push_back(optional_text(job.key));
  params.push_back(text(job.batch));
  params.push_back(number(job.priority));
  params.push_back(text(job.account));
  params.push_back(text(job.spec.model));
  params.push_back(job.spec.prompt.empty() ? param() : text(job.spec.prompt));
  params.push_back(images.empty() ? param() : text(images));
  params.push_back(job.spec.params.empty() ? text("{}") : text(boost::json::serialize(job.spec.params)));
  params.push_back(number(now));
}

std::optional<job_row> first_job(const rows& r) {
  if (r.size() == 0) return std::nullopt;
  return read_job_row(r, 0);
}

struct retry_candidate {
  std::int64_t id = 0;
  std::optional<job_state> state;
  bool has_task = false;
  bool task_succeeded = false;
  std::optional<std::string> error_code;
};

constexpr const char* retry_candidate_columns =
    "SELECT id, state, (task_id IS NOT NULL)::int, (video_url IS NOT NULL)::int, error_code FROM jobs ";

retry_candidate read_candidate(const rows& r, int i) {
  return {r.int64(i, 0), parse_job_state(r.text(i, 1)), r.int64(i, 2) != 0, r.int64(i, 3) != 0, r.opt_text(i, 4)};
}

// job_store::retry's two updates; a requeued row has no owner until a daemon claims it, and
// a refetched one none until a daemon adopts it (dispatch::adopt_expired). nullptr: leave
// the row alone.
const char* retry_update(retry_decision decision) {
  switch (decision) {
    case retry_decision::requeue:
      return "UPDATE jobs SET state = 'queued', updated_at = $1, attempts = 0, not_before = 0, request_id = NULL, "
             "task_id = NULL, submitted_at = NULL, next_poll_at = NULL, polls = 0, finished_at = NULL, "
             "video_url = NULL, cover_url = NULL, error_code = NULL, error_message = NULL, refetches = 0, "
             "owner = NULL WHERE id = $2 AND state IN ('failed', 'cancelled')";
    case retry_decision::refetch:
      return "UPDATE jobs SET state = 'processing', updated_at = $1, next_poll_at = $1, finished_at = NULL, "
             "refetches = refetches + 1, error_code = NULL, error_message = NULL, owner = NULL "
             "WHERE id = $2 AND state IN ('failed', 'cancelled') AND task_id IS NOT NULL";
    default:
      return nullptr;
  }
}

}  // namespace

// ---- Jobs ----

awaitable<result<insert_outcome>> insert_job(connection& c, const new_job& job, millis now, std::int64_t* id) {
  std::string sql = insert_columns;
  std::vector<param> params;
  add_row(sql, params, job, now);
  sql += " ON CONFLICT (key) DO NOTHING RETURNING id";
  auto r = co_await c.query(sql, std::move(params));
  if (!r) co_return r.error();
  if (r->size() == 0) co_return insert_outcome::duplicate_key;
  if (id) *id = r->int64(0, 0);
  co_return insert_outcome::inserted;
}

awaitable<result<insert_counts>> insert_jobs(connection& c, std::span<const new_job> jobs, millis now) {
  // Many rows per statement: one round trip per row would make a 1M-line import wait
  // mostly on the network. A key repeated within one statement is skipped like a key
  // already stored (ON CONFLICT DO NOTHING).
  constexpr std::size_t rows_per_statement = 500;
  insert_counts counts;
  for (std::size_t start = 0; start < jobs.size(); start += rows_per_statement) {
    const auto chunk = jobs.subspan(start, std::min(rows_per_statement, jobs.size() - start));
    std::string sql = insert_columns;
    std::vector<param> params;
    params.reserve(chunk.size() * params_per_row);
    for (const auto& job : chunk) add_row(sql, params, job, now);
    sql += " ON CONFLICT (key) DO NOTHING";
    auto r = co_await c.query(sql, std::move(params));
    if (!r) co_return r.error();
    const auto inserted = static_cast<std::size_t>(r->affected());
    counts.inserted += inserted;
    counts.duplicates += chunk.size() - inserted;
  }
  co_return counts;
}

awaitable<result<std::optional<job_row>>> get_job(connection& c, std::int64_t id) {
  auto r = co_await c.query("SELECT " VIDQ_PG_JOB_COLUMNS " FROM jobs WHERE id = $1", args(number(id)));
  if (!r) co_return r.error();
  co_return first_job(*r);
}

awaitable<result<std::optional<job_row>>> get_job_by_key(connection& c, std::string_view key) {
  auto r = co_await c.query("SELECT " VIDQ_PG_JOB_COLUMNS " FROM jobs WHERE key = $1", args(text(key)));
  if (!r) co_return r.error();
  co_return first_job(*r);
}

awaitable<result<std::vector<job_event>>> job_events(connection& c, std::int64_t job_id) {
  auto r = co_await c.query(
      "SELECT id, job_id, at, from_state, to_state, detail FROM job_events WHERE job_id = $1 ORDER BY id",
      args(number(job_id)));
  if (!r) co_return r.error();
  std::vector<job_event> out;
  for (int i = 0; i < r->size(); ++i) {
    out.push_back({r->int64(i, 0), r->int64(i, 1), r->int64(i, 2), r->opt_text(i, 3), std::string(r->text(i, 4)),
                   r->opt_text(i, 5)});
  }
  co_return out;
}

awaitable<result<std::vector<job_row>>> list_jobs(connection& c, const list_filter& filter) {
  // job_store::list's query: NULL filters match everything, newest first; a key names at
  // most one row.
  auto r = co_await c.query("SELECT " VIDQ_PG_JOB_COLUMNS
                            " FROM jobs WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR batch = $2)"
                            " AND ($3::text IS NULL OR model = $3) AND ($5::text IS NULL OR key = $5)"
                            " ORDER BY id DESC LIMIT $4",
                            args(state_or_null(filter.state), optional_text(filter.batch), optional_text(filter.model),
                                 number(filter.limit), optional_text(filter.key)));
  if (!r) co_return r.error();
  co_return read_job_rows(*r);
}

awaitable<result<std::vector<batch_summary>>> batch_summaries(connection& c) {
  // Batches in SQLite's (bytewise) order, whatever the database's collation; so are the
  // accounts of account_pauses() and inflight_counts().
  auto r =
      co_await c.query("SELECT batch, state, count(*) FROM jobs GROUP BY batch, state ORDER BY batch COLLATE \"C\"");
  if (!r) co_return r.error();
  std::vector<batch_summary> out;
  for (int i = 0; i < r->size(); ++i) {
    const auto batch = r->text(i, 0);
    if (out.empty() || out.back().batch != batch) out.push_back({std::string(batch)});
    auto& summary = out.back();
    const auto count = r->int64(i, 2);
    if (auto state = parse_job_state(r->text(i, 1))) summary.by_state[static_cast<int>(*state)] += count;
    summary.total += count;
  }
  auto spent = co_await c.query("SELECT batch, sum(price - refunded) FROM charges GROUP BY batch");
  if (!spent) co_return spent.error();
  std::map<std::string_view, std::int64_t> by_batch;
  for (int i = 0; i < spent->size(); ++i) by_batch[spent->text(i, 0)] = spent->int64(i, 1);
  for (auto& summary : out) {
    if (auto it = by_batch.find(summary.batch); it != by_batch.end()) summary.cost = it->second;
  }
  co_return out;
}

namespace {

// job_store::transition on `c`, inside the caller's transaction. $1 now, $2 batch or id,
// $3 state, $4 error code: job_store::transition's parameters.
awaitable<result<int>> transition(connection& c, millis now, const job_selector& which, std::string_view set_clause,
                                  std::string_view from_states, std::vector<transition_miss>* missed) {
  const std::string where = "state IN (" + std::string(from_states) +
                            ") AND ($3::text IS NULL OR state = $3) AND ($4::text IS NULL OR error_code = $4)";
  const std::string update = "UPDATE jobs SET " + std::string(set_clause) + " WHERE ";
  int changed = 0;
  const bool everything = which.ids.empty() && !which.batch && (which.state || which.error_code);
  if (which.batch || everything) {
    // "$2 IS NULL" when there is no batch: every parameter must appear for PostgreSQL to type it.
    const std::string sql = update + (everything ? "$2::text IS NULL AND " : "batch = $2 AND ") + where;
    auto r = co_await c.query(sql, args(number(now), optional_text(which.batch), state_or_null(which.state),
                                        optional_text(which.error_code)));
    if (!r) co_return r.error();
    changed += static_cast<int>(r->affected());
  }
  const std::string by_id = update + "id = $2::bigint AND " + where;
  for (const auto id : which.ids) {
    auto r = co_await c.query(
        by_id, args(number(now), number(id), state_or_null(which.state), optional_text(which.error_code)));
    if (!r) co_return r.error();
    const int n = static_cast<int>(r->affected());
    changed += n;
    if (n > 0 || !missed) continue;
    auto look = co_await c.query("SELECT state, error_code FROM jobs WHERE id = $1", args(number(id)));
    if (!look) co_return look.error();
    transition_miss miss{id, std::nullopt, std::nullopt};
    if (look->size() > 0) {
      miss.state = parse_job_state(look->text(0, 0));
      miss.error_code = look->opt_text(0, 1);
    }
    missed->push_back(std::move(miss));
  }
  co_return changed;
}

}  // namespace

awaitable<result<int>> cancel_jobs(connection& c, millis now, const job_selector& which,
                                   std::vector<transition_miss>* missed) {
  // owner NULL, epoch + 1: whichever daemon held the row loses it, so none of its guarded
  // writes can take a cancelled job back to processing or succeeded.
  co_return co_await transition(c, now, which,
                                "state = 'cancelled', updated_at = $1, finished_at = $1, next_poll_at = NULL, "
                                "error_code = 'cancelled', error_message = 'cancelled by operator', owner = NULL, "
                                "epoch = epoch + 1",
                                "'queued', 'submitting', 'processing', 'downloading'", missed);
}

awaitable<result<int>> retry_jobs(connection& c, millis now, const job_selector& which,
                                  std::vector<transition_miss>* missed, retry_mode mode) {
  std::vector<retry_candidate> found;
  const bool everything = which.ids.empty() && !which.batch && (which.state || which.error_code);
  if (which.batch || everything) {
    const std::string sql = std::string(retry_candidate_columns) + "WHERE " +
                            (everything ? "$1::text IS NULL AND " : "batch = $1 AND ") +
                            "state IN ('failed', 'cancelled') AND ($2::text IS NULL OR state = $2) AND "
                            "($3::text IS NULL OR error_code = $3) ORDER BY id FOR UPDATE";
    auto r = co_await c.query(
        sql, args(optional_text(which.batch), state_or_null(which.state), optional_text(which.error_code)));
    if (!r) co_return r.error();
    for (int i = 0; i < r->size(); ++i) found.push_back(read_candidate(*r, i));
  }
  const std::string by_id = std::string(retry_candidate_columns) + "WHERE id = $1 FOR UPDATE";
  for (const auto id : which.ids) {
    auto r = co_await c.query(by_id, args(number(id)));
    if (!r) co_return r.error();
    if (r->size() == 0) {
      if (missed) missed->push_back({id, std::nullopt, std::nullopt});
      continue;
    }
    auto candidate = read_candidate(*r, 0);
    if ((which.state && candidate.state != which.state) ||
        (which.error_code && candidate.error_code != which.error_code)) {
      if (missed) missed->push_back({candidate.id, candidate.state, candidate.error_code});
      continue;
    }
    found.push_back(std::move(candidate));
  }
  int n = 0;
  for (const auto& candidate : found) {
    const auto decision =
        decide_retry(candidate.state.value_or(job_state::queued), candidate.has_task, candidate.task_succeeded, mode);
    const char* sql = retry_update(decision);
    if (sql == nullptr) {
      if (missed) missed->push_back({candidate.id, candidate.state, candidate.error_code, decision});
      continue;
    }
    auto r = co_await c.query(sql, args(number(now), number(candidate.id)));
    if (!r) co_return r.error();
    n += static_cast<int>(r->affected());
  }
  co_return n;
}

// ---- Account pauses ----

awaitable<result<void>> pause_account(connection& c, std::string_view account, std::string_view reason,
                                      std::optional<millis> until, paused_by by, millis now) {
  const param until_param = until ? number(*until) : param();
  auto r = co_await c.query(
      "INSERT INTO account_pauses(account, reason, until, paused_by, at) VALUES ($1, $2, $3, $4, $5) "
      "ON CONFLICT (account) DO UPDATE SET reason = excluded.reason, until = excluded.until,"
      " paused_by = excluded.paused_by, at = excluded.at",
      args(text(account), text(reason), until_param, text(to_string(by)), number(now)));
  if (!r) co_return r.error();
  co_return result<void>{};
}

awaitable<result<bool>> resume_account(connection& c, std::string_view account) {
  auto r = co_await c.query("DELETE FROM account_pauses WHERE account = $1", args(text(account)));
  if (!r) co_return failed_with<bool>(r.error());
  co_return r->affected() > 0;
}

awaitable<result<std::vector<account_pause_row>>> account_pauses(connection& c) {
  auto r = co_await c.query(
      "SELECT account, reason, until, paused_by, at FROM account_pauses ORDER BY account COLLATE \"C\"");
  if (!r) co_return r.error();
  std::vector<account_pause_row> out;
  for (int i = 0; i < r->size(); ++i) {
    out.push_back({std::string(r->text(i, 0)), std::string(r->text(i, 1)), r->opt_int64(i, 2),
                   parse_paused_by(r->text(i, 3)), r->int64(i, 4)});
  }
  co_return out;
}

// ---- Ledger and slots ----

awaitable<result<std::vector<charge_row>>> charges_of(connection& c, std::int64_t job_id) {
  auto r = co_await c.query(
      "SELECT id, job_id, attempt, request_id, task_id, account, model, batch, price, refunded, origin, at "
      "FROM charges WHERE job_id = $1 ORDER BY id",
      args(number(job_id)));
  if (!r) co_return r.error();
  std::vector<charge_row> out;
  for (int i = 0; i < r->size(); ++i) {
    out.push_back({r->int64(i, 0), r->int64(i, 1), r->int64(i, 2), std::string(r->text(i, 3)), r->opt_text(i, 4),
                   std::string(r->text(i, 5)), std::string(r->text(i, 6)), std::string(r->text(i, 7)), r->int64(i, 8),
                   r->int64(i, 9), std::string(r->text(i, 10)), r->int64(i, 11)});
  }
  co_return out;
}

awaitable<result<std::int64_t>> spent_since(connection& c, millis since) {
  auto r =
      co_await c.query("SELECT coalesce(sum(price - refunded), 0) FROM charges WHERE at >= $1", args(number(since)));
  if (!r) co_return r.error();
  co_return r->int64(0, 0);
}

awaitable<result<std::vector<inflight_count>>> inflight_counts(connection& c) {
  auto r = co_await c.query(
      "SELECT account, model, count(*) FROM jobs WHERE state IN ('submitting', 'processing') "
      "GROUP BY account, model ORDER BY account COLLATE \"C\", model COLLATE \"C\"");
  if (!r) co_return r.error();
  std::vector<inflight_count> out;
  for (int i = 0; i < r->size(); ++i) {
    out.push_back({std::string(r->text(i, 0)), std::string(r->text(i, 1)), r->int64(i, 2)});
  }
  co_return out;
}

// ---- Results and notices ----

awaitable<result<std::vector<manifest_row>>> manifest(connection& c, const manifest_filter& filter) {
  auto r = co_await c.query(
      "SELECT " VIDQ_MANIFEST_COLUMNS
      " FROM jobs WHERE ($1::text IS NULL OR batch = $1) AND ($2::text IS NULL OR state = $2) ORDER BY id",
      args(optional_text(filter.batch), state_or_null(filter.state)));
  if (!r) co_return r.error();
  co_return read_manifest_rows(*r);
}

awaitable<result<std::vector<delivery_row>>> deliveries(connection& c, std::optional<delivery_status> only, int limit) {
  const param status = only ? text(to_string(*only)) : param();
  auto r = co_await c.query(
      "SELECT * FROM (SELECT n.id, n.event, coalesce(n.batch, n.account, ''), n.job_id, d.target, "
      "CASE WHEN d.delivered_at IS NOT NULL THEN 'delivered' WHEN d.gave_up_at IS NOT NULL THEN 'failed' "
      "ELSE 'pending' END AS status, d.attempts, d.last_error, n.at, d.next_attempt_at, d.delivered_at "
      "FROM notice_deliveries d JOIN notices n ON n.id = d.notice_id) AS listed "
      "WHERE $1::text IS NULL OR status = $1 ORDER BY 1 DESC, 5 LIMIT $2",
      args(status, number(limit)));
  if (!r) co_return r.error();
  std::vector<delivery_row> out;
  for (int i = 0; i < r->size(); ++i) {
    delivery_row d;
    d.notice_id = r->int64(i, 0);
    d.event = parse_notice_event(r->text(i, 1)).value_or(notice_event::batch_finished);
    d.subject = std::string(r->text(i, 2));
    d.job_id = r->opt_int64(i, 3);
    d.target = std::string(r->text(i, 4));
    const auto state = r->text(i, 5);
    d.status = state == "delivered" ? delivery_status::delivered
               : state == "failed"  ? delivery_status::failed
                                    : delivery_status::pending;
    d.attempts = static_cast<int>(r->int64(i, 6));
    d.last_error = r->opt_text(i, 7);
    d.created = r->int64(i, 8);
    d.next_attempt = r->int64(i, 9);
    d.delivered = r->opt_int64(i, 10);
    out.push_back(std::move(d));
  }
  co_return out;
}

}  // namespace vidq::store::pg
