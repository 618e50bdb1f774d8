// Response parsing for the three dialects (API.md §3, §4, §9). Every body is untrusted: a
// missing field, a wrong type or plain garbage becomes a verdict, never an exception.

#include "vidq/provider/dialect.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cctype>

namespace vidq::provider {
namespace json = boost::json;
namespace {

bool is_2xx(const transport_outcome& o) {
  return o.what == transport_outcome::kind::response && o.http_status >= 200 && o.http_status < 300;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::optional<json::value> parse_json(std::string_view body) {
  try {
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec) return std::nullopt;
    return v;
  } catch (...) {
    return std::nullopt;
  }
}

// A string or integer field as text; "" when absent or of another type.
std::string text_of(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (!v) return {};
  if (v->is_string()) return std::string(v->get_string());
  if (v->is_int64()) return std::to_string(v->get_int64());
  if (v->is_uint64()) return std::to_string(v->get_uint64());
  return {};
}

// The id of a task whose reply was cut short (simulated and real truncation): only a value
// whose closing quote (or delimiter) arrived is complete, so only that one is trusted.
std::optional<std::string> salvage_task_id(std::string_view body) {
  for (std::string_view key : {std::string_view("\"task_id\""), std::string_view("\"id\"")}) {
    for (std::size_t at = body.find(key); at != std::string_view::npos; at = body.find(key, at + 1)) {
      std::size_t before = at;
      while (before > 0 && std::isspace(static_cast<unsigned char>(body[before - 1]))) --before;
      if (before == 0 || (body[before - 1] != '{' && body[before - 1] != ',')) continue;
      std::size_t i = at + key.size();
      while (i < body.size() && std::isspace(static_cast<unsigned char>(body[i]))) ++i;
      if (i >= body.size() || body[i] != ':') continue;
      ++i;
      while (i < body.size() && std::isspace(static_cast<unsigned char>(body[i]))) ++i;
      if (i < body.size() && body[i] == '"') {
        const std::size_t end = body.find('"', i + 1);
        if (end == std::string_view::npos) continue;
        std::string_view id = body.substr(i + 1, end - i - 1);
        if (id.empty() || id.find('\\') != std::string_view::npos) continue;
        return std::string(id);
      }
      std::size_t j = i;
      while (j < body.size() && std::isdigit(static_cast<unsigned char>(body[j]))) ++j;
      if (j > i && j < body.size() && (body[j] == ',' || body[j] == '}')) return std::string(body.substr(i, j - i));
    }
  }
  return std::nullopt;
}

// A 2xx that carries an error object and no task: the provider answered, so classify it as
// the error it states (unknown codes fall back to HTTP 400 → fail_job invalid_request).
std::optional<verdict> embedded_error(operation op, const transport_outcome& o, const classify_context& ctx) {
  const auto pe = parse_error_body(o.body);
  if (!pe || pe->code.empty()) return std::nullopt;
  transport_outcome as_error = o;
  as_error.http_status = 400;
  return classify(op, as_error, ctx);
}

task_failed failure_of(const json::object& o) {
  task_failed f{"task_failed", ""};
  const json::object* err = &o;
  if (const auto* e = o.if_contains("error"); e && e->is_object()) err = &e->get_object();
  if (auto code = text_of(*err, "code"); !code.empty() && err != &o) f.error_code = code;
  for (std::string_view key : {"message", "fail_reason", "reason", "msg"}) {
    if (auto m = text_of(*err, key); !m.empty()) {
      f.message = m;
      break;
    }
  }
  if (f.message.empty()) f.message = "the provider reported FAIL without a reason";
  return f;
}

// video_result is an array of {url, cover_image_url} (BigModel, S004) or one object (GK API
// reference). The first entry with a URL wins.
std::optional<task_succeeded> result_of(const json::object& o) {
  const json::value* vr = o.if_contains("video_result");
  if (!vr) return std::nullopt;
  auto from = [](const json::value& item) -> std::optional<task_succeeded> {
    if (!item.is_object()) return std::nullopt;
    task_succeeded s{text_of(item.get_object(), "url"), text_of(item.get_object(), "cover_image_url")};
    if (s.cover_url.empty()) s.cover_url = text_of(item.get_object(), "cover_url");
    if (s.video_url.empty()) return std::nullopt;
    return s;
  };
  if (vr->is_object()) return from(*vr);
  if (vr->is_array()) {
    for (const auto& item : vr->get_array()) {
      if (auto s = from(item)) return s;
    }
  }
  return std::nullopt;
}

}  // namespace

task_phase parse_task_status(std::string_view s) noexcept {
  for (std::string_view w : {"PROCESSING", "SUBMITTED", "RUNNING", "PENDING", "QUEUED", "QUEUEING", "IN_PROGRESS"})
    if (iequals(s, w)) return task_phase::running;
  for (std::string_view w : {"SUCCESS", "SUCCEED", "SUCCEEDED", "SUCCESSFUL"})
    if (iequals(s, w)) return task_phase::succeeded;
  for (std::string_view w : {"FAIL", "FAILED", "FAILURE", "ERROR"})
    if (iequals(s, w)) return task_phase::failed;
  return task_phase::unknown;
}

submit_result interpret_submit(provider_kind /*provider*/, const transport_outcome& o, const classify_context& ctx) {
  if (!is_2xx(o)) return classify(operation::submit, o, ctx);
  const auto v = parse_json(o.body);
  if (!v || !v->is_object()) {
    if (auto id = salvage_task_id(o.body)) return submit_accepted{std::move(*id), "", ""};
    return classify_unreadable_success(operation::submit, v ? "not a JSON object" : "malformed JSON");
  }
  const json::object& obj = v->get_object();
  // Both dialects: BigModel says `id`, GeekAI `task_id`; accept either everywhere.
  std::string id = text_of(obj, "task_id");
  if (id.empty()) id = text_of(obj, "id");
  const std::string status = text_of(obj, "task_status");
  if (parse_task_status(status) == task_phase::failed) {
    task_failed f = failure_of(obj);
    verdict out{action::fail_job, retry_hint::normal, f.error_code, "the provider failed the task at submit: " + f.message,
                true, std::nullopt};
    return out;
  }
  if (!id.empty()) return submit_accepted{std::move(id), text_of(obj, "request_id"), status};
  if (auto e = embedded_error(operation::submit, o, ctx)) return std::move(*e);
  return classify_unreadable_success(operation::submit, "no task id in the reply");
}

poll_result interpret_poll(provider_kind /*provider*/, const transport_outcome& o, const classify_context& ctx) {
  if (!is_2xx(o)) return classify(operation::poll, o, ctx);
  const auto v = parse_json(o.body);
  if (!v || !v->is_object()) {
    return classify_unreadable_success(operation::poll, v ? "not a JSON object" : "malformed JSON");
  }
  const json::object& obj = v->get_object();
  const std::string status = text_of(obj, "task_status");
  switch (parse_task_status(status)) {
    case task_phase::running: {
      task_running r;
      if (const auto* p = obj.if_contains("progress"); p && p->is_int64()) {
        r.progress = static_cast<int>(std::clamp<std::int64_t>(p->get_int64(), 0, 100));
      }
      return r;
    }
    case task_phase::succeeded:
      if (auto s = result_of(obj)) return std::move(*s);
      // Seen as "result not attached yet": poll again rather than fail a paid video.
      return verdict{action::retry, retry_hint::normal, "malformed_reply", "success without a video URL", false,
                     std::nullopt};
    case task_phase::failed: return failure_of(obj);
    case task_phase::unknown: break;
  }
  if (auto e = embedded_error(operation::poll, o, ctx)) return std::move(*e);
  return verdict{action::retry, retry_hint::normal, "unknown_status",
                 status.empty() ? std::string("reply without task_status") : "unknown task_status '" + status.substr(0, 40) + "'",
                 false, std::nullopt};
}

}  // namespace vidq::provider
