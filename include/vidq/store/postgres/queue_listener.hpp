#pragma once
// Wake-ups on PostgreSQL (issue 14 item 5): LISTEN vidq_jobs on a connection of its own. A
// trigger NOTIFYs that channel when a statement leaves a row queued (an INSERT by any client,
// a retry, a requeue), so a daemon hears of new work within a round trip instead of polling
// PRAGMA data_version as it does on SQLite.
//
// Notifications sent while the listener is disconnected are lost, so every (re)connect
// counts as a change: the daemon rescans once and misses nothing.

#include "vidq/core/clock.hpp"
#include "vidq/store/postgres/connection.hpp"

#include <boost/asio/steady_timer.hpp>

#include <functional>

namespace vidq::store::pg {

inline constexpr const char* queue_channel = "vidq_jobs";

class queue_listener {
 public:
  queue_listener(boost::asio::any_io_executor ex, std::string conninfo, std::function<void()> on_change,
                 millis reconnect_max_ms = 5'000);

  // Listens until stop(), reconnecting with backoff (100 ms doubling to reconnect_max).
  boost::asio::awaitable<void> run();
  void stop();
  bool connected() const { return connection_ != nullptr; }
  std::int64_t reconnects() const { return reconnects_; }

 private:
  boost::asio::any_io_executor executor_;
  std::string conninfo_;
  std::function<void()> on_change_;
  millis reconnect_max_ms_;
  std::unique_ptr<connection> connection_;
  boost::asio::steady_timer backoff_;
  bool stopping_ = false;
  std::int64_t reconnects_ = 0;
};

}  // namespace vidq::store::pg
