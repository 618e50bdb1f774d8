// Issue 13's scale point: N accounts, each its own simulator key of cap 20 (V3), every slot
// busy at once (100 × 20 = 2,000 tasks in flight), one daemon on one core. Is each lane still
// as efficient as the single-account benchmark (bench_poll_policy), and does the loop keep up?
//
//   bench_many_accounts [--accounts 100] [--jobs-per-account 60] [--model cogvideox-3]
//                       [--quality speed] [--sigma 0.5] [--time-scale 0.5] [--seed 1] [--keep]
//
// Each job names its account ("account" in the import), so every lane (key, model) gets
// --jobs-per-account jobs: at least three rounds of its cap. Faults off. The simulator runs
// in this process (its own thread); the daemon is `vidq run --exit-when-idle`. The default
// time scale 0.5 keeps the simulator's ~1,000 GETs per wall second (and the daemon) well
// inside a shared 2-core machine. --keep keeps the run's directory, with the simulator's
// stats (sim_stats.json, per-task times) next to the daemon's database and log.
//
// Figures (the definitions of bench_poll_policy, per lane, then over lanes):
//   eff          oracle makespan / lane makespan: mean, p10 and min over lanes
//   polls/job    the simulator's GETs of task status / tasks created (all lanes)
//   GET peak     the most GETs one key saw in any window of one unscaled second, against the
//                per-account budget (requests_per_second)
//   in flight    the highest peak_in_flight of any key against its cap; and the most tasks
//                running at the provider at one moment, all keys together (from the tasks'
//                created and finished times)
//   1302         cap rejections, all keys
//   daemon CPU   user + system (wait4) as a share of one core over the daemon's run, its
//                highest share in any 10 s window (sampled from /proc), and per 1,000 jobs;
//                max RSS
//   tick         p99 (upper bound of the bucket) and max wall time of one scheduler pass,
//                from daemon.log's daemon_stopped line
#include "support/bench_env.hpp"
#include "support/oracle.hpp"
#include "vidq/ops/log.hpp"

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace fs = std::filesystem;
namespace json = boost::json;
using vidq::millis;

namespace {

namespace bench = vidq::bench;
using bench::col;
using bench::reader;
using bench::wall_ms;

struct options {
  int accounts = 100;
  int jobs_per_account = 60;
  std::string model = "cogvideox-3";
  std::string quality = "speed";
  double sigma = 0.5;
  double time_scale = 0.5;
  std::uint64_t seed = 1;
  bool keep = false;
};

options parse(int argc, char** argv) {
  options o;
  CLI::App app("N accounts × cap 20 in flight at once: per-lane efficiency, polls, and the daemon's loop",
               "bench_many_accounts");
  app.add_option("--accounts", o.accounts, "accounts, each its own simulator key of cap 20 (V3)")
      ->check(CLI::Range(1, 999))
      ->capture_default_str();
  app.add_option("--jobs-per-account", o.jobs_per_account, "jobs pinned to each account")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--model", o.model)->capture_default_str();
  app.add_option("--quality", o.quality, "the quality parameter (empty: none)")->capture_default_str();
  app.add_option("--sigma", o.sigma, "σ of the simulator's log-normal run times around the documented median")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--time-scale", o.time_scale, "simulator and daemon time scale")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--seed", o.seed)->capture_default_str();
  app.add_flag("--keep", o.keep, "keep the run's directory (with sim_stats.json)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::exit(app.exit(e) == 0 ? 0 : 2);
  }
  return o;
}

constexpr const char* tier = "V3";
constexpr double z90 = 1.2815515655446004;

// The documented median of the model (and quality), in seconds: the simulator's default table.
double documented_median_s(const options& o) {
  const auto cfg = vidq::sim::default_sim_config();
  if (auto it = cfg.durations.find(o.model + ":" + o.quality); !o.quality.empty() && it != cfg.durations.end())
    return it->second.median_s;
  if (auto it = cfg.durations.find(o.model); it != cfg.durations.end()) return it->second.median_s;
  return 60;
}

std::string account_name(int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "a%03d", i);
  return buf;
}

std::vector<bench::bench_account> accounts_of(const options& o) {
  std::vector<bench::bench_account> out;
  for (int i = 0; i < o.accounts; ++i) {
    const std::string name = account_name(i);
    out.push_back({name, "bench-key-" + name + "-" + std::to_string(1'000'003 * (i + 1)), tier});
  }
  return out;
}

vidq::sim::sim_config sim_config_for(const options& o, const std::vector<bench::bench_account>& accounts) {
  auto cfg = vidq::sim::default_sim_config();
  cfg.time_scale = o.time_scale;
  cfg.seed = o.seed;
  cfg.faults = vidq::sim::fault_rates::none();
  const double median = documented_median_s(o);
  const vidq::sim::duration_dist d{median, median * std::exp(o.sigma * z90)};
  cfg.durations[o.model] = d;
  if (!o.quality.empty()) cfg.durations[o.model + ":" + o.quality] = d;
  cfg.keys.clear();
  for (const auto& a : accounts) cfg.keys.push_back({a.key, a.name, vidq::sim::cap_of_tier(a.tier), std::nullopt});
  return cfg;
}

// ---- the daemon ----------------------------------------------------------------------------

struct daemon_run {
  std::map<std::string, millis> detected;  // request_id → processing → downloading|failed
  int exit_code = -1;
  double import_s = 0;  // `vidq import` of every job, before the daemon starts
  double wall_s = 0;    // daemon start → exit
  double cpu_s = 0;
  double peak_cpu_share_10s = 0;  // highest CPU share of one core over any ~10 s of the run
  long max_rss_kb = 0;
  std::int64_t succeeded = 0;
  std::optional<json::object> stopped;  // daemon.log's daemon_stopped line
};

double seconds_of(const rusage& ru) {
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

std::optional<json::object> stopped_line(const fs::path& log) {
  std::ifstream in(log);
  std::optional<json::object> last;
  for (std::string line; std::getline(in, line);) {
    if (line.find("\"daemon_stopped\"") == std::string::npos) continue;
    boost::system::error_code ec;
    auto v = json::parse(line, ec);
    if (!ec && v.is_object()) last = v.as_object();
  }
  return last;
}

daemon_run run_daemon(const options& o, const fs::path& dir, const bench::sim_host& host,
                      const std::vector<bench::bench_account>& accounts) {
  const fs::path config = dir / "vidq.toml";
  bench::write_scaled_accounts_config(config, host, accounts, o.time_scale);
  {
    // Round-robin over accounts, so that the queue's order favours none of them.
    std::ofstream jobs(dir / "jobs.jsonl");
    for (int i = 0; i < o.jobs_per_account; ++i) {
      for (const auto& a : accounts) {
        jobs << R"({"key":")" << a.name << "-j-" << i << R"(","batch":"bench","account":")" << a.name
             << R"(","model":")" << o.model << R"(","prompt":"a red sneaker rotating on a white table, shot )" << i
             << "\"";
        if (!o.quality.empty()) jobs << R"(,"quality":")" << o.quality << "\"";
        jobs << "}\n";
      }
    }
  }
  daemon_run d;
  const millis import_started = wall_ms();
  if (bench::run_cli(config, "import " + (dir / "jobs.jsonl").string(), dir / "cli.log") != 0) {
    std::fprintf(stderr, "import failed, see %s\n", (dir / "cli.log").c_str());
    std::exit(1);
  }
  const fs::path log = dir / "daemon.log";
  const millis started = wall_ms();
  d.import_s = static_cast<double>(started - import_started) / 1000.0;
  const pid_t pid = bench::spawn_daemon(config, log, true);
  rusage ru{};
  int status = 0;
  const millis give_up = started + 60 * 60'000;
  std::deque<std::pair<millis, double>> samples;  // (wall ms, CPU s) about once a second
  millis next_sample = started;
  for (;;) {
    if (::wait4(pid, &status, WNOHANG, &ru) == pid) break;
    const millis now = wall_ms();
    if (now > give_up) {
      std::fprintf(stderr, "the daemon still runs after 60 minutes; killing it (log: %s)\n", log.c_str());
      ::kill(pid, SIGKILL);
      ::wait4(pid, &status, 0, &ru);
      break;
    }
    if (now >= next_sample) {
      next_sample = now + 1'000;
      samples.emplace_back(now, bench::usage_of(pid).cpu_s);
      // The shortest tail of samples that still spans 10 s.
      while (samples.size() > 2 && samples.back().first - samples[1].first >= 10'000) samples.pop_front();
      if (samples.back().first - samples.front().first >= 10'000) {
        d.peak_cpu_share_10s =
            std::max(d.peak_cpu_share_10s, (samples.back().second - samples.front().second) * 1000.0 /
                                               static_cast<double>(samples.back().first - samples.front().first));
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  d.wall_s = static_cast<double>(wall_ms() - started) / 1000.0;
  d.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  d.cpu_s = seconds_of(ru);
  d.max_rss_kb = ru.ru_maxrss;
  d.stopped = stopped_line(log);
  reader db(dir / "vidq.db");
  d.succeeded = db.scalar("SELECT count(*) FROM jobs WHERE state = 'succeeded'");
  db.each(
      "SELECT j.request_id, e.at, e.detail FROM job_events e JOIN jobs j ON j.id = e.job_id "
      "WHERE e.from_state = 'processing' AND e.to_state IN ('downloading', 'failed')",
      [&](sqlite3_stmt* s) {
        if (col(s, 2).rfind("poll_deadline", 0) == 0) return;       // a give-up, not a detection
        d.detected.emplace(col(s, 0), sqlite3_column_int64(s, 1));  // the first one
      });
  return d;
}

// ---- judging -------------------------------------------------------------------------------

struct lane {
  std::string key, model;
  std::vector<bench::task_rec> tasks;
  double eff = 0;
  std::uint64_t unfinished = 0;
};

struct figures {
  bool ok = true;
  std::size_t lanes = 0, tasks = 0;
  double eff_mean = 0, eff_min = 0, eff_p10 = 0;
  std::string eff_min_lane;
  double polls_per_job = 0;
  double lag_p50_share = 0, lag_mean_share = 0, lag_p99_s = 0;
  double get_peak = 0, get_budget = 10;  // in any unscaled second (window = time scale)
  double get_peak_wall = 0;              // in any wall second, against 10 / time scale
  std::int64_t peak_in_flight = 0, cap = 0;
  std::int64_t peak_total_in_flight = 0;
  std::uint64_t cap_rejections = 0;
  double sim_cpu_share = 0;
};

figures judge(const options& o, const json::object& stats, const daemon_run& d) {
  figures f;
  std::map<std::pair<std::string, std::string>, lane> lanes;
  for (const auto& t : stats.at("tasks").as_array()) {
    const auto& x = t.as_object();
    auto& l = lanes[{std::string(x.at("key").as_string()), std::string(x.at("model").as_string())}];
    bench::task_rec r;
    r.request_id = x.at("request_id").as_string();
    r.created = x.at("created_at_ms").to_number<millis>();
    if (!x.at("finished_at_ms").is_null())
      r.finished = x.at("finished_at_ms").to_number<millis>();
    else
      ++l.unfinished;
    l.tasks.push_back(std::move(r));
  }
  const int cap = vidq::sim::cap_of_tier(tier);
  const double median_ms = documented_median_s(o) * 1000.0 * o.time_scale;
  std::vector<double> effs;
  std::vector<double> lag;
  f.eff_min = std::numeric_limits<double>::infinity();
  for (auto& [id, l] : lanes) {
    f.tasks += l.tasks.size();
    if (l.unfinished > 0 || l.tasks.size() != static_cast<std::size_t>(o.jobs_per_account)) f.ok = false;
    l.eff = bench::lane_efficiency(l.tasks, cap);
    effs.push_back(l.eff);
    if (l.eff < f.eff_min) {
      f.eff_min = l.eff;
      f.eff_min_lane = id.first + "/" + id.second;
    }
    for (const auto& t : l.tasks) {
      auto it = d.detected.find(t.request_id);
      if (t.finished && it != d.detected.end()) lag.push_back(static_cast<double>(it->second - *t.finished));
    }
  }
  // All keys together: +1 at creation, −1 at finish (a finish first when both fall on one ms).
  std::vector<std::pair<millis, int>> edges;
  for (const auto& [id, l] : lanes) {
    for (const auto& t : l.tasks) {
      edges.emplace_back(t.created, +1);
      if (t.finished) edges.emplace_back(*t.finished, -1);
    }
  }
  std::sort(edges.begin(), edges.end());
  std::int64_t running = 0;
  for (const auto& [at, step] : edges) f.peak_total_in_flight = std::max(f.peak_total_in_flight, running += step);
  f.lanes = lanes.size();
  if (f.lanes != static_cast<std::size_t>(o.accounts)) f.ok = false;
  if (lag.size() != f.tasks) f.ok = false;
  f.eff_mean = bench::mean(effs);
  f.eff_p10 = bench::quantile(effs, 0.1);
  f.polls_per_job = f.tasks > 0 ? stats.at("polls").to_number<double>() / static_cast<double>(f.tasks) : 0;
  f.lag_p50_share = bench::quantile(lag, 0.5) / median_ms;
  f.lag_mean_share = bench::mean(lag) / median_ms;
  f.lag_p99_s = bench::quantile(lag, 0.99) / o.time_scale / 1000.0;
  f.cap_rejections = stats.at("cap_rejections").to_number<std::uint64_t>();
  for (const auto& s : stats.at("slots").as_array()) {
    const auto& x = s.as_object();
    f.peak_in_flight = std::max(f.peak_in_flight, x.at("peak_in_flight").to_number<std::int64_t>());
    f.cap = std::max(f.cap, x.at("cap").to_number<std::int64_t>());
  }
  if (f.peak_in_flight > cap) f.ok = false;
  for (const auto& [name, v] : stats.at("polls_by_key").as_object()) {
    f.get_peak = std::max(f.get_peak, v.as_object().at("peak_polls_per_scaled_second").to_number<double>());
    f.get_peak_wall = std::max(f.get_peak_wall, v.as_object().at("peak_polls_per_second").to_number<double>());
  }
  return f;
}

double tick_field(const daemon_run& d, const char* name) {
  if (!d.stopped) return std::nan("");
  const auto* v = d.stopped->if_contains(name);
  return v && v->is_number() ? v->to_number<double>() : std::nan("");
}

}  // namespace

int main(int argc, char** argv) {
  const options o = parse(argc, argv);
  vidq::log::set_min_level(vidq::log::level::warn);
  const double median = documented_median_s(o);
  const int cap = vidq::sim::cap_of_tier(tier);
  const int jobs = o.accounts * o.jobs_per_account;
  std::printf(
      "vidq %s; %d accounts × cap %d (%s) = %d slots, %d jobs (%d per account) of %s%s, run times log-normal "
      "median %.0f s σ %.2f (p90 %.0f s), time scale %g, seed %llu\n",
      bench::vidq_binary(), o.accounts, cap, tier, o.accounts * cap, jobs, o.jobs_per_account, o.model.c_str(),
      o.quality.empty() ? "" : (":" + o.quality).c_str(), median, o.sigma, median * std::exp(o.sigma * z90),
      o.time_scale, static_cast<unsigned long long>(o.seed));
  std::fflush(stdout);

  const fs::path dir = fs::temp_directory_path() / ("vidq-bench-many-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const auto accounts = accounts_of(o);
  bench::sim_host host(dir, sim_config_for(o, accounts));
  rusage self_before{}, self_after{};
  ::getrusage(RUSAGE_SELF, &self_before);
  const daemon_run d = run_daemon(o, dir, host, accounts);
  ::getrusage(RUSAGE_SELF, &self_after);
  const auto stats = host.sim().stats(true);
  host.stop();
  if (o.keep) std::ofstream(dir / "sim_stats.json") << json::serialize(stats) << "\n";
  figures f = judge(o, stats, d);
  f.sim_cpu_share = d.wall_s > 0 ? (seconds_of(self_after) - seconds_of(self_before)) / d.wall_s : std::nan("");
  f.ok = f.ok && d.exit_code == 0 && d.succeeded == jobs && d.stopped.has_value();

  const double cpu_share = d.wall_s > 0 ? d.cpu_s / d.wall_s : std::nan("");
  const double tick_p99 = tick_field(d, "tick_p99_ms");
  const double tick_max = tick_field(d, "tick_max_ms");
  const double ticks = tick_field(d, "ticks");
  std::printf("daemon exit %d after %.1f s wall (import %.1f s before it); %lld of %d jobs succeeded\n", d.exit_code,
              d.wall_s, d.import_s, static_cast<long long>(d.succeeded), jobs);
  std::printf("lanes %zu, tasks %zu: eff mean %.4f, p10 %.4f, min %.4f (%s)\n", f.lanes, f.tasks, f.eff_mean, f.eff_p10,
              f.eff_min, f.eff_min_lane.c_str());
  std::printf(
      "polls/job %.1f; lag p50 %.2f%% mean %.2f%% of the median, p99 %.1f s unscaled; "
      "GET peak per key %.0f per unscaled s (budget %.0f), %.0f per wall s (budget %.0f)\n",
      f.polls_per_job, 100 * f.lag_p50_share, 100 * f.lag_mean_share, f.lag_p99_s, f.get_peak, f.get_budget,
      f.get_peak_wall, f.get_budget / o.time_scale);
  std::printf(
      "in flight: highest per-key peak %lld (cap %lld), all keys at once %lld (of %d slots); "
      "cap rejections (1302) %llu\n",
      static_cast<long long>(f.peak_in_flight), static_cast<long long>(f.cap),
      static_cast<long long>(f.peak_total_in_flight), o.accounts * cap,
      static_cast<unsigned long long>(f.cap_rejections));
  std::printf(
      "daemon CPU %.1f s = %.1f%% of one core over its run (peak 10 s window %.1f%%), %.2f s per 1,000 jobs; "
      "max RSS %.1f MiB\n",
      d.cpu_s, 100 * cpu_share, 100 * d.peak_cpu_share_10s, d.cpu_s * 1000.0 / jobs,
      static_cast<double>(d.max_rss_kb) / 1024.0);
  std::printf("simulator process (this one) CPU %.1f%% of one core over the daemon's run\n", 100 * f.sim_cpu_share);
  std::printf("loop: %.0f ticks, tick p99 ≤ %.2f ms, max %.2f ms%s\n", ticks, tick_p99, tick_max,
              d.stopped ? "" : " (no daemon_stopped line in daemon.log)");
  std::printf("%s\n", f.ok ? "OK" : "NOT OK: see the daemon's log (run with --keep)");
  std::printf("%s\n", json::serialize(json::object{{"accounts", o.accounts},
                                                   {"jobs", jobs},
                                                   {"time_scale", o.time_scale},
                                                   {"seed", o.seed},
                                                   {"wall_s", d.wall_s},
                                                   {"eff_mean", f.eff_mean},
                                                   {"eff_p10", f.eff_p10},
                                                   {"eff_min", f.eff_min},
                                                   {"polls_per_job", f.polls_per_job},
                                                   {"lag_p50_share", f.lag_p50_share},
                                                   {"lag_mean_share", f.lag_mean_share},
                                                   {"lag_p99_s", f.lag_p99_s},
                                                   {"get_peak_per_unscaled_s", f.get_peak},
                                                   {"get_peak_per_wall_s", f.get_peak_wall},
                                                   {"peak_in_flight_per_key", f.peak_in_flight},
                                                   {"cap", f.cap},
                                                   {"peak_total_in_flight", f.peak_total_in_flight},
                                                   {"cap_rejections", f.cap_rejections},
                                                   {"daemon_cpu_s", d.cpu_s},
                                                   {"daemon_cpu_share", cpu_share},
                                                   {"daemon_peak_cpu_share_10s", d.peak_cpu_share_10s},
                                                   {"cpu_s_per_1000_jobs", d.cpu_s * 1000.0 / jobs},
                                                   {"max_rss_mib", static_cast<double>(d.max_rss_kb) / 1024.0},
                                                   {"sim_cpu_share", f.sim_cpu_share},
                                                   {"ticks", ticks},
                                                   {"tick_p99_ms", tick_p99},
                                                   {"tick_max_ms", tick_max},
                                                   {"ok", f.ok}})
                          .c_str());
  if (o.keep)
    std::printf("kept %s\n", dir.c_str());
  else
    fs::remove_all(dir);
  return f.ok ? 0 : 1;
}
