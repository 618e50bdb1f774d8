#include "vidq/status/prometheus.hpp"

#include "vidq/core/job_state.hpp"
#include "vidq/core/latency_histogram.hpp"

#include <charconv>
#include <cmath>
#include <string>

namespace vidq::status {

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string escape_help(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string format_sample_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  return ec == std::errc() ? std::string(buf, end) : std::string("NaN");
}

void exposition::family(std::string_view name, std::string_view type, std::string_view help) {
  out_.append("# HELP ").append(name).append(" ").append(escape_help(help)).append("\n");
  out_.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void exposition::sample(std::string_view name, std::initializer_list<label> labels, double value) {
  out_.append(name);
  if (labels.size() > 0) {
    out_ += '{';
    bool first = true;
    for (const auto& [key, val] : labels) {
      if (!first) out_ += ',';
      first = false;
      out_.append(key).append("=\"").append(escape_label_value(val)).append("\"");
    }
    out_ += '}';
  }
  out_.append(" ").append(format_sample_value(value)).append("\n");
}

namespace {

double cny(std::int64_t milli) {
  return static_cast<double>(milli) / 1000.0;
}

void counters(exposition& e, std::string_view name, std::string_view help, std::string_view label_name,
              const ops::counter_family& family) {
  e.family(name, "counter", help);
  for (const auto& [value, count] : family) e.sample(name, {{label_name, value}}, static_cast<double>(count));
}

// A bucket bound given in milliseconds, as seconds in its shortest decimal form: 0.1 ms is
// "0.0001", not the binary quotient's "0.00010000000000000002".
std::string le_seconds(double ms) {
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, ms / 1000.0, std::chars_format::general, 6);
  return ec == std::errc() ? std::string(buf, end) : format_sample_value(ms / 1000.0);
}

}  // namespace

std::string render_metrics(const db_gauges& db, const daemon::runtime_view& runtime, const ops::metrics& m,
                           millis now) {
  exposition e;
  e.family("vidq_jobs", "gauge", "Jobs in the database by state.");
  for (const auto s : all_job_states) {
    e.sample("vidq_jobs", {{"state", to_string(s)}}, static_cast<double>(db.jobs_by_state[static_cast<int>(s)]));
  }
  e.family("vidq_oldest_queued_job_age_seconds", "gauge",
           "Age of the oldest queued job (lowest id) since it was created; 0 when none is queued.");
  const double oldest =
      db.oldest_queued_created_at ? static_cast<double>(now - *db.oldest_queued_created_at) / 1000.0 : 0.0;
  e.sample("vidq_oldest_queued_job_age_seconds", oldest < 0 ? 0.0 : oldest);
  e.family("vidq_spend_today_cny", "gauge", "CNY charged by the provider (the charges ledger) since 00:00 UTC today, net of refunds.");
  e.sample("vidq_spend_today_cny", cny(db.spend_today));
  e.family("vidq_spend_total_cny", "gauge", "CNY charged by the provider for every task in the charges ledger, retried attempts included.");
  e.sample("vidq_spend_total_cny", cny(db.spend_total));

  e.family("vidq_lane_in_flight", "gauge", "Provider slots in use per account and model.");
  for (const auto& l : runtime.lanes)
    e.sample("vidq_lane_in_flight", {{"account", l.account}, {"model", l.model}}, l.in_flight);
  e.family("vidq_lane_effective_cap", "gauge", "Concurrency cap in force per account and model (after 1302 back-off).");
  for (const auto& l : runtime.lanes) {
    e.sample("vidq_lane_effective_cap", {{"account", l.account}, {"model", l.model}}, l.effective_cap);
  }
  e.family("vidq_lane_configured_cap", "gauge",
           "Configured concurrency cap per account and model (tier or max_in_flight).");
  for (const auto& l : runtime.lanes) {
    e.sample("vidq_lane_configured_cap", {{"account", l.account}, {"model", l.model}}, l.configured_cap);
  }
  e.family("vidq_expected_run_seconds", "gauge",
           "Run time the daemon expects per kind of job (model|quality|length|...): learned from its polls, "
           "else the built-in prior; quantile 0.5 and 0.9.");
  for (const auto& d : runtime.durations) {
    e.sample("vidq_expected_run_seconds", {{"kind", d.kind}, {"quantile", "0.5"}},
             static_cast<double>(d.median) / 1000.0);
    e.sample("vidq_expected_run_seconds", {{"kind", d.kind}, {"quantile", "0.9"}}, static_cast<double>(d.p90) / 1000.0);
  }
  e.family("vidq_run_time_observations", "gauge",
           "Finished tasks the expected run time of a kind is learned from (newest 400).");
  for (const auto& d : runtime.durations)
    e.sample("vidq_run_time_observations", {{"kind", d.kind}}, static_cast<double>(d.observations));
  e.family("vidq_account_paused", "gauge", "1 when the account submits nothing (operator or provider pause).");
  for (const auto& a : runtime.accounts) e.sample("vidq_account_paused", {{"account", a.name}}, a.paused ? 1 : 0);
  e.family("vidq_budget_blocked", "gauge", "1 when a budget limit holds admission.");
  e.sample("vidq_budget_blocked", runtime.budget_block ? 1 : 0);
  e.family("vidq_disk_paused", "gauge", "1 when a full output disk pauses downloads (what=downloads) or submits (what=admission).");
  e.sample("vidq_disk_paused", {{"what", "downloads"}}, runtime.disk.downloads_paused ? 1 : 0);
  e.sample("vidq_disk_paused", {{"what", "admission"}}, runtime.disk.admission_paused ? 1 : 0);
  if (runtime.disk.free_bytes) {
    e.family("vidq_output_free_bytes", "gauge", "Free bytes of the file system holding [output] dir (last look).");
    e.sample("vidq_output_free_bytes", static_cast<double>(*runtime.disk.free_bytes));
  }
  e.family("vidq_db_locked_seconds", "gauge", "How long another connection has held the database write lock (0: free).");
  e.sample("vidq_db_locked_seconds",
           runtime.db_locked_since ? static_cast<double>(std::max<millis>(0, now - *runtime.db_locked_since)) / 1000.0 : 0.0);
  e.family("vidq_draining", "gauge", "1 after SIGTERM: no new submits, in-flight work finishing.");
  e.sample("vidq_draining", runtime.draining ? 1 : 0);

  counters(e, "vidq_submits_total", "Submit attempts by outcome.", "outcome", m.submits);
  counters(e, "vidq_polls_total", "Polls by outcome.", "outcome", m.polls);
  counters(e, "vidq_downloads_total", "Video downloads by outcome.", "outcome", m.downloads);
  counters(e, "vidq_provider_errors_total", "Non-accepted provider replies by error code.", "code", m.provider_errors);
  counters(e, "vidq_breaker_events_total",
           "Account circuit breaker: opened (endpoint unreachable), probe_failed, closed (a probe got an answer).",
           "event", m.breaker);
  counters(e, "vidq_notice_attempts_total",
           "[[notify]] delivery attempts: delivered, failed (will be retried), gave_up (retry_for_hours passed).",
           "outcome", m.notices);
  e.family("vidq_notice_deliveries_pending", "gauge", "Notice deliveries not yet delivered (retrying or due).");
  e.sample("vidq_notice_deliveries_pending", static_cast<double>(db.notices_pending));
  e.family("vidq_notice_deliveries_failed", "gauge", "Notice deliveries given up (see `vidq notify list --failed`).");
  e.sample("vidq_notice_deliveries_failed", static_cast<double>(db.notices_failed));
  e.family("vidq_download_bytes_total", "counter", "Bytes of video downloaded.");
  e.sample("vidq_download_bytes_total", static_cast<double>(m.download_bytes));

  e.family("vidq_job_duration_seconds", "histogram", "Time from submit to succeeded, per job.");
  for (std::size_t i = 0; i < ops::histogram::bounds.size(); ++i) {
    const std::string le = format_sample_value(ops::histogram::bounds[i]);
    e.sample("vidq_job_duration_seconds_bucket", {{"le", le}}, static_cast<double>(m.job_duration.bucket(i)));
  }
  e.sample("vidq_job_duration_seconds_bucket", {{"le", "+Inf"}}, static_cast<double>(m.job_duration.count()));
  e.sample("vidq_job_duration_seconds_sum", m.job_duration.sum());
  e.sample("vidq_job_duration_seconds_count", static_cast<double>(m.job_duration.count()));

  e.family("vidq_loop_ticks_total", "counter", "Scheduler passes; a stuck loop stops counting.");
  e.sample("vidq_loop_ticks_total", static_cast<double>(m.loop_ticks));
  e.family("vidq_loop_tick_seconds", "histogram", "Wall time of each scheduler pass.");
  for (std::size_t i = 0; i < latency_histogram::bounds_ms.size(); ++i) {
    e.sample("vidq_loop_tick_seconds_bucket", {{"le", le_seconds(latency_histogram::bounds_ms[i])}},
             static_cast<double>(m.loop_tick.cumulative(i)));
  }
  e.sample("vidq_loop_tick_seconds_bucket", {{"le", "+Inf"}}, static_cast<double>(m.loop_tick.count()));
  e.sample("vidq_loop_tick_seconds_sum", m.loop_tick.sum_ms() / 1000.0);
  e.sample("vidq_loop_tick_seconds_count", static_cast<double>(m.loop_tick.count()));
  e.family("vidq_last_tick_age_seconds", "gauge", "Seconds since the scheduler's last pass.");
  e.sample("vidq_last_tick_age_seconds",
           runtime.last_tick > 0 ? static_cast<double>(now - runtime.last_tick) / 1000.0 : 0.0);
  e.family("vidq_process_start_time_seconds", "gauge", "Start time of the daemon since the Unix epoch.");
  e.sample("vidq_process_start_time_seconds", static_cast<double>(runtime.started_at) / 1000.0);
  return e.text();
}

}  // namespace vidq::status
