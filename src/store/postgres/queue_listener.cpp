#include "vidq/store/postgres/queue_listener.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace vidq::store::pg {

namespace asio = boost::asio;

queue_listener::queue_listener(asio::any_io_executor ex, std::string conninfo, std::function<void()> on_change,
                               millis reconnect_max_ms)
    : executor_(ex),
      conninfo_(std::move(conninfo)),
      on_change_(std::move(on_change)),
      reconnect_max_ms_(reconnect_max_ms),
      backoff_(ex) {}

void queue_listener::stop() {
  stopping_ = true;
  backoff_.cancel();
  if (connection_) connection_->cancel();
}

asio::awaitable<void> queue_listener::run() {
  millis delay = 100;
  while (!stopping_) {
    auto opened = co_await connection::open(executor_, conninfo_, 5'000);
    if (opened && !stopping_) {
      connection_ = std::move(*opened);
      auto listening = co_await connection_->query(std::string("LISTEN ") + queue_channel);
      if (listening) {
        delay = 100;
        on_change_();  // whatever was notified while we were away
        // One second per wait: stop() cancels it anyway; the bound only caps how long a
        // half-open TCP connection goes unnoticed between two checks.
        while (!stopping_) {
          auto got = co_await connection_->wait_notifications(1'000);
          if (!got) break;
          if (!got->empty()) on_change_();
        }
      }
      connection_.reset();
    }
    if (stopping_) break;
    ++reconnects_;
    backoff_.expires_after(std::chrono::milliseconds(delay));
    boost::system::error_code ec;
    co_await backoff_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    delay = std::min(delay * 2, reconnect_max_ms_);
  }
}

}  // namespace vidq::store::pg
