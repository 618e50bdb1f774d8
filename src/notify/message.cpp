#include "vidq/notify/message.hpp"

#include "vidq/core/utc_text.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace vidq::notify {
namespace {

boost::json::object parse_object(std::string_view text) {
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec);
  if (ec || !v.is_object()) return {};
  return std::move(v.as_object());
}

std::string text_of(const boost::json::value& v) {
  if (v.is_string()) return std::string(v.as_string());
  if (v.is_null()) return {};
  return boost::json::serialize(v);
}

}  // namespace

std::string idempotency_key(std::int64_t notice_id, std::string_view target) {
  return "vidq-" + std::to_string(notice_id) + "-" + std::string(target);
}

message build_message(const notice_row& notice, std::string_view target) {
  message m;
  m.notice_id = notice.id;
  m.event = notice.event;
  m.idempotency_key = idempotency_key(notice.id, target);
  boost::json::object data = parse_object(notice.payload);
  boost::json::object body;
  body["notice_id"] = notice.id;
  body["event"] = to_string(notice.event);
  body["at"] = utc_text(notice.at, "%Y-%m-%dT%H:%M:%SZ");
  body["idempotency_key"] = m.idempotency_key;
  body["data"] = data;
  m.body = boost::json::serialize(body);

  m.env = {{"VIDQ_EVENT", std::string(to_string(notice.event))},
           {"VIDQ_NOTICE_ID", std::to_string(notice.id)},
           {"VIDQ_IDEMPOTENCY_KEY", m.idempotency_key},
           {"VIDQ_AT", utc_text(notice.at, "%Y-%m-%dT%H:%M:%SZ")}};
  static constexpr std::pair<const char*, const char*> from_data[] = {
      {"job_id", "VIDQ_JOB_ID"},         {"key", "VIDQ_JOB_KEY"},      {"batch", "VIDQ_BATCH"},
      {"state", "VIDQ_STATE"},           {"account", "VIDQ_ACCOUNT"},  {"video_path", "VIDQ_VIDEO_PATH"},
      {"error_code", "VIDQ_ERROR_CODE"}, {"manifest", "VIDQ_MANIFEST"}};
  for (const auto& [field, var] : from_data) {
    if (const auto* v = data.if_contains(field); v && !v->is_null()) m.env.emplace_back(var, text_of(*v));
  }
  return m;
}

std::string complete_payload(notice_event event, std::string_view payload, std::int64_t spent_milli,
                             const std::optional<std::string>& manifest_path) {
  if (event != notice_event::batch_finished) return std::string(payload);
  boost::json::object data = parse_object(payload);
  boost::json::object counts;
  if (const auto* c = data.if_contains("counts"); c && c->is_object()) counts = c->as_object();
  for (const char* state : {"succeeded", "failed", "cancelled"}) {
    if (!counts.contains(state)) counts[state] = 0;
  }
  data["counts"] = counts;
  data["spent_cny"] = static_cast<double>(spent_milli) / 1000.0;
  if (manifest_path) {
    data["manifest"] = *manifest_path;
  } else {
    data["manifest"] = nullptr;
  }
  return boost::json::serialize(data);
}

}  // namespace vidq::notify
