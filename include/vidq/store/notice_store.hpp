#pragma once
// The notice outbox (migrations/0006): notices written by triggers with the state change
// that causes them, fanned out by the daemon into one delivery row per matching [[notify]]
// target, then delivered at least once. One storage seam: the daemon, `vidq notify list`
// and /metrics hold no SQL for these. Errors: errc::database_error / database_busy.

#include "vidq/core/clock.hpp"
#include "vidq/core/error.hpp"
#include "vidq/notify/message.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vidq::store {

class database;

struct due_delivery {
  notify::notice_row notice;
  std::string target;
  int attempts = 0;
};

enum class delivery_status { pending, delivered, failed };
std::string_view to_string(delivery_status s) noexcept;

// One line of `vidq notify list` (the notice_status view).
struct delivery_row {
  std::int64_t notice_id = 0;
  notice_event event = notice_event::batch_finished;
  std::string subject;  // batch, else account, else ""
  std::optional<std::int64_t> job_id;
  std::string target;
  delivery_status status = delivery_status::pending;
  int attempts = 0;
  std::optional<std::string> last_error;
  millis created = 0;
  millis next_attempt = 0;
  std::optional<millis> delivered;
};

struct delivery_counts {
  std::int64_t pending = 0;
  std::int64_t failed = 0;  // given up
  std::int64_t not_fanned_out = 0;
};

class notice_store {
 public:
  notice_store(database& db, const vidq::clock& clk) : db_(db), clock_(clk) {}

  // Notices the daemon has not fanned out yet, oldest first (notices_to_fan_out index).
  result<std::vector<notify::notice_row>> to_fan_out(int limit);
  // In one transaction: the notice's payload replaced by `payload` (completed with what the
  // daemon adds), one pending delivery per name in `targets` due now, fanned_out = 1.
  // False when it was already fanned out (nothing changes then).
  result<bool> fan_out(std::int64_t notice_id, std::string_view payload, const std::vector<std::string>& targets);

  // Deliveries due at `now` (notice_deliveries_due index), earliest first, with their notice.
  result<std::vector<due_delivery>> due(millis now, int limit);
  // The earliest next attempt of any pending delivery (nullopt: none pending).
  result<std::optional<millis>> next_due();
  // An attempt's outcome. `next_attempt` nullopt on a failure = given up.
  result<void> record_delivered(std::int64_t notice_id, std::string_view target);
  result<void> record_failed(std::int64_t notice_id, std::string_view target, std::string_view error,
                             std::optional<millis> next_attempt);

  // The scheduler's budget block (no trigger can see it: it is a decision, not a row).
  result<void> record_budget_blocked(std::string_view reason);

  // For `vidq notify list`: newest first; `only` filters by status.
  result<std::vector<delivery_row>> list(std::optional<delivery_status> only, int limit);

  // Deletes notices created before `cutoff` whose deliveries are all finished (delivered or
  // given up), at most `max_rows` per call; returns how many. Pending ones are never deleted.
  result<int> prune(millis cutoff, int max_rows);

 private:
  database& db_;
  const vidq::clock& clock_;
};

// Deliveries by status and notices not fanned out, for /metrics and `vidq doctor`.
result<delivery_counts> notice_counts(database& db);


}  // namespace vidq::store
