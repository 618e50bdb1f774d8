#include "vidq/store/postgres/pool.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace vidq::store::pg {

namespace asio = boost::asio;

pool::pool(asio::any_io_executor ex, pool_options options) : executor_(ex), options_(std::move(options)) {
  options_.size = std::max(1, options_.size);
}

pool::~pool() {
  closing_ = true;
  for (auto* w : waiters_) w->cancel();
}

pool::lease::~lease() {
  if (owner_ && conn_) owner_->give_back(std::move(conn_));
}

void pool::give_back(std::unique_ptr<connection> c) {
  // A connection still inside a transaction (its borrower was cut off) or broken is closed:
  // the server rolls its transaction back, and nobody inherits half of it.
  if (c->broken() || c->in_transaction() || closing_) {
    if (c->broken()) last_failure_ = c->last_failure();
    --open_;
  } else {
    idle_.push_back(std::move(c));
  }
  if (!waiters_.empty()) {
    waiters_.front()->cancel();
    waiters_.pop_front();
  }
}

asio::awaitable<result<pool::lease>> pool::acquire() {
  for (;;) {
    if (closing_) co_return make_error_code(errc::database_lost);
    if (!idle_.empty()) {
      auto c = std::move(idle_.front());
      idle_.pop_front();
      co_return lease(this, std::move(c));
    }
    if (open_ < options_.size) {
      if (std::chrono::steady_clock::now() < next_connect_) co_return make_error_code(errc::database_lost);
      ++open_;
      auto opened = co_await connection::open(executor_, options_.conninfo, options_.connect_timeout_ms, &last_failure_);
      if (!opened) {
        --open_;
        ++failed_connects_;
        // 100 ms, 200 ms, ... up to reconnect_max: a dead primary is not hammered, and a
        // promoted standby is found within reconnect_max of being ready.
        const auto shift = std::min(failed_connects_ - 1, 16);
        const millis delay = std::min(options_.reconnect_max_ms, options_.reconnect_min_ms << shift);
        next_connect_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(delay);
        co_return opened.error();
      }
      failed_connects_ = 0;
      (*opened)->set_call_timeout(options_.call_timeout_ms);
      if (options_.idle_in_transaction_timeout_ms > 0) {
        // A daemon paused inside a transaction (SIGSTOP, a frozen VM) would hold its row and
        // lane locks for as long as it is paused: the server ends such a session instead, so
        // that the others can adopt what it held (docs/SCALING.md "Leases and adoption").
        const std::string set = "SET idle_in_transaction_session_timeout = " +
                                std::to_string(options_.idle_in_transaction_timeout_ms);
        if (auto r = co_await run_statement(**opened, set); !r) {
          --open_;
          last_failure_ = (*opened)->last_failure();
          co_return r.error();
        }
      }
      co_return lease(this, std::move(*opened));
    }
    // All lent: wait until one comes back (give_back cancels the first waiter's timer).
    asio::steady_timer timer(executor_, asio::steady_timer::time_point::max());
    waiters_.push_back(&timer);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    std::erase(waiters_, &timer);
  }
}

asio::awaitable<result<void>> pool::run_statement(connection& c, std::string_view sql) {
  auto r = co_await c.query(sql);
  if (!r) co_return r.error();
  co_return result<void>{};
}

asio::awaitable<result<rows>> pool::query(std::string_view sql, std::vector<param> params) {
  auto borrowed = co_await acquire();
  if (!borrowed) co_return borrowed.error();
  auto r = co_await (*borrowed)->query(sql, std::move(params));
  if (!r) last_failure_ = (*borrowed)->last_failure();
  co_return r;
}

}  // namespace vidq::store::pg
