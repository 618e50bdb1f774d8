#pragma once
// status_store over the daemon's SQLite connection: job_store and output_store for the jobs,
// and the dashboard's own reads, each pinned to an index (migrations/0001_init.sql) and
// LIMITed so that a request costs the daemon's thread milliseconds even at 1M rows:
//   spend total and today    the charges ledger (charges_at range)
//   oldest queued            jobs_queued (covering, min(id))
//   timeline                 jobs_finished range on finished_at
//   failures                 jobs_failed (the recent_failures view's range)
//   gallery                  jobs_batch_progress (batch, 'succeeded'), or the newest
//                            2,000 finished rows through jobs_finished
// Every call runs to completion before its coroutine first suspends: nothing interleaves.
#include "vidq/store/job_store.hpp"
#include "vidq/store/output_store.hpp"
#include "vidq/store/sqlite.hpp"
#include "vidq/store/status_store.hpp"

namespace vidq::store {

class sqlite_status_store final : public status_store {
 public:
  // `db` and `clk` must outlive this object.
  sqlite_status_store(database& db, const clock& clk) : db_(db), jobs_(db, clk), outputs_(db) {}

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

  std::string last_error() const override { return db_.last_error(); }

 private:
  database& db_;
  job_store jobs_;
  output_store outputs_;
};

}  // namespace vidq::store
