#pragma once
// The notice outbox as the daemon's notifier sees it (daemon/notifier.hpp): fan-out,
// deliveries due, their outcomes, the budget notice, pruning, and the batch manifest a
// batch_finished notice names. Awaitable like daemon_store.hpp, so that PostgreSQL's
// network round trips never block the loop; sqlite_notice_outbox runs notice_store and
// output_store and never suspends. The contracts are notice_store.hpp's.
//
// Several daemons on one PostgreSQL database share the outbox: fan_out marks a notice in
// the same transaction that adds its deliveries (only one daemon does it), and a daemon
// claims each delivery before its attempt (claim_delivery moves it `hold_ms` ahead), so no
// other daemon sends it meanwhile. Delivery stays at least once: a daemon that dies during
// an attempt leaves the delivery due again after the hold.

#include "vidq/core/clock.hpp"
#include "vidq/core/error.hpp"
#include "vidq/notify/message.hpp"
#include "vidq/store/notice_store.hpp"
#include "vidq/store/output_store.hpp"

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vidq::store {

class notice_outbox {
 public:
  template <class T>
  using task = boost::asio::awaitable<result<T>>;

  virtual ~notice_outbox() = default;

  virtual task<std::vector<notify::notice_row>> to_fan_out(int limit) = 0;
  virtual task<bool> fan_out(std::int64_t notice_id, std::string_view payload,
                             const std::vector<std::string>& targets) = 0;
  virtual task<std::vector<due_delivery>> due(millis now, int limit) = 0;
  // Whether this daemon may attempt the delivery now. PostgreSQL: true for exactly one
  // daemon, which holds it for `hold_ms` (next_attempt_at moves; the attempt's record sets
  // it again). SQLite: always true (one daemon, which never runs one delivery twice).
  virtual task<bool> claim_delivery(std::int64_t notice_id, std::string_view target, millis now, millis hold_ms) = 0;
  virtual task<std::optional<millis>> next_due() = 0;
  virtual task<void> record_delivered(std::int64_t notice_id, std::string_view target) = 0;
  virtual task<void> record_failed(std::int64_t notice_id, std::string_view target, std::string_view error,
                                   std::optional<millis> next_attempt) = 0;
  virtual task<void> record_budget_blocked(std::string_view reason) = 0;
  virtual task<int> prune(millis cutoff, int max_rows) = 0;
  // Every job of `batch`, in id order (output_store::manifest).
  virtual task<std::vector<manifest_row>> batch_manifest(std::string_view batch) = 0;
};

// Over the daemon's SQLite connection.
class sqlite_notice_outbox final : public notice_outbox {
 public:
  sqlite_notice_outbox(database& db, const clock& clk) : notices_(db, clk), outputs_(db) {}

  task<std::vector<notify::notice_row>> to_fan_out(int limit) override;
  task<bool> fan_out(std::int64_t notice_id, std::string_view payload,
                     const std::vector<std::string>& targets) override;
  task<std::vector<due_delivery>> due(millis now, int limit) override;
  task<bool> claim_delivery(std::int64_t, std::string_view, millis, millis) override { co_return true; }
  task<std::optional<millis>> next_due() override;
  task<void> record_delivered(std::int64_t notice_id, std::string_view target) override;
  task<void> record_failed(std::int64_t notice_id, std::string_view target, std::string_view error,
                           std::optional<millis> next_attempt) override;
  task<void> record_budget_blocked(std::string_view reason) override;
  task<int> prune(millis cutoff, int max_rows) override;
  task<std::vector<manifest_row>> batch_manifest(std::string_view batch) override;

 private:
  notice_store notices_;
  output_store outputs_;
};

}  // namespace vidq::store
