#include "vidq/store/notice_outbox.hpp"

namespace vidq::store {

auto sqlite_notice_outbox::to_fan_out(int limit) -> task<std::vector<notify::notice_row>> {
  co_return notices_.to_fan_out(limit);
}

auto sqlite_notice_outbox::fan_out(std::int64_t notice_id, std::string_view payload,
                                   const std::vector<std::string>& targets) -> task<bool> {
  co_return notices_.fan_out(notice_id, payload, targets);
}

auto sqlite_notice_outbox::due(millis now, int limit) -> task<std::vector<due_delivery>> {
  co_return notices_.due(now, limit);
}

auto sqlite_notice_outbox::next_due() -> task<std::optional<millis>> { co_return notices_.next_due(); }

auto sqlite_notice_outbox::record_delivered(std::int64_t notice_id, std::string_view target) -> task<void> {
  co_return notices_.record_delivered(notice_id, target);
}

auto sqlite_notice_outbox::record_failed(std::int64_t notice_id, std::string_view target, std::string_view error,
                                         std::optional<millis> next_attempt) -> task<void> {
  co_return notices_.record_failed(notice_id, target, error, next_attempt);
}

auto sqlite_notice_outbox::record_budget_blocked(std::string_view reason) -> task<void> {
  co_return notices_.record_budget_blocked(reason);
}

auto sqlite_notice_outbox::prune(millis cutoff, int max_rows) -> task<int> {
  co_return notices_.prune(cutoff, max_rows);
}

auto sqlite_notice_outbox::batch_manifest(std::string_view batch) -> task<std::vector<manifest_row>> {
  manifest_filter filter;
  filter.batch = std::string(batch);
  co_return outputs_.manifest(filter);
}

}  // namespace vidq::store
