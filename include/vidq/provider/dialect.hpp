#pragma once
// Provider dialects (API.md §1–§4, §9): job_spec → HTTP request, HTTP reply → what happened.
// bigmodel and zai speak the same wire format (zai adds Accept-Language); geekai renames the
// image fields, wants `async: true` and answers in its own status vocabulary.
// Pure except for reading local image files, which goes through an injectable reader.

#include "vidq/core/error.hpp"
#include "vidq/ops/config.hpp"
#include "vidq/provider/error_class.hpp"
#include "vidq/provider/job_spec.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace vidq::provider {

using ops::provider_kind;

// One HTTP request, minus the Authorization header (the driver adds the credential, so no
// value built here can ever carry it into a log).
struct http_request {
  std::string method;  // "POST" or "GET"
  std::string path;    // relative to the account's base_url, starts with '/'
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // JSON text; empty for GET
};

// Reads a local image file whole. Errors: errc::not_found, errc::io_error, and
// errc::invalid_argument when the file is larger than `max_bytes`.
using image_reader = std::function<result<std::string>(const std::string& path, std::size_t max_bytes)>;
// The real reader (std::ifstream). The only I/O of this module.
result<std::string> read_image_file(const std::string& path, std::size_t max_bytes);

// Why a submit request could not be built. Every case fails the job (`field` names the
// input), because resubmitting the same row cannot fix it.
struct build_error {
  std::string error_code;  // "invalid_request" or "image_unreadable"
  std::string message;     // names the field
};

// Builds POST /videos/generations for `spec` with vidq's `request_id`. Local image paths
// become data:image/...;base64 URIs (format from the file's magic bytes). Expects a spec
// that already passed validate(); it re-checks only what the dialect itself needs.
std::variant<http_request, build_error> build_submit(provider_kind provider, const job_spec& spec,
                                                     std::string_view request_id,
                                                     const image_reader& read = read_image_file);

// GET /async-result/{id} (bigmodel, zai) or /video/{id}/result (geekai). The id is
// percent-encoded, so a hostile id cannot change the path.
http_request build_poll(provider_kind provider, std::string_view task_id);

// The provider accepted the submit.
struct submit_accepted {
  std::string task_id;
  std::string request_id;  // as echoed; may be empty (GeekAI does not echo it)
  std::string status;      // raw task_status, for logs
};
using submit_result = std::variant<submit_accepted, verdict>;

// The one call after a submit's transport finished. Never throws; garbage is a verdict
// (a 2xx whose body hides the task id is ambiguous: the task probably exists).
submit_result interpret_submit(provider_kind provider, const transport_outcome& outcome, const classify_context& ctx);

struct task_running {
  std::optional<int> progress;  // 0..100 when the provider says (GeekAI)
};
struct task_succeeded {
  std::string video_url;
  std::string cover_url;  // may be empty
};
struct task_failed {
  std::string error_code;  // the provider's code if any, else "task_failed"
  std::string message;
};
using poll_result = std::variant<task_running, task_succeeded, task_failed, verdict>;

// The one call after a poll's transport finished. Never throws.
poll_result interpret_poll(provider_kind provider, const transport_outcome& outcome, const classify_context& ctx);

enum class task_phase { running, succeeded, failed, unknown };
// PROCESSING / SUBMITTED / running / pending / queued → running; SUCCESS / succeed(ed) →
// succeeded; FAIL / failed / error → failed. Case-insensitive; both dialects.
task_phase parse_task_status(std::string_view status) noexcept;

}  // namespace vidq::provider
