#pragma once
// One PostgreSQL connection driven by libpq's asynchronous API on an Asio executor
// (issue 14 item 2): PQconnectStart/PQconnectPoll, PQsendQueryParams, PQconsumeInput and
// PQisBusy, with the connection's socket waited on by Asio. Nothing here blocks the thread
// that runs the executor: the only waits are on the socket (docs/SCALING.md "No blocking
// libpq call on the loop").
//
// Parameters and results use libpq's text format, which is what every column of the vidq
// schema needs (text, bigint, NULL) and keeps the SQL readable for operators.

#include "vidq/core/clock.hpp"
#include "vidq/core/error.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct pg_conn;
struct pg_result;

namespace vidq::store::pg {

// A query parameter in text format; nullopt is SQL NULL.
using param = std::optional<std::string>;

// The parameters of one query: `co_await c.query(sql, args(a, b))`. A function rather than
// a braced list, because GCC 12 rejects an initializer_list temporary that lives across a
// co_await ("array used as initializer").
template <class... P>
std::vector<param> args(P&&... p) {
  std::vector<param> out;
  out.reserve(sizeof...(p));
  (out.emplace_back(std::forward<P>(p)), ...);
  return out;
}

// A text or a number as a parameter (libpq's text format carries both).
inline param text(std::string_view s) { return std::string(s); }
inline param number(std::int64_t n) { return std::to_string(n); }

// The rows (or the command status) one statement returned.
class rows {
 public:
  rows() = default;
  explicit rows(pg_result* r);
  rows(rows&&) noexcept = default;
  rows& operator=(rows&&) noexcept = default;

  int size() const;
  int columns() const;
  bool is_null(int row, int col) const;
  std::string_view text(int row, int col) const;
  std::int64_t int64(int row, int col) const;  // 0 for NULL or non-numbers
  std::optional<std::int64_t> opt_int64(int row, int col) const;
  std::optional<std::string> opt_text(int row, int col) const;
  int column(std::string_view name) const;  // -1 when there is no such column
  // Rows an INSERT/UPDATE/DELETE changed (PQcmdTuples).
  std::int64_t affected() const;

 private:
  struct free_result {
    void operator()(pg_result* r) const;
  };
  std::unique_ptr<pg_result, free_result> result_;
};

// A NOTIFY this connection received after LISTEN.
struct notification {
  std::string channel;
  std::string payload;
};

// What the last failed call reported: SQLSTATE (e.g. "40001") and a message with any
// password stripped. Kept per connection for logs and `vidq doctor`.
struct failure {
  std::string sqlstate;
  std::string message;
};

// SQLSTATEs a caller retries the whole transaction on: serialization_failure (40001) and
// deadlock_detected (40P01). They map to errc::database_busy; a lost connection maps to
// errc::database_lost; anything else to errc::database_error.
bool is_retryable_sqlstate(std::string_view sqlstate);

// The connection string with any password (key/value `password=` or a URL's user:pass@)
// replaced by "***", for logs and errors.
std::string redact_conninfo(std::string_view conninfo);

class connection {
 public:
  // Connects without blocking the executor's thread; `timeout_ms` bounds the whole attempt
  // (DNS is not involved: hosts are addresses or names resolved by libpq's non-blocking
  // path only when given as hostaddr). Multi-host strings with target_session_attrs are
  // libpq's: PQconnectPoll walks the hosts.
  static boost::asio::awaitable<result<std::unique_ptr<connection>>> open(boost::asio::any_io_executor ex,
                                                                          std::string conninfo, millis timeout_ms,
                                                                          failure* why = nullptr);
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  // One statement with $1..$n parameters (extended protocol). A query is one round trip;
  // callers run BEGIN/COMMIT as their own statements on the same connection.
  boost::asio::awaitable<result<rows>> query(std::string_view sql, std::vector<param> params = {});
  // Several statements separated by ';' (simple protocol, no parameters): migrations.
  boost::asio::awaitable<result<void>> exec_script(std::string_view script);

  // Notifications that arrived so far (LISTEN first), without waiting.
  std::vector<notification> take_notifications();
  // Waits until at least one notification arrived or `max_wait_ms` passed; returns what
  // arrived (possibly nothing). errc::database_lost when the connection broke meanwhile.
  boost::asio::awaitable<result<std::vector<notification>>> wait_notifications(millis max_wait_ms);

  // Cancels the socket wait of a running call (shutdown); the call returns
  // errc::database_lost and the connection is unusable afterwards.
  void cancel();
  // Bounds each query from send to last result; 0 = no bound. Past it the connection counts
  // as lost (errc::database_lost): the pool replaces it, the caller tries again later.
  void set_call_timeout(millis ms) { call_timeout_ms_ = ms; }
  // True once the connection failed; a pool drops it and opens another.
  bool broken() const;
  // Inside a transaction block (after BEGIN, before COMMIT/ROLLBACK)?
  bool in_transaction() const;
  const failure& last_failure() const { return last_failure_; }

 private:
  struct socket_waiter;
  connection(boost::asio::any_io_executor ex, pg_conn* conn);
  boost::asio::awaitable<result<void>> flush_and_wait_result();
  boost::asio::awaitable<result<rows>> collect(std::string_view what);
  error_code fail(std::string_view what, pg_result* r = nullptr);

  boost::asio::any_io_executor executor_;
  pg_conn* conn_ = nullptr;
  std::unique_ptr<socket_waiter> socket_;
  failure last_failure_;
  bool broken_ = false;  // a call was cut off mid-protocol: the connection is unusable
  millis call_timeout_ms_ = 0;
};

}  // namespace vidq::store::pg
