#pragma once
// operator_store over one SQLite connection: the synchronous stores (job_store,
// account_store, charge_store, dispatch_store) the commands used before there was a seam.
#include "vidq/store/operator_store.hpp"
#include "vidq/store/sqlite.hpp"

namespace vidq::store {

class sqlite_operator_store final : public operator_store {
 public:
  // `db` and `clk` must outlive this object.
  sqlite_operator_store(database& db, const clock& clk)
      : db_(db), jobs_(db, clk), accounts_(db, clk), charges_(db), dispatch_(db, clk), outputs_(db), notices_(db, clk) {}

  // Outside a transaction the INSERT commits by itself.
  result<insert_outcome> insert(const new_job& job, std::int64_t* id) override { return jobs_.insert(job, id); }
  result<insert_counts> insert_all(std::span<const new_job> jobs) override;
  result<std::optional<job_row>> get(std::int64_t id) override { return jobs_.get(id); }
  result<std::optional<job_row>> get_by_key(std::string_view key) override { return jobs_.get_by_key(key); }
  result<std::vector<job_event>> events(std::int64_t job_id) override { return jobs_.events(job_id); }
  result<std::vector<job_row>> list(const list_filter& filter) override { return jobs_.list(filter); }
  result<std::vector<batch_summary>> batch_summaries() override { return jobs_.batch_summaries(); }
  result<int> cancel(const job_selector& which, std::vector<transition_miss>* missed) override {
    return jobs_.cancel(which, missed);
  }
  result<int> retry(const job_selector& which, std::vector<transition_miss>* missed, retry_mode mode) override {
    return jobs_.retry(which, missed, mode);
  }

  result<void> pause(std::string_view account, std::string_view reason, std::optional<millis> until,
                     paused_by by) override {
    return accounts_.pause(account, reason, until, by);
  }
  result<bool> resume(std::string_view account) override { return accounts_.resume(account); }
  result<std::vector<account_pause_row>> pauses() override { return accounts_.pauses(); }

  result<std::vector<charge_row>> charges_of(std::int64_t job_id) override { return charges_.of_job(job_id); }
  result<std::int64_t> spent_since(millis since) override { return charges_.spent_since(since); }
  result<std::vector<inflight_count>> inflight_counts() override { return dispatch_.inflight_counts(); }

  result<std::vector<manifest_row>> manifest(const manifest_filter& filter) override {
    return outputs_.manifest(filter);
  }
  result<std::vector<delivery_row>> deliveries(std::optional<delivery_status> only, int limit) override {
    return notices_.list(only, limit);
  }

  std::string last_error() const override { return db_.last_error(); }

 private:
  database& db_;
  job_store jobs_;
  account_store accounts_;
  charge_store charges_;
  dispatch_store dispatch_;
  output_store outputs_;
  notice_store notices_;
};

}  // namespace vidq::store
