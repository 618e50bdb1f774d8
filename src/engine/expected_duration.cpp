#include "vidq/engine/expected_duration.hpp"
#include "vidq/provider/models.hpp"

#include <algorithm>
#include <cmath>

namespace vidq::engine {
namespace {

constexpr double z90 = 1.2815515655446004;  // standard normal 90th percentile

struct row {
  std::string_view model;
  std::string_view quality;  // "" = any
  double median_s;
  double p90_s;
};

// API.md §12. viduq1-* have no evidence at all: they borrow vidu2-reference's figures.
// The legacy `cogvideox` borrows cogvideox-2's.
constexpr row table[] = {
    {"cogvideox-flash", "", 90, 300},        {"cogvideox-2", "quality", 120, 240},
    {"cogvideox-2", "", 60, 150},            {"cogvideox-3", "quality", 210, 420},
    {"cogvideox-3", "", 120, 240},           {"cogvideox", "quality", 120, 240},
    {"cogvideox", "", 60, 150},              {"vidu2-image", "", 40, 90},
    {"vidu2-start-end", "", 40, 90},         {"vidu2-reference", "", 60, 120},
    {"viduq1-text", "", 60, 120},            {"viduq1-image", "", 60, 120},
    {"viduq1-start-end", "", 60, 120},
};

std::string string_param(const boost::json::object& p, std::string_view key) {
  const auto* v = p.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::int64_t int_param(const boost::json::object& p, std::string_view key, std::int64_t fallback) {
  const auto* v = p.if_contains(key);
  if (v && v->is_int64()) return v->get_int64();
  if (v && v->is_double()) return static_cast<std::int64_t>(v->get_double());
  return fallback;
}

bool is_cogvideox(std::string_view model) { return model.starts_with("cogvideox"); }

std::string quality_of(std::string_view model, const boost::json::object& p) {
  if (!is_cogvideox(model) || model == "cogvideox-flash") return {};
  auto q = string_param(p, "quality");
  return q.empty() ? "speed" : q;
}

std::int64_t clip_seconds(std::string_view model, const boost::json::object& p) {
  const std::int64_t fallback = model.starts_with("vidu2") ? 4 : 5;
  return int_param(p, "duration", fallback);
}

bool high_definition(const boost::json::object& p) {
  return string_param(p, "size") == "3840x2160" || int_param(p, "fps", 30) == 60;
}

}  // namespace

double duration_dist::sigma() const noexcept {
  if (median <= 0 || p90 <= median) return 0.05;
  return std::max(0.05, std::log(static_cast<double>(p90) / static_cast<double>(median)) / z90);
}

millis duration_dist::quantile(double z) const noexcept {
  return static_cast<millis>(std::llround(static_cast<double>(median) * std::exp(z * sigma())));
}

std::string duration_key(std::string_view model, const boost::json::object& params) {
  return std::string(model) + "|" + quality_of(model, params) + "|" + std::to_string(clip_seconds(model, params)) +
         "s|" + (high_definition(params) ? "hd" : "std");
}

duration_dist builtin_duration(std::string_view model, const boost::json::object& params) {
  const std::string quality = quality_of(model, params);
  double median = 120, p90 = 240;
  for (const row& r : table) {
    if (r.model == model && (r.quality.empty() || r.quality == quality)) {
      median = r.median_s;
      p90 = r.p90_s;
      break;
    }
  }
  if (clip_seconds(model, params) >= 10) median *= 1.8, p90 *= 1.8;
  if (high_definition(params)) median *= 2.0, p90 *= 2.5;
  return {static_cast<millis>(median * 1000), static_cast<millis>(p90 * 1000)};
}

millis observed_duration(millis submitted_at, millis last_running_at, millis detected_at) noexcept {
  const millis from = std::max(submitted_at, std::min(last_running_at, detected_at));
  return std::max<millis>(0, (from + detected_at) / 2 - submitted_at);
}

void duration_estimator::observe(const std::string& key, millis duration) {
  if (duration <= 0) return;
  const double x = std::log(static_cast<double>(duration));
  stats& s = stats_[key];
  ++s.n;
  const double alpha = 1.0 / std::min(s.n, std::max(window_, 1));
  const double delta = x - s.mean;
  s.mean += alpha * delta;
  // West's weighted update: exact running variance for alpha = 1/n, an EWM variance after.
  s.var = (1 - alpha) * (s.var + alpha * delta * delta);
}

duration_dist duration_estimator::estimate(const std::string& key, const duration_dist& prior) const {
  auto it = stats_.find(key);
  if (it == stats_.end() || it->second.n < std::max(min_samples_, 2)) return prior;
  const double sigma = std::clamp(std::sqrt(std::max(it->second.var, 0.0)), 0.15, 1.5);
  const double median = std::exp(it->second.mean);
  return {static_cast<millis>(std::llround(median)), static_cast<millis>(std::llround(median * std::exp(z90 * sigma)))};
}

duration_dist duration_estimator::expected(std::string_view model, const boost::json::object& params) const {
  return estimate(duration_key(model, params), builtin_duration(model, params));
}

int duration_estimator::samples(const std::string& key) const {
  auto it = stats_.find(key);
  return it == stats_.end() ? 0 : it->second.n;
}

}  // namespace vidq::engine
