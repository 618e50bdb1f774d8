#include "vidq/store/postgres/operator_store.hpp"

#include "vidq/store/postgres/job_rows.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/json/serialize.hpp>

#include <exception>

namespace vidq::store::pg {

namespace asio = boost::asio;

namespace {

constexpr int transaction_attempts = 5;

param optional_text(const std::optional<std::string>& s) { return s; }
param state_or_null(const std::optional<job_state>& s) {
  return s ? param(std::string(to_string(*s))) : param();
}

}  // namespace

template <class T>
result<T> postgres_operator_store::run(asio::awaitable<result<T>> work) {
  std::optional<result<T>> out;
  std::exception_ptr thrown;
  asio::co_spawn(ioc_, std::move(work), [&](std::exception_ptr e, result<T> r) {
    thrown = e;
    if (!e) out.emplace(std::move(r));
  });
  ioc_.restart();
  ioc_.run();
  if (thrown) std::rethrow_exception(thrown);
  return std::move(*out);
}

result<std::unique_ptr<postgres_operator_store>> postgres_operator_store::connect(std::string_view conninfo,
                                                                                  const clock& clk, millis timeout_ms,
                                                                                  failure* why) {
  std::unique_ptr<postgres_operator_store> store(new postgres_operator_store(clk));
  auto c = store->run(connection::open(store->ioc_.get_executor(), std::string(conninfo), timeout_ms, why));
  if (!c) return c.error();
  store->conn_ = std::move(*c);
  return store;
}

postgres_operator_store::~postgres_operator_store() = default;

result<rows> postgres_operator_store::query(std::string_view sql, std::vector<param> params) {
  return run(conn_->query(sql, std::move(params)));
}

std::string postgres_operator_store::last_error() const { return conn_ ? conn_->last_failure().message : ""; }

result<int> postgres_operator_store::schema_version() { return run(pg::schema_version(*conn_)); }

result<migrate_outcome> postgres_operator_store::migrate() { return run(pg::migrate(*conn_)); }

// Runs `body` between BEGIN and COMMIT; a serialization failure or deadlock against a
// daemon's claim runs it again, like pool::transaction does for the daemon.
template <class Body>
auto postgres_operator_store::in_transaction(Body body) -> decltype(body()) {
  for (int attempt = 1;; ++attempt) {
    if (auto begun = query("BEGIN", {}); !begun) return begun.error();
    auto outcome = body();
    if (outcome) {
      auto committed = query("COMMIT", {});
      if (committed) return outcome;
      if (committed.error() != errc::database_busy || attempt == transaction_attempts) return committed.error();
      continue;
    }
    if (!conn_->broken()) (void)query("ROLLBACK", {});
    if (outcome.error() != errc::database_busy || attempt == transaction_attempts) return outcome;
  }
}

// ---- Jobs ----

namespace {

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

}  // namespace

result<insert_outcome> postgres_operator_store::insert(const new_job& job, std::int64_t* id) {
  std::string sql = insert_columns;
  std::vector<param> params;
  add_row(sql, params, job, clock_.now());
  auto r = query(sql + " ON CONFLICT (key) DO NOTHING RETURNING id", std::move(params));
  if (!r) return r.error();
  if (r->size() == 0) return insert_outcome::duplicate_key;
  if (id) *id = r->int64(0, 0);
  return insert_outcome::inserted;
}

result<insert_counts> postgres_operator_store::insert_all(std::span<const new_job> jobs) {
  // Many rows per statement: one round trip per row would make a 1M-line import wait
  // mostly on the network. A key repeated within one statement is skipped like a key
  // already stored (ON CONFLICT DO NOTHING).
  constexpr std::size_t rows_per_statement = 500;
  return in_transaction([&]() -> result<insert_counts> {
    insert_counts counts;
    const millis now = clock_.now();
    for (std::size_t start = 0; start < jobs.size(); start += rows_per_statement) {
      const auto chunk = jobs.subspan(start, std::min(rows_per_statement, jobs.size() - start));
      std::string sql = insert_columns;
      std::vector<param> params;
      params.reserve(chunk.size() * params_per_row);
      for (const auto& job : chunk) add_row(sql, params, job, now);
      auto r = query(sql + " ON CONFLICT (key) DO NOTHING", std::move(params));
      if (!r) return r.error();
      const auto inserted = static_cast<std::size_t>(r->affected());
      counts.inserted += inserted;
      counts.duplicates += chunk.size() - inserted;
    }
    return counts;
  });
}

result<std::optional<job_row>> postgres_operator_store::get(std::int64_t id) {
  auto r = query("SELECT " VIDQ_PG_JOB_COLUMNS " FROM jobs WHERE id = $1", args(number(id)));
  if (!r) return r.error();
  if (r->size() == 0) return std::optional<job_row>();
  return std::optional<job_row>(read_job_row(*r, 0));
}

result<std::optional<job_row>> postgres_operator_store::get_by_key(std::string_view key) {
  auto r = query("SELECT " VIDQ_PG_JOB_COLUMNS " FROM jobs WHERE key = $1", args(text(key)));
  if (!r) return r.error();
  if (r->size() == 0) return std::optional<job_row>();
  return std::optional<job_row>(read_job_row(*r, 0));
}

result<std::vector<job_event>> postgres_operator_store::events(std::int64_t job_id) {
  auto r = query("SELECT id, job_id, at, from_state, to_state, detail FROM job_events WHERE job_id = $1 ORDER BY id",
                 args(number(job_id)));
  if (!r) return r.error();
  std::vector<job_event> out;
  for (int i = 0; i < r->size(); ++i) {
    out.push_back({r->int64(i, 0), r->int64(i, 1), r->int64(i, 2), r->opt_text(i, 3), std::string(r->text(i, 4)),
                   r->opt_text(i, 5)});
  }
  return out;
}

result<std::vector<job_row>> postgres_operator_store::list(const list_filter& filter) {
  // job_store::list's query: NULL filters match everything, newest first; a key names at
  // most one row.
  auto r = query("SELECT " VIDQ_PG_JOB_COLUMNS
                 " FROM jobs WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR batch = $2)"
                 " AND ($3::text IS NULL OR model = $3) AND ($5::text IS NULL OR key = $5)"
                 " ORDER BY id DESC LIMIT $4",
                 args(state_or_null(filter.state), optional_text(filter.batch), optional_text(filter.model),
                      number(filter.limit), optional_text(filter.key)));
  if (!r) return r.error();
  return read_job_rows(*r);
}

result<std::vector<batch_summary>> postgres_operator_store::batch_summaries() {
  // Batches in SQLite's (bytewise) order, whatever the database's collation; so are the
  // accounts of pauses() and inflight_counts().
  auto r = query(
      "SELECT batch, state, count(*) FROM jobs GROUP BY batch, state ORDER BY batch COLLATE \"C\"", {});
  if (!r) return r.error();
  std::vector<batch_summary> out;
  for (int i = 0; i < r->size(); ++i) {
    const auto batch = r->text(i, 0);
    if (out.empty() || out.back().batch != batch) out.push_back({std::string(batch)});
    auto& summary = out.back();
    const auto count = r->int64(i, 2);
    if (auto state = parse_job_state(r->text(i, 1))) summary.by_state[static_cast<int>(*state)] += count;
    summary.total += count;
  }
  auto spent = query("SELECT batch, sum(price - refunded) FROM charges GROUP BY batch", {});
  if (!spent) return spent.error();
  for (int i = 0; i < spent->size(); ++i) {
    for (auto& summary : out) {
      if (summary.batch == spent->text(i, 0)) summary.cost = spent->int64(i, 1);
    }
  }
  return out;
}

result<int> postgres_operator_store::transition(const job_selector& which, std::string_view set_clause,
                                                std::string_view from_states, std::vector<transition_miss>* missed) {
  // $1 now, $2 batch or id, $3 state, $4 error code: job_store::transition's parameters.
  const std::string where = "state IN (" + std::string(from_states) +
                            ") AND ($3::text IS NULL OR state = $3) AND ($4::text IS NULL OR error_code = $4)";
  const std::string update = "UPDATE jobs SET " + std::string(set_clause) + " WHERE ";
  const millis now = clock_.now();
  int changed = 0;
  const bool everything = which.ids.empty() && !which.batch && (which.state || which.error_code);
  if (which.batch || everything) {
    // "$2 IS NULL" when there is no batch: every parameter must appear for PostgreSQL to type it.
    auto r = query(update + (everything ? "$2::text IS NULL AND " : "batch = $2 AND ") + where,
                   args(number(now), optional_text(which.batch), state_or_null(which.state),
                        optional_text(which.error_code)));
    if (!r) return r.error();
    changed += static_cast<int>(r->affected());
  }
  for (const auto id : which.ids) {
    auto r = query(update + "id = $2::bigint AND " + where,
                   args(number(now), number(id), state_or_null(which.state), optional_text(which.error_code)));
    if (!r) return r.error();
    const int n = static_cast<int>(r->affected());
    changed += n;
    if (n > 0 || !missed) continue;
    auto look = query("SELECT state, error_code FROM jobs WHERE id = $1", args(number(id)));
    if (!look) return look.error();
    transition_miss miss{id, std::nullopt, std::nullopt};
    if (look->size() > 0) {
      miss.state = parse_job_state(look->text(0, 0));
      miss.error_code = look->opt_text(0, 1);
    }
    missed->push_back(std::move(miss));
  }
  return changed;
}

result<int> postgres_operator_store::cancel(const job_selector& which, std::vector<transition_miss>* missed) {
  std::vector<transition_miss> left;
  auto changed = in_transaction([&]() -> result<int> {
    left.clear();
    // owner NULL, epoch + 1: whichever daemon held the row loses it, so none of its guarded
    // writes can take a cancelled job back to processing or succeeded.
    return transition(which,
                      "state = 'cancelled', updated_at = $1, finished_at = $1, next_poll_at = NULL, "
                      "error_code = 'cancelled', error_message = 'cancelled by operator', owner = NULL, "
                      "epoch = epoch + 1",
                      "'queued', 'submitting', 'processing', 'downloading'", missed ? &left : nullptr);
  });
  if (changed && missed) missed->insert(missed->end(), left.begin(), left.end());
  return changed;
}

namespace {

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

}  // namespace

result<int> postgres_operator_store::retry(const job_selector& which, std::vector<transition_miss>* missed,
                                           retry_mode mode) {
  std::vector<transition_miss> left;
  auto changed = in_transaction([&]() -> result<int> {
    left.clear();
    std::vector<retry_candidate> found;
    const bool everything = which.ids.empty() && !which.batch && (which.state || which.error_code);
    if (which.batch || everything) {
      auto r = query(std::string(retry_candidate_columns) + "WHERE " +
                         (everything ? "$1::text IS NULL AND " : "batch = $1 AND ") +
                         "state IN ('failed', 'cancelled') AND ($2::text IS NULL OR state = $2) AND "
                         "($3::text IS NULL OR error_code = $3) ORDER BY id FOR UPDATE",
                     args(optional_text(which.batch), state_or_null(which.state), optional_text(which.error_code)));
      if (!r) return r.error();
      for (int i = 0; i < r->size(); ++i) found.push_back(read_candidate(*r, i));
    }
    for (const auto id : which.ids) {
      auto r = query(std::string(retry_candidate_columns) + "WHERE id = $1 FOR UPDATE", args(number(id)));
      if (!r) return r.error();
      if (r->size() == 0) {
        left.push_back({id, std::nullopt, std::nullopt});
        continue;
      }
      auto c = read_candidate(*r, 0);
      if ((which.state && c.state != which.state) || (which.error_code && c.error_code != which.error_code)) {
        left.push_back({c.id, c.state, c.error_code});
        continue;
      }
      found.push_back(std::move(c));
    }
    // job_store::retry's two updates; a requeued row has no owner until a daemon claims it,
    // and a refetched one none until a daemon adopts it (dispatch::adopt_expired).
    int n = 0;
    for (const auto& c : found) {
      const auto decision = decide_retry(c.state.value_or(job_state::queued), c.has_task, c.task_succeeded, mode);
      const char* sql =
          decision == retry_decision::requeue
              ? "UPDATE jobs SET state = 'queued', updated_at = $1, attempts = 0, not_before = 0, request_id = NULL, "
                "task_id = NULL, submitted_at = NULL, next_poll_at = NULL, polls = 0, finished_at = NULL, "
                "video_url = NULL, cover_url = NULL, error_code = NULL, error_message = NULL, refetches = 0, "
                "owner = NULL WHERE id = $2 AND state IN ('failed', 'cancelled')"
          : decision == retry_decision::refetch
              ? "UPDATE jobs SET state = 'processing', updated_at = $1, next_poll_at = $1, finished_at = NULL, "
                "refetches = refetches + 1, error_code = NULL, error_message = NULL, owner = NULL "
                "WHERE id = $2 AND state IN ('failed', 'cancelled') AND task_id IS NOT NULL"
              : nullptr;
      if (sql == nullptr) {
        left.push_back({c.id, c.state, c.error_code, decision});
        continue;
      }
      auto r = query(sql, args(number(clock_.now()), number(c.id)));
      if (!r) return r.error();
      n += static_cast<int>(r->affected());
    }
    return n;
  });
  if (changed && missed) missed->insert(missed->end(), left.begin(), left.end());
  return changed;
}

// ---- Account pauses ----

result<void> postgres_operator_store::pause(std::string_view account, std::string_view reason,
                                            std::optional<millis> until, paused_by by) {
  auto r = query(
      "INSERT INTO account_pauses(account, reason, until, paused_by, at) VALUES ($1, $2, $3, $4, $5) "
      "ON CONFLICT (account) DO UPDATE SET reason = excluded.reason, until = excluded.until,"
      " paused_by = excluded.paused_by, at = excluded.at",
      args(text(account), text(reason), until ? number(*until) : param(), text(to_string(by)),
           number(clock_.now())));
  if (!r) return r.error();
  return {};
}

result<bool> postgres_operator_store::resume(std::string_view account) {
  auto r = query("DELETE FROM account_pauses WHERE account = $1", args(text(account)));
  if (!r) return failed_with<bool>(r.error());
  return r->affected() > 0;
}

result<std::vector<account_pause_row>> postgres_operator_store::pauses() {
  auto r = query("SELECT account, reason, until, paused_by, at FROM account_pauses ORDER BY account COLLATE \"C\"", {});
  if (!r) return r.error();
  std::vector<account_pause_row> out;
  for (int i = 0; i < r->size(); ++i) {
    out.push_back({std::string(r->text(i, 0)), std::string(r->text(i, 1)), r->opt_int64(i, 2),
                   parse_paused_by(r->text(i, 3)), r->int64(i, 4)});
  }
  return out;
}

// ---- Ledger and slots ----

result<std::vector<charge_row>> postgres_operator_store::charges_of(std::int64_t job_id) {
  auto r = query(
      "SELECT id, job_id, attempt, request_id, task_id, account, model, batch, price, refunded, origin, at "
      "FROM charges WHERE job_id = $1 ORDER BY id",
      args(number(job_id)));
  if (!r) return r.error();
  std::vector<charge_row> out;
  for (int i = 0; i < r->size(); ++i) {
    out.push_back({r->int64(i, 0), r->int64(i, 1), r->int64(i, 2), std::string(r->text(i, 3)), r->opt_text(i, 4),
                   std::string(r->text(i, 5)), std::string(r->text(i, 6)), std::string(r->text(i, 7)),
                   r->int64(i, 8), r->int64(i, 9), std::string(r->text(i, 10)), r->int64(i, 11)});
  }
  return out;
}

result<std::int64_t> postgres_operator_store::spent_since(millis since) {
  auto r = query("SELECT coalesce(sum(price - refunded), 0) FROM charges WHERE at >= $1", args(number(since)));
  if (!r) return r.error();
  return r->int64(0, 0);
}

result<std::vector<inflight_count>> postgres_operator_store::inflight_counts() {
  auto r = query(
      "SELECT account, model, count(*) FROM jobs WHERE state IN ('submitting', 'processing') "
      "GROUP BY account, model ORDER BY account COLLATE \"C\", model COLLATE \"C\"",
      {});
  if (!r) return r.error();
  std::vector<inflight_count> out;
  for (int i = 0; i < r->size(); ++i) {
    out.push_back({std::string(r->text(i, 0)), std::string(r->text(i, 1)), r->int64(i, 2)});
  }
  return out;
}

// ---- Results and notices ----

result<std::vector<manifest_row>> postgres_operator_store::manifest(const manifest_filter& filter) {
  auto r = query("SELECT " VIDQ_MANIFEST_COLUMNS
                 " FROM jobs WHERE ($1::text IS NULL OR batch = $1) AND ($2::text IS NULL OR state = $2) ORDER BY id",
                 args(optional_text(filter.batch), state_or_null(filter.state)));
  if (!r) return r.error();
  std::vector<manifest_row> out;
  for (int i = 0; i < r->size(); ++i) {
    manifest_row m;
    m.id = r->int64(i, 0);
    m.key = r->opt_text(i, 1);
    m.batch = std::string(r->text(i, 2));
    m.state = parse_job_state(r->text(i, 3)).value_or(job_state::queued);  // CHECK: always known
    m.model = std::string(r->text(i, 4));
    m.video_path = r->opt_text(i, 5);
    m.cover_path = r->opt_text(i, 6);
    m.video_bytes = r->opt_int64(i, 7);
    m.video_sha256 = r->opt_text(i, 8);
    m.cost = r->int64(i, 9);
    m.error_code = r->opt_text(i, 10);
    m.error_message = r->opt_text(i, 11);
    m.task_id = r->opt_text(i, 12);
    m.request_id = r->opt_text(i, 13);
    m.submitted_at = r->opt_int64(i, 14);
    m.finished_at = r->opt_int64(i, 15);
    out.push_back(std::move(m));
  }
  return out;
}

result<std::vector<delivery_row>> postgres_operator_store::deliveries(std::optional<delivery_status> only,
                                                                      int limit) {
  auto r = query(
      "SELECT * FROM (SELECT n.id, n.event, coalesce(n.batch, n.account, ''), n.job_id, d.target, "
      "CASE WHEN d.delivered_at IS NOT NULL THEN 'delivered' WHEN d.gave_up_at IS NOT NULL THEN 'failed' "
      "ELSE 'pending' END AS status, d.attempts, d.last_error, n.at, d.next_attempt_at, d.delivered_at "
      "FROM notice_deliveries d JOIN notices n ON n.id = d.notice_id) AS listed "
      "WHERE $1::text IS NULL OR status = $1 ORDER BY 1 DESC, 5 LIMIT $2",
      args(only ? text(to_string(*only)) : param(), number(limit)));
  if (!r) return r.error();
  std::vector<delivery_row> out;
  for (int i = 0; i < r->size(); ++i) {
    delivery_row d;
    d.notice_id = r->int64(i, 0);
    d.event = parse_notice_event(r->text(i, 1)).value_or(notice_event::batch_finished);
    d.subject = std::string(r->text(i, 2));
    d.job_id = r->opt_int64(i, 3);
    d.target = std::string(r->text(i, 4));
    const auto status = r->text(i, 5);
    d.status = status == "delivered" ? delivery_status::delivered
               : status == "failed"  ? delivery_status::failed
                                     : delivery_status::pending;
    d.attempts = static_cast<int>(r->int64(i, 6));
    d.last_error = r->opt_text(i, 7);
    d.created = r->int64(i, 8);
    d.next_attempt = r->int64(i, 9);
    d.delivered = r->opt_int64(i, 10);
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace vidq::store::pg
