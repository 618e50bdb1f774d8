#pragma once
// A few PostgreSQL connections shared by the coroutines of one io_context (issue 14 item 2).
// A caller borrows a connection for one statement or one transaction and gives it back;
// a broken connection is dropped and the next borrower opens a fresh one. Connects that
// fail back off exponentially (reconnect_min..reconnect_max): while backing off, borrowers
// get errc::database_lost at once, and the daemon treats that like a busy SQLite database
// (the write waits and is tried again), so a failover is a reconnect, not a crash.

#include "vidq/store/postgres/connection.hpp"

#include <boost/asio/steady_timer.hpp>

#include <deque>
#include <functional>
#include <list>

namespace vidq::store::pg {

// An error as result<T>, including result<bool>, which a bare error_code cannot be
// converted to (bool is constructible from it too).
template <class T>
result<T> failed_with(error_code ec) {
  return result<T>(boost::system::in_place_error, ec);
}

struct pool_options {
  std::string conninfo;  // URL or key=value; several hosts + target_session_attrs=read-write for HA
  int size = 4;
  millis connect_timeout_ms = 5'000;
  millis reconnect_min_ms = 100;
  millis reconnect_max_ms = 5'000;
  // Per query, send to last result (connection::set_call_timeout): a partitioned server must
  // not hold a daemon's task forever. Longer than any statement vidq sends.
  millis call_timeout_ms = 30'000;
  // A transaction that lost a serialization or deadlock race is run again this many times.
  int transaction_attempts = 5;
  // The server ends a session left idle inside a transaction this long (its locks go with
  // it): a paused daemon must not keep others from the rows it held. 0: the server's setting.
  millis idle_in_transaction_timeout_ms = 0;
};

class pool {
 public:
  pool(boost::asio::any_io_executor ex, pool_options options);
  ~pool();
  pool(const pool&) = delete;
  pool& operator=(const pool&) = delete;

  // A borrowed connection, returned to the pool when destroyed.
  class lease {
   public:
    lease(pool* owner, std::unique_ptr<connection> c) : owner_(owner), conn_(std::move(c)) {}
    lease(lease&& o) noexcept = default;
    lease& operator=(lease&&) = delete;
    ~lease();
    connection& operator*() { return *conn_; }
    connection* operator->() { return conn_.get(); }

   private:
    pool* owner_;
    std::unique_ptr<connection> conn_;
  };

  // An idle connection, a new one, or the first one given back when all `size` are lent.
  boost::asio::awaitable<result<lease>> acquire();

  // One statement on a borrowed connection.
  boost::asio::awaitable<result<rows>> query(std::string_view sql, std::vector<param> params = {});

  // Runs `body` between BEGIN and COMMIT on one connection; ROLLBACK when it fails. A
  // serialization failure or deadlock (errc::database_busy) runs it again, up to
  // transaction_attempts times, so `body` must be safe to repeat (it only talks to the
  // database). The body's own error is returned as is.
  template <class T>
  boost::asio::awaitable<result<T>> transaction(std::function<boost::asio::awaitable<result<T>>(connection&)> body);

  // The last connect or query failure, redacted, for logs, metrics and `vidq doctor`.
  const failure& last_failure() const { return last_failure_; }
  int open_connections() const { return open_; }
  const pool_options& options() const { return options_; }

 private:
  void give_back(std::unique_ptr<connection> c);
  boost::asio::awaitable<result<void>> run_statement(connection& c, std::string_view sql);

  boost::asio::any_io_executor executor_;
  pool_options options_;
  std::deque<std::unique_ptr<connection>> idle_;
  std::list<boost::asio::steady_timer*> waiters_;
  int open_ = 0;  // lent + idle + connecting
  int failed_connects_ = 0;
  std::chrono::steady_clock::time_point next_connect_{};
  failure last_failure_;
  bool closing_ = false;
};

template <class T>
boost::asio::awaitable<result<T>> pool::transaction(
    std::function<boost::asio::awaitable<result<T>>(connection&)> body) {
  for (int attempt = 1;; ++attempt) {
    auto borrowed = co_await acquire();
    if (!borrowed) co_return failed_with<T>(borrowed.error());
    connection& c = **borrowed;
    error_code ec;
    if (auto begun = co_await run_statement(c, "BEGIN"); !begun) {
      ec = begun.error();
    } else {
      auto out = co_await body(c);
      if (out) {
        auto committed = co_await run_statement(c, "COMMIT");
        if (committed) co_return out;
        ec = committed.error();
      } else {
        ec = out.error();
      }
      if (c.in_transaction()) (void)co_await run_statement(c, "ROLLBACK");
    }
    if (c.broken() || !c.last_failure().message.empty()) last_failure_ = c.last_failure();
    if (ec != errc::database_busy || attempt >= options_.transaction_attempts) co_return failed_with<T>(ec);
  }
}

}  // namespace vidq::store::pg
