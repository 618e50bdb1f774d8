#include "vidq/store/postgres/connection.hpp"

#include <libpq-fe.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <charconv>
#include <cstring>
#include <chrono>
#include <regex>

namespace vidq::store::pg {

namespace asio = boost::asio;

// ---- rows --------------------------------------------------------------------------------

rows::rows(pg_result* r) : result_(r) {}

void rows::free_result::operator()(pg_result* r) const { PQclear(r); }

int rows::size() const { return result_ ? PQntuples(result_.get()) : 0; }
int rows::columns() const { return result_ ? PQnfields(result_.get()) : 0; }
bool rows::is_null(int row, int col) const { return PQgetisnull(result_.get(), row, col) != 0; }

std::string_view rows::text(int row, int col) const {
  return {PQgetvalue(result_.get(), row, col), static_cast<std::size_t>(PQgetlength(result_.get(), row, col))};
}

std::optional<std::int64_t> rows::opt_int64(int row, int col) const {
  if (is_null(row, col)) return std::nullopt;
  const auto t = text(row, col);
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || end != t.data() + t.size()) return std::nullopt;
  return v;
}

std::int64_t rows::int64(int row, int col) const { return opt_int64(row, col).value_or(0); }

std::optional<std::string> rows::opt_text(int row, int col) const {
  if (is_null(row, col)) return std::nullopt;
  return std::string(text(row, col));
}

int rows::column(std::string_view name) const {
  return result_ ? PQfnumber(result_.get(), std::string(name).c_str()) : -1;
}

std::int64_t rows::affected() const {
  if (!result_) return 0;
  const char* n = PQcmdTuples(result_.get());
  std::int64_t v = 0;
  std::from_chars(n, n + std::strlen(n), v);
  return v;
}

// ---- helpers -----------------------------------------------------------------------------

bool is_retryable_sqlstate(std::string_view sqlstate) { return sqlstate == "40001" || sqlstate == "40P01"; }

namespace {

// Class 08 (connection exception), the server shutting down, and a session that became
// read-only (a failover demoted the primary we are connected to): all mean "open another
// connection", which with target_session_attrs=read-write reaches the new primary.
bool is_connection_sqlstate(std::string_view s) {
  return s.starts_with("08") || s == "57P01" || s == "57P02" || s == "57P03" || s == "25006";
}

}  // namespace

std::string redact_conninfo(std::string_view conninfo) {
  std::string s(conninfo);
  // URL form: scheme://user:secret@host → scheme://user:***@host
  static const std::regex url_password(R"(((?:postgres|postgresql)://[^:/@?]*:)[^@/?]*@)");
  s = std::regex_replace(s, url_password, "$1***@");
  // URL query or key/value form: password=secret (quoted or not).
  static const std::regex kv_password(R"((password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]*))");
  return std::regex_replace(s, kv_password, "$1***");
}

// ---- connection --------------------------------------------------------------------------

// libpq owns the socket; the descriptor only waits on it and never closes it. libpq may
// switch sockets while connecting (several hosts), so the waiter follows PQsocket.
struct connection::socket_waiter {
  asio::posix::stream_descriptor descriptor;
  int fd = -1;

  explicit socket_waiter(asio::any_io_executor ex) : descriptor(ex) {}
  ~socket_waiter() { release(); }

  void release() {
    if (descriptor.is_open()) descriptor.release();
    fd = -1;
  }

  // `reassign`: libpq may have closed the socket and opened another under the same number
  // (the next host of a list), which the reactor no longer watches: register it again.
  bool follow(int socket, bool reassign = false) {
    if (socket < 0) return false;
    if (socket == fd && !reassign) return true;
    release();
    boost::system::error_code ec;
    descriptor.assign(socket, ec);
    if (ec) return false;
    fd = socket;
    return true;
  }
};

namespace {

// The server's NOTICE messages ("relation already exists, skipping" from a migration's IF
// NOT EXISTS): libpq prints them to stderr by default, which would put noise in a command's
// output and the daemon's journal. vidq sends nothing that needs one read.
extern "C" void drop_notice(void*, const char*) {}

// Waits until the socket is ready in `direction`, or until `deadline` (steady time) passes
// when given. Returns false on timeout, cancellation or a socket error.
asio::awaitable<bool> wait_ready(asio::posix::stream_descriptor& d, asio::posix::descriptor_base::wait_type direction,
                                 std::optional<std::chrono::steady_clock::time_point> deadline) {
  std::optional<asio::steady_timer> timer;
  if (deadline) {
    timer.emplace(d.get_executor(), *deadline);
    timer->async_wait([&d](boost::system::error_code ec) {
      if (!ec) d.cancel();
    });
  }
  boost::system::error_code ec;
  co_await d.async_wait(direction, asio::redirect_error(asio::use_awaitable, ec));
  if (timer) timer->cancel();
  co_return !ec;
}

}  // namespace

connection::connection(asio::any_io_executor ex, pg_conn* conn)
    : executor_(ex), conn_(conn), socket_(std::make_unique<socket_waiter>(ex)) {}

connection::~connection() {
  if (socket_) socket_->release();  // before PQfinish closes the fd
  if (conn_) PQfinish(conn_);
}

asio::awaitable<result<std::unique_ptr<connection>>> connection::open(asio::any_io_executor ex, std::string conninfo,
                                                                      millis timeout_ms, failure* why) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  pg_conn* raw = PQconnectStart(conninfo.c_str());
  if (!raw) co_return make_error_code(errc::database_lost);
  std::unique_ptr<connection> c(new connection(ex, raw));
  auto failed = [&](error_code ec) {
    if (why) *why = c->last_failure_;
    return ec;
  };
  if (PQstatus(raw) == CONNECTION_BAD) co_return failed(c->fail("connect"));
  PQsetNoticeProcessor(raw, drop_notice, nullptr);

  for (auto status = PGRES_POLLING_WRITING;;) {
    if (status == PGRES_POLLING_OK) break;
    if (status == PGRES_POLLING_FAILED) co_return failed(c->fail("connect"));
    if (!c->socket_->follow(PQsocket(raw), true)) co_return failed(c->fail("connect"));
    const auto direction = status == PGRES_POLLING_READING ? asio::posix::descriptor_base::wait_read
                                                           : asio::posix::descriptor_base::wait_write;
    if (!co_await wait_ready(c->socket_->descriptor, direction, deadline)) {
      c->last_failure_ = {"", "connect timed out after " + std::to_string(timeout_ms) + " ms"};
      co_return failed(make_error_code(errc::timeout));
    }
    status = PQconnectPoll(raw);
  }
  // Sends must not block either: with non-blocking mode PQflush reports what is left.
  if (PQsetnonblocking(raw, 1) != 0 || !c->socket_->follow(PQsocket(raw), true)) co_return failed(c->fail("connect"));
  co_return c;
}

error_code connection::fail(std::string_view what, pg_result* r) {
  std::string sqlstate;
  std::string message;
  if (r) {
    if (const char* s = PQresultErrorField(r, PG_DIAG_SQLSTATE)) sqlstate = s;
    message = PQresultErrorMessage(r);
  }
  if (message.empty() && conn_) message = PQerrorMessage(conn_);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  last_failure_ = {sqlstate, std::string(what) + ": " + redact_conninfo(message)};
  if (!conn_ || PQstatus(conn_) == CONNECTION_BAD || is_connection_sqlstate(sqlstate)) {
    return make_error_code(errc::database_lost);
  }
  if (is_retryable_sqlstate(sqlstate)) return make_error_code(errc::database_busy);
  return make_error_code(errc::database_error);
}

bool connection::broken() const { return !conn_ || PQstatus(conn_) == CONNECTION_BAD || broken_; }

bool connection::in_transaction() const {
  const auto s = PQtransactionStatus(conn_);
  return s == PQTRANS_INTRANS || s == PQTRANS_INERROR || s == PQTRANS_ACTIVE;
}

void connection::cancel() {
  boost::system::error_code ignored;
  socket_->descriptor.cancel(ignored);
}

asio::awaitable<result<void>> connection::flush_and_wait_result() {
  // One deadline for the whole exchange: a server that stopped answering (a partition, a
  // frozen VM) costs the caller call_timeout, then the connection is given up as lost.
  std::optional<std::chrono::steady_clock::time_point> deadline;
  if (call_timeout_ms_ > 0) deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(call_timeout_ms_);
  auto gave_up = [&] {
    broken_ = true;  // a query may still be running on it: nobody else may use it
    last_failure_ = {"", call_timeout_ms_ > 0 ? "no answer within " + std::to_string(call_timeout_ms_) + " ms (or cancelled)"
                                              : std::string("cancelled")};
    return make_error_code(errc::database_lost);
  };
  // Whatever did not fit in the socket buffer goes out as the socket becomes writable.
  for (;;) {
    const int left = PQflush(conn_);
    if (left == 0) break;
    if (left < 0) co_return fail("send");
    if (!co_await wait_ready(socket_->descriptor, asio::posix::descriptor_base::wait_write, deadline)) {
      co_return gave_up();
    }
    // The server may be sending while we send (a notice): libpq must read it, or both sides
    // wait on full buffers.
    if (!PQconsumeInput(conn_)) co_return fail("receive");
  }
  while (PQisBusy(conn_)) {
    if (!co_await wait_ready(socket_->descriptor, asio::posix::descriptor_base::wait_read, deadline)) {
      co_return gave_up();
    }
    if (!PQconsumeInput(conn_)) co_return fail("receive");
  }
  co_return result<void>{};
}

asio::awaitable<result<rows>> connection::collect(std::string_view what) {
  // Every result up to the terminating nullptr must be read before the next query; the
  // first error wins, otherwise the last result is the caller's.
  std::optional<error_code> failed;
  rows last;
  for (;;) {
    if (auto r = co_await flush_and_wait_result(); !r) co_return r.error();
    pg_result* res = PQgetResult(conn_);
    if (!res) break;
    const auto status = PQresultStatus(res);
    if (status == PGRES_FATAL_ERROR || status == PGRES_BAD_RESPONSE || status == PGRES_NONFATAL_ERROR) {
      if (!failed) failed = fail(what, res);
      PQclear(res);
      continue;
    }
    last = rows(res);
  }
  if (failed) co_return *failed;
  co_return last;
}

asio::awaitable<result<rows>> connection::query(std::string_view sql, std::vector<param> params) {
  if (broken()) co_return make_error_code(errc::database_lost);
  const std::string text(sql);
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  if (!PQsendQueryParams(conn_, text.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr,
                         nullptr, 0)) {
    co_return fail("query");
  }
  co_return co_await collect("query");
}

asio::awaitable<result<void>> connection::exec_script(std::string_view script) {
  if (broken()) co_return make_error_code(errc::database_lost);
  const std::string text(script);
  if (!PQsendQuery(conn_, text.c_str())) co_return fail("script");
  auto r = co_await collect("script");
  if (!r) co_return r.error();
  co_return result<void>{};
}

std::vector<notification> connection::take_notifications() {
  std::vector<notification> out;
  if (!conn_) return out;
  while (PGnotify* n = PQnotifies(conn_)) {
    out.push_back({n->relname ? n->relname : "", n->extra ? n->extra : ""});
    PQfreemem(n);
  }
  return out;
}

asio::awaitable<result<std::vector<notification>>> connection::wait_notifications(millis max_wait_ms) {
  if (broken()) co_return make_error_code(errc::database_lost);
  if (!PQconsumeInput(conn_)) co_return fail("listen");
  auto got = take_notifications();
  if (!got.empty()) co_return got;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(max_wait_ms);
  if (co_await wait_ready(socket_->descriptor, asio::posix::descriptor_base::wait_read, deadline)) {
    if (!PQconsumeInput(conn_)) co_return fail("listen");
  }
  co_return take_notifications();
}

}  // namespace vidq::store::pg
