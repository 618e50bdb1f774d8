#pragma once
// The daemon as the status server sees it (issue 5): a read-only view of what only the
// running scheduler knows (admission lanes, pauses, liveness) and the few commands an
// operator may send it. Everything else (jobs, batches, spend) the status server reads
// through its own store (store/status_store.hpp). Called on the daemon's io_context thread only.
#include "vidq/core/clock.hpp"
#include "vidq/core/error.hpp"
#include "vidq/engine/disk_pressure.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vidq::daemon {

struct lane_view {
  std::string account;
  std::string model;
  int in_flight = 0;
  int effective_cap = 0;   // after AIMD
  int configured_cap = 0;  // tier / max_in_flight
};

struct account_view {
  std::string name;
  std::string provider;  // bigmodel | zai | geekai
  bool paused = false;
  std::string reason;                 // empty when active
  std::optional<millis> paused_until; // timed pause
  bool breaker_open = false;          // paused by the circuit breaker: probing, lifts itself
  int failed_probes = 0;
  std::vector<std::string> models;    // what it serves from the pool; empty = every model
};

// What the daemon expects of one kind of job's run time (engine::duration_key): the fit of
// what its polls saw, or the built-in prior while it has seen nothing.
struct duration_view {
  std::string kind;              // model|quality|Ns|std|hd
  millis median = 0, p90 = 0;    // expected now
  millis prior_median = 0;       // built-in × duration_scale
  std::size_t observations = 0;  // finished (or given-up) tasks it learned from, newest 400
};

struct runtime_view {
  millis started_at = 0;
  millis last_tick = 0;  // the last scheduler pass; healthz compares it with now
  bool draining = false; // SIGTERM received
  std::vector<lane_view> lanes;
  std::vector<account_view> accounts;
  std::optional<std::string> budget_block;  // why admission is held by the budget
  engine::disk_view disk;                   // disk-pressure pause of downloads / admission
  std::optional<millis> db_locked_since;    // another connection holds the write lock
  std::optional<std::string> db_lost;       // the database or its WAL was deleted/replaced
  std::vector<duration_view> durations;     // learned run times, by kind of job
};

class daemon_control {
 public:
  virtual ~daemon_control() = default;
  virtual runtime_view runtime() const = 0;
  // Something changed in the database through this process's connection (an API enqueue,
  // cancel or retry): look at the queue now rather than at the next idle check.
  virtual void wake() = 0;
  // Operator pause/resume, persisted in account_pauses through the daemon's store (either
  // backend). false: no such account; an error: the database refused the write and nothing
  // changed. `name` and `reason` are read before the first suspension.
  virtual boost::asio::awaitable<result<bool>> pause_account(std::string_view name, std::string_view reason) = 0;
  virtual boost::asio::awaitable<result<bool>> resume_account(std::string_view name) = 0;
};

}  // namespace vidq::daemon
