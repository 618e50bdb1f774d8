#pragma once
// status_store on PostgreSQL, for the status server of `vidq run` with [database] url: each
// call borrows a connection from the daemon's pool for one statement, a few in a row, or one
// transaction (cancel, retry), and gives it back before returning. The jobs' SQL is
// operator_queries.hpp's; the dashboard's own reads are here, each on an index of
// migrations/postgres/0001_init.sql:
//   spend total and today    charges_at (via operator_queries' spent_since)
//   oldest queued            jobs_queued (min(id) over the partial index)
//   timeline                 jobs_finished range on finished_at
//   failures                 jobs_failed, newest first
//   gallery                  jobs_batch_progress (batch, 'succeeded') or the primary key, as
//                            the planner prefers; or the newest 2,000 finished rows through
//                            jobs_finished
#include "vidq/store/postgres/pool.hpp"
#include "vidq/store/status_store.hpp"

namespace vidq::store::pg {

class postgres_status_store final : public status_store {
 public:
  // `db` and `clk` must outlive this object and every call's completion.
  postgres_status_store(pool& db, const clock& clk) : db_(db), clock_(clk) {}

  task<std::vector<job_row>> list(const list_filter& filter) override;
  task<std::optional<job_row>> get(std::int64_t id) override;
  task<std::vector<job_event>> events(std::int64_t job_id) override;
  task<inserted_job> insert(const new_job& job) override;
  task<int> cancel(const job_selector& which, std::vector<transition_miss>* missed) override;
  task<int> retry(const job_selector& which, std::vector<transition_miss>* missed) override;
  task<std::vector<batch_summary>> batch_summaries() override;
  task<std::vector<manifest_row>> manifest(const manifest_filter& filter) override;

  task<status_gauges> gauges(millis day_start) override;
  task<std::vector<finished_count>> finished_per_minute(millis since, millis until) override;
  task<std::vector<failure_row>> failures(int limit) override;
  task<std::vector<gallery_item>> gallery(const std::optional<std::string>& batch, int limit) override;
  task<void> ping() override;

  std::string last_error() const override { return last_failure_.message; }

 private:
  // A connection from the pool, or the pool's error.
  boost::asio::awaitable<result<pool::lease>> borrow();
  // Keeps what the connection reported about a failure, for last_error().
  void note_failure(connection& c);
  // `query(connection&)` (an awaitable<result<T>>) on a borrowed connection.
  template <class T, class Query>
  boost::asio::awaitable<result<T>> on_connection(Query query);

  pool& db_;
  const clock& clock_;
  failure last_failure_;
};

}  // namespace vidq::store::pg
