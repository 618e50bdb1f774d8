#include "vidq/ops/log.hpp"

#include <boost/json/serialize.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <vector>

namespace vidq::log {
namespace {

struct state {
  std::mutex mutex;
  std::vector<std::string> secrets;
  sink_fn sink = nullptr;
  void* sink_user = nullptr;
};

state& global() {
  static state s;
  return s;
}

std::atomic<level> min_level{level::info};

const char* name_of(level lvl) {
  switch (lvl) {
    case level::debug: return "debug";
    case level::info: return "info";
    case level::warn: return "warn";
    case level::error: return "error";
  }
  return "info";
}

std::string utc_timestamp() {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  const std::time_t secs = system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

std::string redact_locked(std::string text, const std::vector<std::string>& secrets) {
  for (const auto& secret : secrets) {
    for (auto pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos)) {
      text.replace(pos, secret.size(), "[REDACTED]");
    }
  }
  return text;
}

// Redacts every string inside `v` (keys too) before it is serialized: serializing escapes a
// quote or a backslash in a secret, and the escaped form no longer matches the registered one.
void redact_value(boost::json::value& v, const std::vector<std::string>& secrets) {
  if (auto* str = v.if_string()) {
    if (!secrets.empty()) *str = redact_locked(std::string(str->data(), str->size()), secrets);
  } else if (auto* obj = v.if_object()) {
    boost::json::object clean;
    for (auto& field : *obj) {
      redact_value(field.value(), secrets);
      clean[redact_locked(std::string(field.key().data(), field.key().size()), secrets)] = std::move(field.value());
    }
    *obj = std::move(clean);
  } else if (auto* arr = v.if_array()) {
    for (auto& item : *arr) redact_value(item, secrets);
  }
}

}  // namespace

void set_min_level(level lvl) { min_level = lvl; }

bool parse_level(std::string_view text, level& out) {
  for (level l : {level::debug, level::info, level::warn, level::error}) {
    if (text == name_of(l)) {
      out = l;
      return true;
    }
  }
  return false;
}

void register_secret(std::string secret) {
  if (secret.size() < 8) return;
  auto& s = global();
  std::lock_guard lock(s.mutex);
  s.secrets.push_back(std::move(secret));
}

std::string redact(std::string text) {
  auto& s = global();
  std::lock_guard lock(s.mutex);
  return redact_locked(std::move(text), s.secrets);
}

void set_sink(sink_fn sink, void* user) {
  auto& s = global();
  std::lock_guard lock(s.mutex);
  s.sink = sink;
  s.sink_user = user;
}

void write(level lvl, std::string_view event, boost::json::object fields) {
  if (lvl < min_level.load()) return;
  try {
    boost::json::object line;
    line["ts"] = utc_timestamp();
    line["level"] = name_of(lvl);
    line["event"] = event;
    for (auto& field : fields) line[field.key()] = std::move(field.value());
    auto& s = global();
    std::lock_guard lock(s.mutex);
    boost::json::value whole(std::move(line));
    redact_value(whole, s.secrets);
    // And the line as written, for a secret split across fields or named by `event`.
    std::string text = redact_locked(boost::json::serialize(whole), s.secrets);
    if (s.sink) {
      s.sink(text, s.sink_user);
    } else {
      text.push_back('\n');
      std::fwrite(text.data(), 1, text.size(), stderr);
    }
  } catch (...) {
    // Logging must never take the daemon down (e.g. std::bad_alloc while serializing).
  }
}

}  // namespace vidq::log
