#pragma once
// Idle keep-alive connections, per origin ("https://host:port"), bounded. Sans-io: the pool
// never touches a socket and never reads a clock; the caller passes `now`, so tests drive it
// with hand-made time points (STYLE.md §4). Dropping an entry destroys the connection, which
// closes its socket. Not thread-safe (one io_context thread).

#include "vidq/net/options.hpp"

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vidq::net {

template <class Conn>
class basic_connection_pool {
 public:
  using clock_type = std::chrono::steady_clock;
  using time_point = clock_type::time_point;
  using duration = clock_type::duration;

  explicit basic_connection_pool(pool_limits limits) : limits_(limits) {}

  // The most recently returned connection of `key` that has been idle at most `max_idle`,
  // or nullopt. Newest first (LIFO): the hottest connection is the least likely to have
  // been closed by the server, and the older ones get to expire. Expired entries are
  // dropped; entries merely older than `max_idle` stay for callers with a longer budget.
  std::optional<Conn> take(std::string_view key, time_point now, duration max_idle) {
    sweep(now);
    for (auto it = idle_.rbegin(); it != idle_.rend(); ++it) {
      if (it->key != key) continue;
      if (now - it->since > max_idle) return std::nullopt;  // the rest are older still
      Conn c = std::move(it->conn);
      idle_.erase(std::next(it).base());
      return c;
    }
    return std::nullopt;
  }

  // Keeps `c` until now + min(idle_timeout, keep_alive_hint) (the server's Keep-Alive
  // timeout, when it announced one). At the per-host limit the oldest idle connection of
  // that host is dropped; at the total limit the oldest of any host.
  void put(std::string key, Conn c, time_point now,
           std::optional<duration> keep_alive_hint = std::nullopt) {
    sweep(now);
    duration life = limits_.idle_timeout;
    if (keep_alive_hint) life = std::min(life, *keep_alive_hint);
    if (limits_.max_idle_per_host == 0 || limits_.max_idle_total == 0 || life <= duration{0}) {
      return;  // `c` is destroyed here: pooling is off
    }
    if (idle(key) >= limits_.max_idle_per_host) {
      auto oldest = std::find_if(idle_.begin(), idle_.end(),
                                 [&](const entry& e) { return e.key == key; });
      idle_.erase(oldest);
    }
    if (idle_.size() >= limits_.max_idle_total) idle_.erase(idle_.begin());
    idle_.push_back(entry{std::move(key), std::move(c), now, now + life});
  }

  // Drops every entry whose expiry has passed; returns how many.
  std::size_t sweep(time_point now) {
    const auto before = idle_.size();
    std::erase_if(idle_, [&](const entry& e) { return now >= e.expires; });
    return before - idle_.size();
  }

  std::size_t idle() const noexcept { return idle_.size(); }
  std::size_t idle(std::string_view key) const noexcept {
    return static_cast<std::size_t>(
        std::count_if(idle_.begin(), idle_.end(), [&](const entry& e) { return e.key == key; }));
  }
  void clear() noexcept { idle_.clear(); }
  const pool_limits& limits() const noexcept { return limits_; }

 private:
  struct entry {
    std::string key;
    Conn conn;
    time_point since;    // when it was returned (start of idleness)
    time_point expires;  // since + its lifetime
  };

  pool_limits limits_;
  // Ordered by `since`: put() appends, so the front is the oldest and the back the newest.
  // A handful of entries per host: a linear scan beats any index here.
  std::vector<entry> idle_;
};

}  // namespace vidq::net
