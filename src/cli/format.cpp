#include "format.hpp"
#include "vidq/core/utc_text.hpp"

#include <boost/json/parse.hpp>

#include <cstdio>
#include <ctime>
#include <unistd.h>

namespace vidq::cli {

std::string format_time(std::optional<millis> at) {
  if (!at) return "-";
  return utc_text(*at, "%Y-%m-%d %H:%M:%S");
}

std::string format_cny(std::int64_t milli) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld.%03lld", static_cast<long long>(milli / 1000),
                static_cast<long long>(milli % 1000));
  return buf;
}

namespace {

template <class T>
void put(boost::json::object& o, const char* name, const std::optional<T>& v) {
  if (v) {
    o[name] = *v;
  } else {
    o[name] = nullptr;
  }
}

void put_time(boost::json::object& o, const char* name, std::optional<millis> v) {
  if (v) {
    o[name] = format_time(v);
  } else {
    o[name] = nullptr;
  }
}

}  // namespace

boost::json::object to_json(const store::job_row& r) {
  boost::json::object o;
  o["id"] = r.id;
  put(o, "key", r.key);
  o["batch"] = r.batch;
  o["priority"] = r.priority;
  o["account"] = r.account;
  // Set when the pool picked `account` for the job: what the row asked for ('', '*', 'default').
  put(o, "requested_account", r.requested_account);
  o["model"] = r.model;
  put(o, "prompt", r.prompt);
  boost::system::error_code ec;
  if (r.image_url && r.image_url->starts_with("[")) {
    o["image_url"] = boost::json::parse(*r.image_url, ec);
  } else {
    put(o, "image_url", r.image_url);
  }
  o["params"] = boost::json::parse(r.params, ec);
  o["state"] = to_string(r.state);
  o["attempts"] = r.attempts;
  put(o, "request_id", r.request_id);
  put(o, "task_id", r.task_id);
  put_time(o, "submitted_at", r.submitted_at);
  put_time(o, "next_poll_at", r.next_poll_at);
  o["polls"] = r.polls;
  put_time(o, "finished_at", r.finished_at);
  put(o, "video_url", r.video_url);
  put(o, "cover_url", r.cover_url);
  put(o, "video_path", r.video_path);
  put(o, "cover_path", r.cover_path);
  put(o, "video_bytes", r.video_bytes);
  put(o, "video_sha256", r.video_sha256);
  o["cost_cny"] = static_cast<double>(r.cost) / 1000.0;
  put(o, "error_code", r.error_code);
  put(o, "error_message", r.error_message);
  o["created_at"] = format_time(r.created_at);
  o["updated_at"] = format_time(r.updated_at);
  return o;
}

boost::json::object to_json(const store::job_event& e) {
  boost::json::object o;
  o["at"] = format_time(e.at);
  put(o, "from_state", e.from_state);
  o["to_state"] = e.to_state;
  put(o, "detail", e.detail);
  return o;
}

bool stdout_is_tty() { return ::isatty(STDOUT_FILENO) == 1; }

}  // namespace vidq::cli
