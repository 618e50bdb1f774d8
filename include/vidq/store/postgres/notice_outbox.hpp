#pragma once
// The notice outbox (store/notice_outbox.hpp) on PostgreSQL, shared by every daemon of the
// database through the daemon's pool.
#include "vidq/store/notice_outbox.hpp"
#include "vidq/store/postgres/pool.hpp"

namespace vidq::store::pg {

class postgres_notice_outbox final : public notice_outbox {
 public:
  postgres_notice_outbox(pool& db, const clock& clk) : db_(db), clock_(clk) {}

  task<std::vector<notify::notice_row>> to_fan_out(int limit) override;
  task<bool> fan_out(std::int64_t notice_id, std::string_view payload,
                     const std::vector<std::string>& targets) override;
  task<std::vector<due_delivery>> due(millis now, int limit) override;
  task<bool> claim_delivery(std::int64_t notice_id, std::string_view target, millis now, millis hold_ms) override;
  task<std::optional<millis>> next_due() override;
  task<void> record_delivered(std::int64_t notice_id, std::string_view target) override;
  task<void> record_failed(std::int64_t notice_id, std::string_view target, std::string_view error,
                           std::optional<millis> next_attempt) override;
  task<void> record_budget_blocked(std::string_view reason) override;
  task<int> prune(millis cutoff, int max_rows) override;
  task<std::vector<manifest_row>> batch_manifest(std::string_view batch) override;

 private:
  pool& db_;
  const clock& clock_;
};

}  // namespace vidq::store::pg
