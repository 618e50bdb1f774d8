// Writes of the daemon while another connection may hold the database's write lock
// (issue 11 item 4, docs/DAEMON.md "A locked database"). The connection's busy timeout is
// a few tens of ms; past it a write returns database_busy and is tried again: by the task
// coroutine after db_retry (write-ahead stays write-ahead: the task waits, the loop runs),
// or by the loop at its next tick. engine::db_lock_watch lets one attempt through per
// db_retry so that a held lock costs the loop at most one busy timeout per period.
#include "vidq/daemon/scheduler.hpp"
#include "vidq/daemon/job_log.hpp"
#include "vidq/daemon/task_sleep.hpp"
#include "vidq/ops/log.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>

namespace vidq::daemon {

namespace asio = boost::asio;

asio::awaitable<bool> sleep_for(millis delay) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(std::chrono::milliseconds(std::max<millis>(delay, 0)));
  boost::system::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  co_return !ec;  // false: cancelled (shutdown)
}

bool scheduler::note_db_outcome(const error_code& ec) {
  // PostgreSQL: a server out of reach (failover, partition) is waited out like a lock; the
  // pool reconnects meanwhile. On SQLite database_lost is the file's identity (database_lost()).
  const bool unreachable = !db_ && ec == errc::database_lost;
  if (ec == errc::database_busy || unreachable) {
    if (!db_lock_.locked()) {
      log::warn(unreachable ? "database_unreachable" : "database_locked",
                {{"detail", std::string(unreachable ? "the server cannot be reached" : "another connection holds the "
                                                                                        "write lock") +
                                "; writes wait and are retried every " + std::to_string(opt_.db_retry) + " ms"}});
    }
    db_lock_.on_busy(now());
    return true;
  }
  if (!ec && db_lock_.locked()) {
    log::info("database_unlocked", {{"held_ms", now() - *db_lock_.locked_since()}});
    db_lock_.on_ok();
  }
  return false;
}

asio::awaitable<result<bool>> scheduler::persist(const store::job_row& row,
                                                 std::function<asio::awaitable<result<bool>>()> write) {
  for (;;) {
    if (db_may_write()) {
      // A store write is one step, as it was when it was a plain call: a shutdown's
      // cancellation that arrived during the wait below must not make Asio throw at this
      // co_await instead of writing (the wait itself still ends on it). Restored after.
      const bool throw_before = co_await asio::this_coro::throw_if_cancelled();
      co_await asio::this_coro::throw_if_cancelled(false);
      auto r = co_await write();
      co_await asio::this_coro::throw_if_cancelled(throw_before);
      const bool wait_and_retry = note_db_outcome(r ? error_code() : r.error());
      if (!wait_and_retry && r && !*r) {
        // Not an error: an operator cancelled the row, or (PostgreSQL) this daemon's lease
        // lapsed and another took the row over. Its owner now decides; our copy is dropped.
        log_job(log::level::info, "write_refused", row,
                {{"detail", "the row moved under this write (cancelled, or adopted by another daemon); it "
                            "changed nothing"}});
      }
      if (!wait_and_retry) co_return r;
    }
    if (!co_await sleep_for(std::max<millis>(1, db_lock_.next_try() - now()))) {
      co_return result<bool>{boost::system::in_place_error, make_error_code(errc::database_busy)};
    }
  }
}

}  // namespace vidq::daemon
