#pragma once
// Prometheus text exposition format 0.0.4, pure: a writer that groups each family's samples
// under one HELP and one TYPE line and escapes label values, and the function that renders
// vidq's metrics from a snapshot (what /metrics serves; `promtool check metrics` passes).

#include "vidq/daemon/control.hpp"
#include "vidq/ops/metrics.hpp"

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace vidq::status {

inline constexpr std::string_view prometheus_content_type = "text/plain; version=0.0.4; charset=utf-8";

// Label value escaping: backslash, double quote and newline (the only three the format knows).
std::string escape_label_value(std::string_view value);
// HELP text escaping: backslash and newline.
std::string escape_help(std::string_view text);
// Shortest round-trip decimal; "+Inf", "-Inf", "NaN" for the special values.
std::string format_sample_value(double value);

using label = std::pair<std::string_view, std::string_view>;

class exposition {
 public:
  // Starts a family: the HELP and TYPE lines. Call once per family, before its samples.
  void family(std::string_view name, std::string_view type, std::string_view help);
  // One sample line. `name` may carry a suffix of the family (_bucket, _sum, _count).
  void sample(std::string_view name, std::initializer_list<label> labels, double value);
  void sample(std::string_view name, double value) { sample(name, {}, value); }
  const std::string& text() const { return out_; }

 private:
  std::string out_;
};

// What the database knows at scrape time (read through store::status_store).
struct db_gauges {
  std::int64_t jobs_by_state[7] = {};  // indexed by job_state
  std::int64_t spend_total = 0;        // milli-CNY
  std::int64_t spend_today = 0;        // milli-CNY, jobs finished since 00:00 UTC
  std::optional<millis> oldest_queued_created_at;
  std::int64_t notices_pending = 0;  // deliveries not yet delivered nor given up
  std::int64_t notices_failed = 0;   // deliveries given up
};

// The whole /metrics body.
std::string render_metrics(const db_gauges& db, const daemon::runtime_view& runtime, const ops::metrics& counters,
                           millis now);

}  // namespace vidq::status
