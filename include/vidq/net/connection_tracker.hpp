#pragma once
// What a server built on one executor needs to stop cleanly: its listening socket, an
// accept loop, and every connection coroutine registered with a cancellation signal and
// the socket it reads, so that stop() (or an eviction) can cancel the coroutine and close
// the socket under it. The simulator and the status server share it; what they do with
// a connection (TLS or not, limits, routing) stays theirs.
//
// Everything here runs on the server's executor thread; a caller that stops the server
// from another thread posts to it first.

#include "vidq/core/error.hpp"
#include "vidq/ops/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>

namespace vidq::net {

// Opens, binds (SO_REUSEADDR) and listens. Errors: the system error, for the caller's log.
boost::system::error_code listen_on(boost::asio::ip::tcp::acceptor& acceptor,
                                    const boost::asio::ip::tcp::endpoint& where);

// co_spawn of `work` on `ex`, bound to `slot`; an exception that escapes it is logged as
// `crash_event` (the server keeps running without that coroutine). `on_done` runs first,
// either way.
template <class OnDone>
void spawn_logged(boost::asio::any_io_executor executor, boost::asio::awaitable<void> work,
                  boost::asio::cancellation_slot slot, std::string crash_event, OnDone on_done) {
  boost::asio::co_spawn(
      executor, std::move(work),
      boost::asio::bind_cancellation_slot(
          slot, [event = std::move(crash_event), on_done = std::move(on_done)](std::exception_ptr e) mutable {
            on_done();
            if (!e) return;
            try {
              std::rethrow_exception(e);
            } catch (const std::exception& ex) {
              log::error(event, {{"error", ex.what()}});
            }
          }));
}

// The live connections of one server. `Info` is the server's own per-connection state.
template <class Info>
class connection_tracker {
 public:
  struct entry {
    boost::asio::cancellation_signal signal;
    boost::asio::ip::tcp::socket* socket = nullptr;  // while the session runs on it
    Info info;
  };

  explicit connection_tracker(std::string log_prefix) : prefix_(std::move(log_prefix)) {}

  // Registers a connection with `info` and spawns make(id) for it. The entry (and so its
  // signal) lives until the coroutine is done; `keep_alive` (the server's state) with it.
  template <class MakeSession>
  std::uint64_t spawn(boost::asio::any_io_executor ex, Info info, MakeSession&& make,
                      std::shared_ptr<void> keep_alive) {
    const std::uint64_t id = next_++;
    auto e = std::make_unique<entry>();
    e->info = std::move(info);
    auto slot = e->signal.slot();
    entries_.emplace(id, std::move(e));
    spawn_logged(ex, make(id), slot, prefix_ + ".session_crashed",
                 [this, id, keep = std::move(keep_alive)] { entries_.erase(id); });
    return id;
  }

  // The session's socket, for stop() and cancel() to close; detached by the guard's end.
  class attachment {
   public:
    attachment(connection_tracker& t, std::uint64_t id, boost::asio::ip::tcp::socket& s) : t_(t), id_(id) {
      if (auto* e = t_.find(id_)) e->socket = &s;
    }
    ~attachment() {
      if (auto* e = t_.find(id_)) e->socket = nullptr;
    }
    attachment(const attachment&) = delete;
    attachment& operator=(const attachment&) = delete;

   private:
    connection_tracker& t_;
    std::uint64_t id_;
  };

  // Cancels the connection's coroutine and closes its socket (an eviction, or stop()).
  void cancel(std::uint64_t id) {
    if (auto* e = find(id)) cancel(*e);
  }
  void cancel_all() {
    for (auto& [id, e] : entries_) cancel(*e);
  }

  entry* find(std::uint64_t id) {
    auto it = entries_.find(id);
    return it == entries_.end() ? nullptr : it->second.get();
  }
  std::size_t size() const { return entries_.size(); }
  auto begin() const { return entries_.begin(); }
  auto end() const { return entries_.end(); }

 private:
  static void cancel(entry& e) {
    e.signal.emit(boost::asio::cancellation_type::terminal);
    boost::system::error_code ignored;
    if (e.socket != nullptr) e.socket->close(ignored);
  }

  std::string prefix_;
  std::uint64_t next_ = 0;
  std::unordered_map<std::uint64_t, std::unique_ptr<entry>> entries_;
};

// Accepts until `stopping` is set or the acceptor is closed, handing each socket to
// `on_socket`. An accept error other than cancellation (EMFILE, ...) is logged as
// `<prefix>.accept_failed` and the loop goes on serving the connections it has.
template <class OnSocket>
boost::asio::awaitable<void> accept_until_stopped(boost::asio::ip::tcp::acceptor& acceptor, const bool& stopping,
                                                  std::string prefix, OnSocket on_socket) {
  co_await boost::asio::this_coro::throw_if_cancelled(false);  // stop() shows up as an error code
  while (!stopping) {
    auto [ec, socket] = co_await acceptor.async_accept(boost::asio::as_tuple(boost::asio::use_awaitable));
    if (ec) {
      if (stopping || ec == boost::asio::error::operation_aborted) break;
      log::warn(prefix + ".accept_failed", {{"error", ec.message()}});
      continue;
    }
    on_socket(std::move(socket));
  }
}

}  // namespace vidq::net
