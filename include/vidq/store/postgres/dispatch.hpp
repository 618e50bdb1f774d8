#pragma once
// The daemon's hot queries on PostgreSQL, for several daemons on one database (issue 14,
// docs/SCALING.md):
//  - Exact caps. A claim locks the (account, model) row of `lanes` FOR UPDATE, counts the
//    slots held from the job rows *after* taking the lock, and claims at most what is free.
//    Claimers of one lane queue on that lock, on whatever daemon they run, so two daemons
//    can never both take the last slot. The lane row also carries the AIMD limit after a
//    1302, so a back-off one daemon learns holds for all of them.
//  - Owners and epochs. A claimed row carries its owner (a node id) and an epoch, bumped by
//    every claim and every adoption. Every write of an owner is guarded by
//    `owner = me AND epoch = the epoch I took it at`: a daemon that lost the row (paused VM,
//    partition) changes nothing and drops its copy.
//  - Leases. A node renews one lease row (`nodes.lease_until`); a live node adopts the
//    in-flight rows of nodes whose lease expired: processing/downloading rows keep their
//    task and are polled/downloaded, never submitted again; submitting rows come back for
//    the ambiguous-submit policy of the adopter.

#include "vidq/core/clock.hpp"
#include "vidq/core/error.hpp"
#include "vidq/store/daemon_store.hpp"
#include "vidq/store/dispatch_store.hpp"
#include "vidq/store/job_row.hpp"
#include "vidq/store/postgres/pool.hpp"

#include <boost/asio/awaitable.hpp>

#include <string>
#include <vector>

namespace vidq::store::pg {

// What one claim did: the rows taken, and what the lane looked like under its lock.
struct claim_outcome {
  std::vector<job_row> rows;  // with the epoch this node owns them at
  std::int64_t in_flight_before = 0;  // slots held on (account, model), counted under the lock
  std::int64_t limit = 0;             // the lane's limit then: min(cap, AIMD limit)
  bool quiet = false;                 // within a 1302's holdoff: nothing was claimed
};

class dispatch {
 public:
  // `node` names this daemon in jobs.owner and nodes.node: unique per process (host, pid and
  // start time), so a restarted daemon is a new node that adopts its own old rows.
  dispatch(pool& db, const clock& clk, std::string node);

  const std::string& node() const { return node_; }

  // ---- Leases ----
  // Inserts or refreshes this node's lease row until now + lease_ms.
  boost::asio::awaitable<result<void>> register_node(std::string_view host, std::int64_t pid, millis lease_ms);
  // Extends the lease. false: it had expired (others may have adopted rows of ours; their
  // guarded writes will tell which), and it is renewed anyway.
  boost::asio::awaitable<result<bool>> renew_lease(millis lease_ms);
  // Takes over up to `limit` in-flight rows whose owner's lease expired (or whose owner has
  // no lease row): owner = this node, epoch + 1. Rows of one dead node may be spread over
  // several adopters; SKIP LOCKED keeps adopters from waiting on each other.
  boost::asio::awaitable<result<std::vector<job_row>>> adopt_expired(int limit);
  // Removes this node's lease row at a clean stop, after its rows went back or finished.
  boost::asio::awaitable<result<void>> retire_node();

  // ---- Queue ----
  boost::asio::awaitable<result<std::vector<queue_group>>> queued_groups();
  // queued → submitting for up to min(limit, free slots) rows of `group`, oldest first,
  // under the lane lock of (serving_account, group.model) with capacity `cap` (the tier's).
  boost::asio::awaitable<result<claim_outcome>> claim(const queue_group& group, int limit,
                                                      std::string_view serving_account, int cap);
  boost::asio::awaitable<result<std::vector<inflight_count>>> inflight_counts();
  // This node's processing rows whose next_poll_at has come, earliest first.
  boost::asio::awaitable<result<std::vector<job_row>>> due_polls(int limit);
  // The earliest next_poll_at of this node's processing rows.
  boost::asio::awaitable<result<std::optional<millis>>> next_poll_time();
  // This node's submitting and downloading rows. A restarted daemon is a new node: what its
  // previous run left comes back through adopt_expired once that run's lease has ended.
  boost::asio::awaitable<result<std::vector<job_row>>> transient_rows();
  // In-flight rows of other nodes, live or not: work that may still come back to this one.
  boost::asio::awaitable<result<std::int64_t>> held_elsewhere();
  boost::asio::awaitable<result<std::vector<dispatch_store::duration_sample>>> recent_duration_samples(int limit);

  // ---- Shared back-off (AIMD through the lane row) ----
  // How lanes back off and recover (the daemon's own AIMD figures): used by claim() and
  // lower_lane(). Until set, lanes recover a slot per minute.
  void set_lane_backoff(const lane_backoff& policy) { backoff_ = policy; }
  // After a 1302 on (account, model), as engine::admission does for one daemon: the lane's
  // limit becomes clamp(max(floor(limit × factor), in flight − 1), 1, limit − 1), nobody
  // claims on it for the holdoff, and it grows back by one slot per quiet period. A repeat
  // within the holdoff only restarts the quiet period. `cap`: the account's configured cap.
  boost::asio::awaitable<result<void>> lower_lane(std::string_view account, std::string_view model, int cap);

  // ---- Guarded writes: each changes the row only if this node still owns it at that
  // epoch and it is in the state the caller saw; false otherwise (lost lease, or an
  // operator's cancel). ----
  // submitting → processing, with the task's charge in the ledger in the same transaction
  // (charged even when the row moved: the provider created the task either way).
  boost::asio::awaitable<result<bool>> record_accepted(const job_row& r, std::string_view task_id,
                                                       millis next_poll_at, std::int64_t cost);
  boost::asio::awaitable<result<bool>> record_requeued(const job_row& r, millis not_before,
                                                       std::string_view error_code, std::string_view error_message,
                                                       bool refund_attempt);
  boost::asio::awaitable<result<bool>> record_polled(const job_row& r, millis next_poll_at, bool saw_running);
  boost::asio::awaitable<result<bool>> record_remote_success(const job_row& r, std::string_view video_url,
                                                             std::string_view cover_url);
  boost::asio::awaitable<result<bool>> record_succeeded(const job_row& r,
                                                        const dispatch_store::download_outcome& outcome);
  boost::asio::awaitable<result<bool>> record_failed(const job_row& r, job_state from, std::string_view error_code,
                                                     std::string_view error_message);
  // submitting → failed with the attempt charged (`origin` ambiguous or duplicate), in one
  // transaction; charged only when the write applied (a stale copy charges nothing).
  boost::asio::awaitable<result<bool>> record_failed_charged(const job_row& r, charge_origin origin,
                                                             std::string_view error_code,
                                                             std::string_view error_message, std::int64_t price);
  boost::asio::awaitable<result<bool>> record_urls_expired(const job_row& r);
  // The file name a downloading row is about to write, reserved across daemons: under a
  // transaction-level advisory lock on the name, `taken` when another job has it recorded,
  // else recorded on this row (guarded by owner + epoch: `moved` when the row is not ours).
  boost::asio::awaitable<result<output_reservation>> reserve_video_path(const job_row& r,
                                                                       std::string_view video_path);
  boost::asio::awaitable<result<bool>> record_refetch(const job_row& r, std::string_view error_code,
                                                      std::string_view error_message);

 private:
  boost::asio::awaitable<result<bool>> change_one(std::string_view sql, std::vector<param> params);

  pool& db_;
  const clock& clock_;
  std::string node_;
  lane_backoff backoff_;
};

}  // namespace vidq::store::pg
