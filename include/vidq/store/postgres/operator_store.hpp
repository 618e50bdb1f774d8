#pragma once
// operator_store on PostgreSQL, for the `vidq` commands: one connection driven by an
// io_context of its own, each call run to completion on the calling thread. Blocking is
// right here (a command-line process waits for its answer); the daemon's loop never holds
// one of these (its status server runs the same queries through postgres_status_store).
//
// The SQL is in operator_queries.hpp; this class only runs it.

#include "vidq/store/operator_store.hpp"
#include "vidq/store/postgres/connection.hpp"
#include "vidq/store/postgres/migrate.hpp"
#include "vidq/store/postgres/pool.hpp"

#include <boost/asio/io_context.hpp>

#include <memory>

namespace vidq::store::pg {

class postgres_operator_store final : public operator_store {
 public:
  // Connects within `timeout_ms`; on failure `why` (when given) says why, redacted.
  // `clk` must outlive the store.
  static result<std::unique_ptr<postgres_operator_store>> connect(std::string_view conninfo, const clock& clk,
                                                                  millis timeout_ms, failure* why = nullptr);
  ~postgres_operator_store() override;

  // The schema this database is at (schema_migrations), and bringing it to the newest.
  result<int> schema_version();
  result<migrate_outcome> migrate();

  result<insert_outcome> insert(const new_job& job, std::int64_t* id) override;
  result<insert_counts> insert_all(std::span<const new_job> jobs) override;
  result<std::optional<job_row>> get(std::int64_t id) override;
  result<std::optional<job_row>> get_by_key(std::string_view key) override;
  result<std::vector<job_event>> events(std::int64_t job_id) override;
  result<std::vector<job_row>> list(const list_filter& filter) override;
  result<std::vector<batch_summary>> batch_summaries() override;
  result<int> cancel(const job_selector& which, std::vector<transition_miss>* missed) override;
  result<int> retry(const job_selector& which, std::vector<transition_miss>* missed, retry_mode mode) override;

  result<void> pause(std::string_view account, std::string_view reason, std::optional<millis> until,
                     paused_by by) override;
  result<bool> resume(std::string_view account) override;
  result<std::vector<account_pause_row>> pauses() override;

  result<std::vector<charge_row>> charges_of(std::int64_t job_id) override;
  result<std::int64_t> spent_since(millis since) override;
  result<std::vector<inflight_count>> inflight_counts() override;

  result<std::vector<manifest_row>> manifest(const manifest_filter& filter) override;
  result<std::vector<delivery_row>> deliveries(std::optional<delivery_status> only, int limit) override;

  std::string last_error() const override;

 private:
  postgres_operator_store(const clock& clk) : clock_(clk) {}
  // Runs one coroutine on this store's io_context until it finishes.
  template <class T>
  result<T> run(boost::asio::awaitable<result<T>> work);
  // One statement, run to completion.
  result<rows> query(std::string_view sql, std::vector<param> params);
  // `body` between BEGIN and COMMIT, run again after a serialization failure or deadlock.
  template <class Body>
  auto in_transaction(Body body) -> decltype(body());

  boost::asio::io_context ioc_;
  std::unique_ptr<connection> conn_;
  const clock& clock_;
};

}  // namespace vidq::store::pg
