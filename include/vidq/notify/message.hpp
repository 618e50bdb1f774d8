#pragma once
// What a [[notify]] target receives (docs/OPERATIONS.md "Completion notices"): one JSON
// object per notice, the same bytes on every attempt, with an idempotency key stable per
// (notice, target). Pure functions: the outbox row in, the message out.

#include "vidq/core/clock.hpp"
#include "vidq/core/notice_event.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vidq::notify {

// One row of `notices` (migrations/0006).
struct notice_row {
  std::int64_t id = 0;
  notice_event event = notice_event::batch_finished;
  millis at = 0;
  std::optional<std::int64_t> job_id;
  std::optional<std::string> batch;
  std::optional<std::string> account;
  std::string payload = "{}";  // JSON object
};

struct message {
  std::int64_t notice_id = 0;
  notice_event event = notice_event::batch_finished;
  std::string body;  // {"notice_id", "event", "at", "idempotency_key", "data": {...}}
  std::string idempotency_key;
  // VIDQ_EVENT, VIDQ_NOTICE_ID, VIDQ_IDEMPOTENCY_KEY, VIDQ_AT, and from the data when
  // present: VIDQ_JOB_ID, VIDQ_JOB_KEY, VIDQ_BATCH, VIDQ_STATE, VIDQ_ACCOUNT, VIDQ_VIDEO_PATH,
  // VIDQ_ERROR_CODE, VIDQ_MANIFEST. For command targets.
  std::vector<std::pair<std::string, std::string>> env;
};

// "vidq-<notice id>-<target>": the same for every attempt and after a restart, different
// per target.
std::string idempotency_key(std::int64_t notice_id, std::string_view target);

// The message for `target`. A payload that is not a JSON object is sent as {} (the CHECK on
// notices.payload makes that a hand-edited row).
message build_message(const notice_row& notice, std::string_view target);

// What the daemon adds to a batch_finished payload at fan-out: the spend (milli-CNY) and
// the manifest's path (null when [output] write_manifest is off or the write failed), and
// the counts of every finished state, zeros included, so receivers read fixed keys.
// Other events' payloads are returned unchanged.
std::string complete_payload(notice_event event, std::string_view payload, std::int64_t spent_milli,
                             const std::optional<std::string>& manifest_path);

}  // namespace vidq::notify
