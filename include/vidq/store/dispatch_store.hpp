#pragma once
// The daemon's hot queries: find queued work, claim it, count slots, find due polls.
// Each one is O(log n) at a million rows thanks to the partial indexes of
// migrations/0001_init.sql; tests/unit/store_query_plan_test.cpp proves it with EXPLAIN
// QUERY PLAN on exactly the SQL below (hot_queries()).

#include "vidq/core/clock.hpp"
#include "vidq/core/error.hpp"
#include "vidq/store/job_row.hpp"

#include <optional>
#include <span>
#include <string>
#include <vector>

namespace vidq::store {

class database;

// A run of queued jobs that the scheduler serves as one FIFO: same account, model,
// priority and batch. Fairness across batches is the scheduler's business.
struct queue_group {
  std::string account;
  std::string model;
  std::int64_t priority = 0;
  std::string batch;
  bool operator==(const queue_group&) const = default;
};

struct inflight_count {
  std::string account;
  std::string model;
  std::int64_t count = 0;
};

struct named_query {
  const char* name;
  const char* sql;
};

class dispatch_store {
 public:
  dispatch_store(database& db, const clock& clk) : db_(db), clock_(clk) {}

  // Every group that has queued rows (whether or not their not_before has passed), in
  // (account, model, priority, batch) order. One index seek per group.
  result<std::vector<queue_group>> queued_groups();

  // queued → submitting for up to `limit` runnable rows (not_before <= now) of `group`,
  // oldest first, in one BEGIN IMMEDIATE transaction that commits before returning. Each
  // claimed row gets attempts + 1 and a fresh unique request_id. Returns the claimed rows.
  result<std::vector<job_row>> claim(const queue_group& group, int limit);

  // Jobs holding a provider slot (submitting + processing) per (account, model).
  result<std::vector<inflight_count>> inflight_counts();

  // processing rows whose next_poll_at has come, earliest first.
  result<std::vector<job_row>> due_polls(int limit);
  // The earliest next_poll_at of any processing row, for the scheduler's sleep.
  result<std::optional<millis>> next_poll_time();

  // Rows left in submitting or downloading, for restart recovery.
  result<std::vector<job_row>> transient_rows();

  // The SQL of the queries above, for EXPLAIN QUERY PLAN tests.
  static std::span<const named_query> hot_queries();

 private:
  result<std::vector<job_row>> rows(const char* sql, int limit);

  database& db_;
  const clock& clock_;
};

}  // namespace vidq::store
