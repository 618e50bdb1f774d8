#pragma once
// Another connection holds the database's write lock (an operator's `BEGIN IMMEDIATE` in
// sqlite3, a long `vidq import`): the daemon's connection waits only a few tens of
// milliseconds (its busy timeout) and then treats SQLITE_BUSY as "try again shortly"
// (issue 11 item 4, docs/DAEMON.md "A locked database"). This watch keeps the loop and its
// tasks from all knocking at once: after a busy answer only one attempt is made per
// `retry_every`, so the event loop spends at most busy_timeout out of every retry_every
// blocked in SQLite, and /healthz can say since when the lock is held.
// Pure: time comes in `now`.

#include "vidq/core/clock.hpp"

#include <optional>

namespace vidq::engine {

class db_lock_watch {
 public:
  explicit db_lock_watch(millis retry_every = 100) : retry_every_(retry_every) {}

  // May a write be tried now? Always while the lock is free; once per retry_every while
  // it is held (the attempt that is let through moves the next slot on).
  bool may_try(millis now);
  // The write got SQLITE_BUSY past the busy timeout.
  void on_busy(millis now);
  // A write went through: the lock is free again.
  void on_ok() { locked_since_.reset(); }

  bool locked() const { return locked_since_.has_value(); }
  std::optional<millis> locked_since() const { return locked_since_; }
  // When the next attempt may be made (now or later); meaningful while locked().
  millis next_try() const { return next_try_; }

 private:
  millis retry_every_;
  std::optional<millis> locked_since_;
  millis next_try_ = 0;
};

}  // namespace vidq::engine
