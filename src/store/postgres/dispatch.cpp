#include "vidq/store/postgres/dispatch.hpp"

#include "vidq/store/charge_store.hpp"
#include "vidq/store/postgres/job_rows.hpp"

#include <algorithm>
#include <cmath>

namespace vidq::store::pg {

namespace asio = boost::asio;
using asio::awaitable;

namespace {

std::vector<job_row> read_all(const rows& r) {
  auto out = read_job_rows(r);
  // UPDATE ... RETURNING has no order: callers get the queue's FIFO order back.
  std::sort(out.begin(), out.end(), [](const job_row& a, const job_row& b) { return a.id < b.id; });
  return out;
}

// The owner guard every write of a claimed row carries: $1 id, $2 node, $3 epoch.
#define VIDQ_OWNED " WHERE id = $1 AND owner = $2 AND epoch = $3 "

// A lane's limit at `t` from its row (floor(limit_now), limited_at, …): the cap when it was
// never limited, else the limit after the last 1302 plus one slot per quiet period since.
std::int64_t lane_limit(const rows& lane, int cap, millis t, millis quiet_period) {
  if (!lane.opt_text(0, 0)) return cap;
  const std::int64_t regained = (t - lane.int64(0, 1)) / std::max<millis>(1, quiet_period);
  return std::min<std::int64_t>(cap, lane.int64(0, 0) + std::max<std::int64_t>(0, regained));
}

}  // namespace

dispatch::dispatch(pool& db, const clock& clk, std::string node) : db_(db), clock_(clk), node_(std::move(node)) {}

// ---- Leases --------------------------------------------------------------------------------

awaitable<result<void>> dispatch::register_node(std::string_view host, std::int64_t pid, millis lease_ms) {
  const millis t = clock_.now();
  auto r = co_await db_.query(
      "INSERT INTO nodes(node, host, pid, started_at, lease_until) VALUES ($1, $2, $3, $4, $5) "
      "ON CONFLICT (node) DO UPDATE SET lease_until = excluded.lease_until",
      args(text(node_), text(host), number(pid), number(t), number(t + lease_ms)));
  if (!r) co_return r.error();
  co_return result<void>{};
}

awaitable<result<bool>> dispatch::renew_lease(millis lease_ms) {
  const millis t = clock_.now();
  // The old lease_until comes back from the same statement that extends it.
  auto r = co_await db_.query(
      "UPDATE nodes n SET lease_until = $3 FROM (SELECT lease_until FROM nodes WHERE node = $1 FOR UPDATE) old "
      "WHERE n.node = $1 RETURNING old.lease_until >= $2",
      args(text(node_), number(t), number(t + lease_ms)));
  if (!r) co_return failed_with<bool>(r.error());
  if (r->size() == 1) co_return r->text(0, 0) == "t";
  // Our row is gone (an operator removed it): register again; whatever we held may be adopted.
  auto again = co_await register_node("", 0, lease_ms);
  if (!again) co_return failed_with<bool>(again.error());
  co_return false;
}

awaitable<result<std::vector<job_row>>> dispatch::adopt_expired(int limit) {
  const millis t = clock_.now();
  // LEFT JOIN: a row whose owner left no lease (or none at all, like an operator's
  // `retry --download`, which puts a row in processing without an owner) is adoptable too.
  auto r = co_await db_.query(
      "UPDATE jobs SET owner = $1, epoch = epoch + 1 WHERE id IN ("
      " SELECT j.id FROM jobs j LEFT JOIN nodes n ON n.node = j.owner"
      " WHERE j.state IN ('submitting', 'processing', 'downloading')"
      "   AND j.owner IS DISTINCT FROM $1 AND (n.node IS NULL OR n.lease_until < $2)"
      " ORDER BY j.id LIMIT $3 FOR UPDATE OF j SKIP LOCKED) "
      "RETURNING " VIDQ_PG_JOB_COLUMNS,
      args(text(node_), number(t), number(limit)));
  if (!r) co_return r.error();
  co_return read_all(*r);
}

awaitable<result<void>> dispatch::retire_node() {
  auto r = co_await db_.query("DELETE FROM nodes WHERE node = $1", args(text(node_)));
  if (!r) co_return r.error();
  co_return result<void>{};
}

// ---- Queue ---------------------------------------------------------------------------------

awaitable<result<std::vector<queue_group>>> dispatch::queued_groups() {
  // A skip scan over jobs_queued: one index descent per group, whatever the rows per group.
  auto r = co_await db_.query(
      "WITH RECURSIVE g AS ("
      " (SELECT account, model, priority, batch FROM jobs WHERE state = 'queued'"
      "  ORDER BY account, model, priority, batch LIMIT 1)"
      " UNION ALL"
      " SELECT n.account, n.model, n.priority, n.batch FROM g, LATERAL ("
      "  SELECT account, model, priority, batch FROM jobs WHERE state = 'queued'"
      "   AND (account, model, priority, batch) > (g.account, g.model, g.priority, g.batch)"
      "  ORDER BY account, model, priority, batch LIMIT 1) n"
      ") SELECT account, model, priority, batch FROM g");
  if (!r) co_return r.error();
  std::vector<queue_group> out;
  for (int i = 0; i < r->size(); ++i) {
    out.push_back({std::string(r->text(i, 0)), std::string(r->text(i, 1)), r->int64(i, 2), std::string(r->text(i, 3))});
  }
  co_return out;
}

awaitable<result<claim_outcome>> dispatch::claim(const queue_group& group, int limit, std::string_view serving_account,
                                                 int cap) {
  const millis t = clock_.now();
  const std::string serving(serving_account);
  co_return co_await db_.transaction<claim_outcome>([&](connection& c) -> awaitable<result<claim_outcome>> {
    // 1. The lane lock. Created on first use; every claimer of (account, model), on any
    //    daemon, waits here for the one before it to commit.
    auto created = co_await c.query("INSERT INTO lanes(account, model, cap) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                                    args(text(serving), text(group.model), number(cap)));
    if (!created) co_return created.error();
    auto lane = co_await c.query(
        "SELECT floor(limit_now)::bigint, limited_at, backoff_until FROM lanes WHERE account = $1 AND model = $2 "
        "FOR UPDATE",
        args(text(serving), text(group.model)));
    if (!lane) co_return lane.error();
    claim_outcome out;
    out.limit = cap;
    if (lane->size() == 1) {
      out.limit = lane_limit(*lane, cap, t, backoff_.quiet_period);
      out.quiet = lane->int64(0, 2) > t;
      if (out.quiet) co_return out;  // within a 1302's holdoff: nothing to claim
    }
    // 2. The slots held, counted after the lock: this statement's snapshot includes every
    //    claim committed by the claimers that held the lock before us.
    auto held = co_await c.query(
        "SELECT count(*) FROM jobs WHERE account = $1 AND model = $2 AND state IN ('submitting', 'processing')",
        args(text(serving), text(group.model)));
    if (!held) co_return held.error();
    out.in_flight_before = held->int64(0, 0);
    const auto free_slots = std::max<std::int64_t>(0, out.limit - out.in_flight_before);
    const auto wanted = std::min<std::int64_t>(limit, free_slots);
    if (wanted == 0) co_return out;
    // 3. The claim. The request_id is the job id and attempt plus 32 random bits, as on
    //    SQLite; SKIP LOCKED passes over a row an operator's transaction holds.
    auto claimed = co_await c.query(
        "UPDATE jobs SET state = 'submitting', attempts = attempts + 1, updated_at = $6,"
        " request_id = 'vq' || id || '-' || (attempts + 1) || '-'"
        "   || encode(substring(uuid_send(gen_random_uuid()) from 1 for 4), 'hex'),"
        " error_code = NULL, error_message = NULL,"
        " requested_account = CASE WHEN account <> $7 THEN account ELSE requested_account END, account = $7,"
        " owner = $8, epoch = epoch + 1 "
        "WHERE id IN (SELECT id FROM jobs WHERE state = 'queued' AND account = $1 AND model = $2"
        " AND priority = $3 AND batch = $4 AND not_before <= $6 ORDER BY id LIMIT $5 FOR UPDATE SKIP LOCKED) "
        "RETURNING " VIDQ_PG_JOB_COLUMNS,
        args(text(group.account), text(group.model), number(group.priority), text(group.batch), number(wanted),
         number(t), text(serving), text(node_)));
    if (!claimed) co_return claimed.error();
    out.rows = read_all(*claimed);
    co_return out;
  });
}

awaitable<result<std::vector<inflight_count>>> dispatch::inflight_counts() {
  auto r = co_await db_.query(
      "SELECT account, model, count(*) FROM jobs WHERE state IN ('submitting', 'processing') "
      "GROUP BY account, model ORDER BY account, model");
  if (!r) co_return r.error();
  std::vector<inflight_count> out;
  for (int i = 0; i < r->size(); ++i) {
    out.push_back({std::string(r->text(i, 0)), std::string(r->text(i, 1)), r->int64(i, 2)});
  }
  co_return out;
}

awaitable<result<std::vector<job_row>>> dispatch::due_polls(int limit) {
  auto r = co_await db_.query("SELECT " VIDQ_PG_JOB_COLUMNS
                              " FROM jobs WHERE state = 'processing' AND owner = $1 AND next_poll_at <= $2 "
                              "ORDER BY next_poll_at LIMIT $3",
                              args(text(node_), number(clock_.now()), number(limit)));
  if (!r) co_return r.error();
  auto rows = read_all(*r);
  std::sort(rows.begin(), rows.end(),
            [](const job_row& a, const job_row& b) { return a.next_poll_at < b.next_poll_at; });
  co_return rows;
}

awaitable<result<std::optional<millis>>> dispatch::next_poll_time() {
  auto r = co_await db_.query("SELECT min(next_poll_at) FROM jobs WHERE state = 'processing' AND owner = $1",
                              args(text(node_)));
  if (!r) co_return r.error();
  co_return r->opt_int64(0, 0);
}

awaitable<result<std::vector<job_row>>> dispatch::transient_rows() {
  auto r = co_await db_.query("SELECT " VIDQ_PG_JOB_COLUMNS
                              " FROM jobs WHERE state IN ('submitting', 'downloading') AND owner = $1 ORDER BY id",
                              args(text(node_)));
  if (!r) co_return r.error();
  co_return read_all(*r);
}

awaitable<result<std::int64_t>> dispatch::held_elsewhere() {
  auto r = co_await db_.query(
      "SELECT count(*) FROM jobs WHERE state IN ('submitting', 'processing', 'downloading') AND owner IS DISTINCT FROM $1",
      args(text(node_)));
  if (!r) co_return r.error();
  co_return r->int64(0, 0);
}

awaitable<result<std::vector<dispatch_store::duration_sample>>> dispatch::recent_duration_samples(int limit) {
  auto r = co_await db_.query(
      "SELECT model, params, at_least_ms, at_most_ms FROM duration_samples ORDER BY id DESC LIMIT $1",
      args(number(limit)));
  if (!r) co_return r.error();
  std::vector<dispatch_store::duration_sample> out;
  for (int i = 0; i < r->size(); ++i) {
    out.push_back({std::string(r->text(i, 0)), std::string(r->text(i, 1)), r->int64(i, 2), r->opt_int64(i, 3)});
  }
  co_return out;
}

// ---- Shared back-off ---------------------------------------------------------------------

awaitable<result<void>> dispatch::lower_lane(std::string_view account, std::string_view model, int cap) {
  const millis t = clock_.now();
  const std::string lane_account(account);
  const std::string lane_model(model);
  co_return co_await db_.transaction<void>([&](connection& c) -> awaitable<result<void>> {
    auto created = co_await c.query("INSERT INTO lanes(account, model, cap) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                                    args(text(lane_account), text(lane_model), number(cap)));
    if (!created) co_return created.error();
    auto lane = co_await c.query(
        "SELECT floor(limit_now)::bigint, limited_at, backoff_until FROM lanes WHERE account = $1 AND model = $2 "
        "FOR UPDATE",
        args(text(lane_account), text(lane_model)));
    if (!lane) co_return lane.error();
    auto held = co_await c.query(
        "SELECT count(*) FROM jobs WHERE account = $1 AND model = $2 AND state IN ('submitting', 'processing')",
        args(text(lane_account), text(lane_model)));
    if (!held) co_return held.error();
    // engine::admission::on_rate_limited, on the lane every daemon reads: the jobs in flight
    // other than the refused one are what the provider accepted, a floor for the new limit.
    const std::int64_t current = lane_limit(*lane, cap, t, backoff_.quiet_period);
    const millis last_limited = lane->opt_text(0, 0) ? lane->int64(0, 1) : 0;
    std::int64_t base = current;
    if (t - last_limited >= backoff_.decrease_holdoff) {
      const auto halved = static_cast<std::int64_t>(std::floor(static_cast<double>(current) * backoff_.decrease_factor));
      base = std::clamp<std::int64_t>(std::max(halved, held->int64(0, 0) - 1), 1, std::max<std::int64_t>(1, current - 1));
    }
    auto updated = co_await c.query(
        "UPDATE lanes SET limit_now = $3, limited_at = $4, backoff_until = $5 WHERE account = $1 AND model = $2",
        args(text(lane_account), text(lane_model), number(base), number(t), number(t + backoff_.decrease_holdoff)));
    if (!updated) co_return updated.error();
    co_return result<void>{};
  });
}

// ---- Guarded writes ----------------------------------------------------------------------

awaitable<result<bool>> dispatch::change_one(std::string_view sql, std::vector<param> params) {
  auto r = co_await db_.query(sql, std::move(params));
  if (!r) co_return failed_with<bool>(r.error());
  co_return r->affected() == 1;
}

awaitable<result<bool>> dispatch::record_accepted(const job_row& r, std::string_view task_id, millis next_poll_at,
                                                  std::int64_t cost) {
  const millis t = clock_.now();
  const job_row& j = r;
  co_return co_await db_.transaction<bool>([&](connection& c) -> awaitable<result<bool>> {
    auto moved = co_await c.query(
        "UPDATE jobs SET state = 'processing', task_id = $5, submitted_at = $7, next_poll_at = $6, polls = 0,"
        " cost = $8, updated_at = $7, error_code = NULL, error_message = NULL, seen_running_at = NULL" VIDQ_OWNED
        "AND state = 'submitting' AND request_id = $4",
        args(number(j.id), text(node_), number(r.epoch), j.request_id, text(task_id), number(next_poll_at), number(t),
         number(cost)));
    if (!moved) co_return failed_with<bool>(moved.error());
    // The provider created and billed the task whoever holds the row now: the charge is
    // written either way, once per request_id (an adopter's ambiguous charge for the same
    // request gets its task id here).
    auto charged = co_await c.query(
        "INSERT INTO charges(job_id, attempt, request_id, task_id, account, model, batch, price, origin, at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'accepted', $9) "
        "ON CONFLICT (request_id) DO UPDATE SET"
        " origin = CASE WHEN charges.task_id IS NULL THEN excluded.origin ELSE charges.origin END,"
        " task_id = coalesce(charges.task_id, excluded.task_id)",
        args(number(j.id), number(j.attempts), j.request_id, text(task_id), text(j.account), text(j.model), text(j.batch),
         number(cost), number(t)));
    if (!charged) co_return failed_with<bool>(charged.error());
    co_return moved->affected() == 1;
  });
}

awaitable<result<bool>> dispatch::record_requeued(const job_row& r, millis not_before, std::string_view error_code,
                                                  std::string_view error_message, bool refund_attempt) {
  co_return co_await change_one(
      "UPDATE jobs SET state = 'queued', owner = NULL, not_before = $5, error_code = $6, error_message = $7,"
      " attempts = attempts - $8, updated_at = $9" VIDQ_OWNED
      "AND state = 'submitting' AND request_id = $4",
      args(number(r.id), text(node_), number(r.epoch), r.request_id, number(not_before), text(error_code),
       text(error_message), number(refund_attempt ? 1 : 0), number(clock_.now())));
}

awaitable<result<bool>> dispatch::record_polled(const job_row& r, millis next_poll_at, bool saw_running) {
  co_return co_await change_one(
      "UPDATE jobs SET polls = polls + 1, next_poll_at = $4, updated_at = $5,"
      " seen_running_at = CASE WHEN $6 THEN $5 ELSE seen_running_at END" VIDQ_OWNED "AND state = 'processing'",
      args(number(r.id), text(node_), number(r.epoch), number(next_poll_at), number(clock_.now()),
       text(saw_running ? "true" : "false")));
}

awaitable<result<bool>> dispatch::record_remote_success(const job_row& r, std::string_view video_url,
                                                        std::string_view cover_url) {
  co_return co_await change_one(
      "UPDATE jobs SET state = 'downloading', polls = polls + 1, next_poll_at = NULL, video_url = $4,"
      " cover_url = nullif($5, ''), updated_at = $6" VIDQ_OWNED "AND state = 'processing'",
      args(number(r.id), text(node_), number(r.epoch), text(video_url), text(cover_url), number(clock_.now())));
}

awaitable<result<bool>> dispatch::record_succeeded(const job_row& r,
                                                   const dispatch_store::download_outcome& outcome) {
  co_return co_await change_one(
      "UPDATE jobs SET state = 'succeeded', owner = NULL, video_path = $4, video_bytes = $5, video_sha256 = $6,"
      " cover_path = nullif($7, ''), cost = $8, finished_at = $9, updated_at = $9, error_code = NULL,"
      " error_message = NULL" VIDQ_OWNED "AND state = 'downloading'",
      args(number(r.id), text(node_), number(r.epoch), text(outcome.video_path), number(outcome.video_bytes),
       text(outcome.video_sha256), text(outcome.cover_path), number(outcome.cost), number(clock_.now())));
}

awaitable<result<bool>> dispatch::record_failed(const job_row& r, job_state from, std::string_view error_code,
                                                std::string_view error_message) {
  co_return co_await change_one(
      "UPDATE jobs SET state = 'failed', owner = NULL, error_code = $5, error_message = $6, next_poll_at = NULL,"
      " finished_at = $7, updated_at = $7" VIDQ_OWNED "AND state = $4",
      args(number(r.id), text(node_), number(r.epoch), text(to_string(from)), text(error_code), text(error_message),
       number(clock_.now())));
}

awaitable<result<bool>> dispatch::record_failed_charged(const job_row& r, charge_origin origin,
                                                       std::string_view error_code, std::string_view error_message,
                                                       std::int64_t price) {
  const millis t = clock_.now();
  co_return co_await db_.transaction<bool>([&](connection& c) -> awaitable<result<bool>> {
    auto moved = co_await c.query(
        "UPDATE jobs SET state = 'failed', owner = NULL, error_code = $5, error_message = $6, next_poll_at = NULL,"
        " finished_at = $7, updated_at = $7" VIDQ_OWNED "AND state = 'submitting' AND request_id = $4",
        args(number(r.id), text(node_), number(r.epoch), r.request_id, text(error_code), text(error_message),
             number(t)));
    if (!moved) co_return failed_with<bool>(moved.error());
    if (moved->affected() != 1 || !r.request_id) co_return false;
    auto charged = co_await c.query(
        "INSERT INTO charges(job_id, attempt, request_id, account, model, batch, price, origin, at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (request_id) DO NOTHING",
        args(number(r.id), number(r.attempts), r.request_id, text(r.account), text(r.model), text(r.batch),
             number(price), text(to_string(origin)), number(t)));
    if (!charged) co_return failed_with<bool>(charged.error());
    co_return true;
  });
}

awaitable<result<bool>> dispatch::record_urls_expired(const job_row& r) {
  const millis t = clock_.now();
  co_return co_await change_one(
      "UPDATE jobs SET state = 'processing', next_poll_at = $4, updated_at = $4, error_code = 'url_expired',"
      " error_message = 'result URLs expired before the download; polling for fresh ones'" VIDQ_OWNED
      "AND state = 'downloading'",
      args(number(r.id), text(node_), number(r.epoch), number(t)));
}

awaitable<result<output_reservation>> dispatch::reserve_video_path(const job_row& r, std::string_view video_path) {
  const std::string path(video_path);
  co_return co_await db_.transaction<output_reservation>([&](connection& c) -> awaitable<result<output_reservation>> {
    // Two daemons rendering the same name check and record it one after the other; the lock
    // ends with the transaction.
    auto locked = co_await c.query("SELECT pg_advisory_xact_lock(hashtext($1))", args(text(path)));
    if (!locked) co_return locked.error();
    auto taken = co_await c.query("SELECT EXISTS(SELECT 1 FROM jobs WHERE video_path = $1 AND id <> $2)",
                                  args(text(path), number(r.id)));
    if (!taken) co_return taken.error();
    if (taken->text(0, 0) == "t") co_return output_reservation::taken;
    auto recorded = co_await c.query(
        "UPDATE jobs SET video_path = $4" VIDQ_OWNED "AND state = 'downloading'",
        args(number(r.id), text(node_), number(r.epoch), text(path)));
    if (!recorded) co_return recorded.error();
    co_return recorded->affected() == 1 ? output_reservation::reserved : output_reservation::moved;
  });
}

awaitable<result<bool>> dispatch::record_refetch(const job_row& r, std::string_view error_code,
                                                 std::string_view error_message) {
  const millis t = clock_.now();
  co_return co_await change_one(
      "UPDATE jobs SET state = 'processing', next_poll_at = $4, updated_at = $4, refetches = refetches + 1,"
      " error_code = $5, error_message = $6" VIDQ_OWNED "AND state = 'downloading'",
      args(number(r.id), text(node_), number(r.epoch), number(t), text(error_code), text(error_message)));
}

}  // namespace vidq::store::pg
