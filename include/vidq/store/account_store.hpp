#pragma once
// Account pauses in the database (migrations/0002_account_pauses.sql): written by the
// daemon when the provider says an account cannot submit (auth, arrears, quota) and by
// operators (`vidq account pause|resume`, the status server); read by the daemon at start
// and whenever another connection wrote. The DB is the only state, so a restart keeps them.
#include "vidq/core/clock.hpp"
#include "vidq/core/error.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vidq::store {

class database;

// breaker: the daemon's own circuit breaker (endpoint unreachable); it lifts it itself.
enum class paused_by { operator_, provider, breaker };

struct account_pause_row {
  std::string account;
  std::string reason;
  std::optional<millis> until;  // nullopt: until resumed
  paused_by by = paused_by::operator_;
  millis at = 0;
};

class account_store {
 public:
  account_store(database& db, const clock& clk) : db_(db), clock_(clk) {}
  // Inserts or replaces the account's pause.
  result<void> pause(std::string_view account, std::string_view reason, std::optional<millis> until,
                     paused_by by);
  // Deletes the pause; returns whether there was one.
  result<bool> resume(std::string_view account);
  // Deletes the pause only if `by` set it (the breaker lifting its own pause must not lift
  // an operator's); returns whether it did.
  result<bool> lift(std::string_view account, paused_by by);
  // Every pause, expired timed ones included (the caller compares `until` with its clock).
  result<std::vector<account_pause_row>> pauses();

 private:
  database& db_;
  const clock& clock_;
};

std::string_view to_string(paused_by by) noexcept;
// The column's text back; anything unknown reads as the operator's (never lifted by vidq).
paused_by parse_paused_by(std::string_view text) noexcept;

}  // namespace vidq::store
