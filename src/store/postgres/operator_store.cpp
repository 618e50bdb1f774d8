#include "vidq/store/postgres/operator_store.hpp"

#include "vidq/store/postgres/operator_queries.hpp"

#include <boost/asio/co_spawn.hpp>

#include <exception>

namespace vidq::store::pg {

namespace asio = boost::asio;

namespace {

constexpr int transaction_attempts = 5;

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

result<insert_outcome> postgres_operator_store::insert(const new_job& job, std::int64_t* id) {
  return run(insert_job(*conn_, job, clock_.now(), id));
}

result<insert_counts> postgres_operator_store::insert_all(std::span<const new_job> jobs) {
  return in_transaction([&]() { return run(insert_jobs(*conn_, jobs, clock_.now())); });
}

result<std::optional<job_row>> postgres_operator_store::get(std::int64_t id) {
  return run(get_job(*conn_, id));
}

result<std::optional<job_row>> postgres_operator_store::get_by_key(std::string_view key) {
  return run(get_job_by_key(*conn_, key));
}

result<std::vector<job_event>> postgres_operator_store::events(std::int64_t job_id) {
  return run(job_events(*conn_, job_id));
}

result<std::vector<job_row>> postgres_operator_store::list(const list_filter& filter) {
  return run(list_jobs(*conn_, filter));
}

result<std::vector<batch_summary>> postgres_operator_store::batch_summaries() {
  return run(pg::batch_summaries(*conn_));
}

result<int> postgres_operator_store::cancel(const job_selector& which, std::vector<transition_miss>* missed) {
  std::vector<transition_miss> left;
  auto changed = in_transaction([&]() {
    left.clear();  // a retried attempt reports only what it saw
    return run(cancel_jobs(*conn_, clock_.now(), which, missed ? &left : nullptr));
  });
  if (changed && missed) missed->insert(missed->end(), left.begin(), left.end());
  return changed;
}

result<int> postgres_operator_store::retry(const job_selector& which, std::vector<transition_miss>* missed,
                                           retry_mode mode) {
  std::vector<transition_miss> left;
  auto changed = in_transaction([&]() {
    left.clear();
    return run(retry_jobs(*conn_, clock_.now(), which, &left, mode));
  });
  if (changed && missed) missed->insert(missed->end(), left.begin(), left.end());
  return changed;
}

// ---- Account pauses ----

result<void> postgres_operator_store::pause(std::string_view account, std::string_view reason,
                                            std::optional<millis> until, paused_by by) {
  return run(pause_account(*conn_, account, reason, until, by, clock_.now()));
}

result<bool> postgres_operator_store::resume(std::string_view account) {
  return run(resume_account(*conn_, account));
}

result<std::vector<account_pause_row>> postgres_operator_store::pauses() {
  return run(account_pauses(*conn_));
}

// ---- Ledger and slots ----

result<std::vector<charge_row>> postgres_operator_store::charges_of(std::int64_t job_id) {
  return run(pg::charges_of(*conn_, job_id));
}

result<std::int64_t> postgres_operator_store::spent_since(millis since) {
  return run(pg::spent_since(*conn_, since));
}

result<std::vector<inflight_count>> postgres_operator_store::inflight_counts() {
  return run(pg::inflight_counts(*conn_));
}

// ---- Results and notices ----

result<std::vector<manifest_row>> postgres_operator_store::manifest(const manifest_filter& filter) {
  return run(pg::manifest(*conn_, filter));
}

result<std::vector<delivery_row>> postgres_operator_store::deliveries(std::optional<delivery_status> only,
                                                                      int limit) {
  return run(pg::deliveries(*conn_, only, limit));
}

}  // namespace vidq::store::pg
