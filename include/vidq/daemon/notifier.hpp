#pragma once
// The daemon's side of the notice outbox (migrations/0006, docs/DAEMON.md "Notices"),
// through store::notice_outbox (either backend). The scheduler pokes it from its loop; a
// pass runs as a coroutine of its own and awaits only the store, never a delivery:
//  1. fan-out: each new notice gets one delivery row per [[notify]] target whose `events`
//     match; a batch_finished notice first gets its manifest.csv written ([output]
//     write_manifest) on a worker thread, so the notice names a file that exists;
//  2. delivery: due deliveries start as coroutines (at most max_in_flight at once, two per
//     target), each one attempt through the transport; the outcome is recorded in one
//     short transaction (delivered, or the next attempt by notify/retry_policy, or given up).
// A crash between an attempt and its record sends the notice again after the restart (on
// PostgreSQL: by any daemon, once take_due's hold has passed), with the same
// Idempotency-Key: delivery is at least once.

#include "vidq/core/clock.hpp"
#include "vidq/notify/transport.hpp"
#include "vidq/ops/config.hpp"
#include "vidq/ops/metrics.hpp"
#include "vidq/store/daemon_store.hpp"
#include "vidq/store/notice_outbox.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/thread_pool.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace vidq::daemon {

struct notifier_deps {
  store::notice_outbox& outbox;
  store::daemon_store& store;  // the ledger: a batch_finished notice says what the batch cost
  const vidq::clock& clock;
  ops::metrics& metrics;
  notify::transport* transport;  // null: nothing is sent (deliveries stay pending)
  // Fewer store round trips on a networked backend: pump() looks for new notices and due
  // deliveries at most this often, unless an attempt or a manifest finished meanwhile.
  millis min_pass_interval = 0;
};

class notifier {
 public:
  static constexpr int max_in_flight = 8;
  static constexpr int max_per_target = 2;
  // How long a delivery taken for an attempt stays away from the other daemons sharing the
  // outbox (PostgreSQL): longer than any attempt (the transport's timeout).
  static constexpr millis delivery_hold_ms = 5 * 60'000;

  notifier(boost::asio::any_io_executor ex, notifier_deps deps, const ops::config& cfg,
           std::vector<notify::target> targets, std::uint64_t seed);
  ~notifier();
  notifier(const notifier&) = delete;
  notifier& operator=(const notifier&) = delete;

  // SIGHUP: the new targets (secrets loaded) and [output] settings apply to the next pass.
  // A pending delivery whose target is no longer configured is given up when it comes due
  // (last_error says so), so a removed target never holds `--exit-when-idle`.
  void reload(const ops::config& cfg, std::vector<notify::target> targets);
  // Starts one pass (fan out new notices, start due deliveries) as a coroutine of its own,
  // unless one is running: the scheduler's loop never waits on the outbox's round trips.
  // Errors are logged and retried at the next pass.
  void poke();
  // When pump() has something to do next (a retry coming due); nullopt: only on new notices.
  std::optional<millis> next_wake() const { return next_due_; }
  // Work the daemon should wait for before `--exit-when-idle` exits: attempts in flight,
  // manifests being written, notices not fanned out, deliveries to configured targets due
  // within `horizon`. A target down for longer keeps its notices for the next run.
  boost::asio::awaitable<bool> has_work(millis horizon = 30'000);
  // Shutdown: attempts in flight are cancelled (they stay pending, sent again next start).
  void stop();
  bool drained() const { return attempts_.empty() && manifests_ == 0 && !pumping_; }
  // Called when an attempt or a manifest write finishes (the scheduler wakes its loop).
  void on_progress(std::function<void()> f) { on_progress_ = std::move(f); }

 private:
  struct attempt_slot {
    std::string target;
    std::int64_t notice_id = 0;
    boost::asio::cancellation_signal signal;
  };

  boost::asio::awaitable<void> fan_out();
  boost::asio::awaitable<void> finish_fan_out(const notify::notice_row& notice,
                                              const std::optional<std::string>& manifest);
  // Reads the batch's manifest, writes it on the worker thread, then fans the notice out.
  boost::asio::awaitable<void> manifest_then_fan_out(notify::notice_row notice);
  void spawn_tracked(boost::asio::awaitable<void> work);
  boost::asio::awaitable<void> pass();  // pump(), then pumping_ = false
  boost::asio::awaitable<void> pump();
  boost::asio::awaitable<void> start_deliveries();
  // `target` is a copy: a reload during the attempt may replace targets_.
  boost::asio::awaitable<void> attempt(store::due_delivery d, notify::target target);
  const notify::target* find_target(std::string_view name) const;
  boost::asio::awaitable<void> refresh_next_due();

  boost::asio::any_io_executor ex_;
  store::notice_outbox& outbox_;
  store::daemon_store& store_;
  const vidq::clock& clock_;
  ops::metrics& metrics_;
  notify::transport* transport_;
  millis min_pass_interval_ = 0;
  std::optional<millis> last_pass_;
  bool progressed_ = false;  // an attempt or a manifest finished since the last pass
  bool pumping_ = false;     // a pass started by poke() is running
  std::vector<notify::target> targets_;
  bool write_manifest_ = false;
  std::string output_dir_;
  std::string path_template_;
  std::mt19937_64 rng_;

  std::map<std::uint64_t, std::unique_ptr<attempt_slot>> attempts_;
  std::uint64_t next_slot_ = 0;
  std::set<std::int64_t> preparing_;  // notices whose manifest is being written
  int manifests_ = 0;
  std::optional<millis> next_due_;
  bool stopping_ = false;
  std::function<void()> on_progress_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  boost::asio::thread_pool files_{1};  // manifest writes: fsync and rename off the loop
};

}  // namespace vidq::daemon
