// Issue 13's table: the real daemon against a plain fixed-interval loop (the SDK examples'
// "poll every 2 s / 5 s"), on one simulator configuration and the same duration draws, with
// every figure normalised by what an oracle could do on those durations.
//
//   bench_poll_policy [--jobs 400] [--model cogvideox-3] [--quality speed] [--sigma 0.5]
//                     [--time-scale 0.01] [--tier V3] [--seed 1] [--runs 1]
//                     [--clients loop-2s,loop-5s,vidq,vidq-frugal,vidq-x3,vidq-x0.33,vidq-x10,vidq-x100]
//                     [--frugal-worth 0.25] [--keep]
//
// Clients (each runs alone against a fresh simulator with the same seed, so the k-th task
// created has the same run time whoever created it):
//   loop-Ns      in-process: `cap` workers, each submits the next job, sleeps N s (× time
//                scale), GETs, and again until the task is done; no database, no download
//   vidq         `vidq run --exit-when-idle`, default [polling], matched prior
//   vidq-frugal  the same with backlog_poll_worth_seconds = --frugal-worth
//   vidq-xF      the built-in prior multiplied by F (F = 3: it believes tasks 3× slower)
//
// Figures, per client (docs/PERFORMANCE.md "Poll policy"):
//   eff          oracle makespan / this makespan. Makespan: first task created → last task
//                finished, at the provider. The oracle list-schedules the same run times, in
//                creation order, on `cap` slots with zero detection delay and zero hand-off.
//   util steady  busy slot-time / (cap × [first created, last created]): the queue is never
//                empty inside that window
//   polls/job    the simulator's GETs of task status / tasks created
//   lag          detection time − the task's finish at the provider: p50 and mean as a share
//                of the distribution's median, p99 in unscaled seconds
//   GET peak     the most GETs the simulator saw in any window of one unscaled second, against
//                the configured budget (requests_per_second)
#include "support/bench_env.hpp"
#include "support/oracle.hpp"
#include "vidq/net/https_client.hpp"
#include "vidq/ops/config.hpp"
#include "vidq/ops/log.hpp"
#include "vidq/provider/client.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <numeric>
#include <optional>
#include <queue>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
namespace json = boost::json;
namespace asio = boost::asio;
using vidq::millis;

namespace {

namespace bench = vidq::bench;
using bench::col;
using bench::mean;
using bench::oracle_makespan;
using bench::quantile;
using bench::reader;
using bench::task_rec;
using bench::wall_ms;

struct options {
  int jobs = 400;
  std::string model = "cogvideox-3";
  std::string quality = "speed";
  double sigma = 0.5;
  double time_scale = 0.01;
  std::string tier = "V3";
  std::uint64_t seed = 1;
  int runs = 1;
  std::vector<std::string> clients{"loop-2s", "loop-5s",    "vidq",     "vidq-frugal",
                                   "vidq-x3", "vidq-x0.33", "vidq-x10", "vidq-x100"};
  double frugal_worth_s = 0.25;
  bool keep = false;
};

options parse(int argc, char** argv) {
  options o;
  CLI::App app("vidq's poll policy against a fixed-interval loop, normalised by an oracle", "bench_poll_policy");
  app.add_option("--jobs", o.jobs)->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--model", o.model)->capture_default_str();
  app.add_option("--quality", o.quality, "the quality parameter (empty: none)")->capture_default_str();
  app.add_option("--sigma", o.sigma, "σ of the simulator's log-normal run times around the documented median")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--time-scale", o.time_scale)->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--tier", o.tier)->check(CLI::IsMember({"V0", "V1", "V2", "V3"}))->capture_default_str();
  app.add_option("--seed", o.seed)->capture_default_str();
  app.add_option("--runs", o.runs, "seeds seed, seed+1, ...; every client once per seed")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--clients", o.clients)->delimiter(',')->capture_default_str();
  app.add_option("--frugal-worth", o.frugal_worth_s, "backlog_poll_worth_seconds of vidq-frugal")
      ->capture_default_str();
  app.add_flag("--keep", o.keep, "keep each client's directory");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::exit(app.exit(e) == 0 ? 0 : 2);
  }
  return o;
}

double overlap(double a, double b, double lo, double hi) {
  return std::max(0.0, std::min(b, hi) - std::max(a, lo));
}

// The documented median of the model (and quality), in seconds: the simulator's default table.
double documented_median_s(const options& o) {
  const auto cfg = vidq::sim::default_sim_config();
  if (auto it = cfg.durations.find(o.model + ":" + o.quality); !o.quality.empty() && it != cfg.durations.end())
    return it->second.median_s;
  if (auto it = cfg.durations.find(o.model); it != cfg.durations.end()) return it->second.median_s;
  return 60;
}

vidq::sim::sim_config sim_config_for(const options& o, std::uint64_t seed) {
  auto cfg = vidq::sim::default_sim_config();
  cfg.time_scale = o.time_scale;
  cfg.seed = seed;
  cfg.faults = vidq::sim::fault_rates::none();
  const double median = documented_median_s(o);
  const vidq::sim::duration_dist d{median, median * std::exp(o.sigma * 1.2815515655446004)};
  cfg.durations[o.model] = d;
  if (!o.quality.empty()) cfg.durations[o.model + ":" + o.quality] = d;
  return cfg;
}

struct outcome {
  std::string client;
  std::uint64_t seed = 0;
  bool ok = true;
  double eff = 0, util_steady = 0, polls_per_job = 0;
  double lag_p50_share = 0, lag_mean_share = 0, lag_p99_s = 0;
  double get_peak = 0, get_budget = 0;
  double cpu_s_per_1000 = std::nan(""), rss_mib = std::nan("");
  std::size_t tasks = 0;
  std::uint64_t cap_rejections = 0;
};

// ---- the fixed-interval loop -------------------------------------------------------------

struct loop_detections {
  std::map<std::string, millis> at;  // request_id → wall ms of the poll that saw it done
  std::size_t failed = 0;
};

asio::awaitable<void> sleep_ms(millis ms) {
  asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(ms));
  co_await t.async_wait(asio::use_awaitable);
}

// One worker of the loop: the SDK example, repeated while jobs remain.
asio::awaitable<void> loop_worker(vidq::provider::provider_client& client, const options& o, millis interval,
                                  int& next_job, loop_detections& seen) {
  for (;;) {
    if (next_job >= o.jobs) co_return;
    const int job = next_job++;
    vidq::provider::job_spec spec;
    spec.model = o.model;
    spec.prompt = "a red sneaker rotating on a white table, shot " + std::to_string(job);
    if (!o.quality.empty()) spec.params["quality"] = o.quality;
    const std::string request_id = "loop-" + std::to_string(job);
    std::string task_id;
    for (;;) {
      auto r = co_await client.submit(spec, request_id);
      if (auto* ok = std::get_if<vidq::provider::submit_accepted>(&r)) {
        task_id = ok->task_id;
        break;
      }
      co_await sleep_ms(interval);  // 1302 or a network error: try again after one interval
    }
    vidq::provider::poll_context ctx;
    ctx.submitted_at = wall_ms();
    for (;;) {
      co_await sleep_ms(interval);
      auto r = co_await client.poll(task_id, ctx);
      if (std::holds_alternative<vidq::provider::task_succeeded>(r) ||
          std::holds_alternative<vidq::provider::task_failed>(r)) {
        seen.at[request_id] = wall_ms();
        if (std::holds_alternative<vidq::provider::task_failed>(r)) ++seen.failed;
        break;
      }
    }
  }
}

loop_detections run_loop(const options& o, const bench::sim_host& host, double interval_s) {
  asio::io_context ioc{1};
  vidq::ops::config cfg = vidq::ops::default_config();
  cfg.tls_ca_file = host.ca_cert().string();
  auto http = vidq::net::https_client::create(ioc.get_executor(), vidq::provider::provider_client_options(cfg));
  if (!http) {
    std::fprintf(stderr, "https client: %s\n", http.error().message().c_str());
    std::exit(1);
  }
  vidq::ops::account_config account;
  account.name = "loop";
  account.base_url = "https://127.0.0.1:" + std::to_string(host.port()) + "/api/paas/v4";
  vidq::system_clock clock;
  vidq::provider::https_provider_client client(account, vidq::ops::secret(bench::key_of_tier(o.tier)), **http, clock);
  const auto interval = std::max<millis>(1, std::llround(interval_s * 1000.0 * o.time_scale));
  int next_job = 0;
  loop_detections seen;
  const int cap = vidq::sim::cap_of_tier(o.tier);
  for (int w = 0; w < cap; ++w)
    asio::co_spawn(ioc, loop_worker(client, o, interval, next_job, seen), [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
  ioc.run();
  return seen;
}

// ---- the daemon ----------------------------------------------------------------------------

struct daemon_run {
  std::map<std::string, millis> detected;  // request_id → processing → downloading|failed
  int exit_code = -1;
  double cpu_s = 0;
  long max_rss_kb = 0;
};

daemon_run run_daemon(const options& o, const fs::path& dir, const bench::sim_host& host,
                      const bench::daemon_tuning& tuning) {
  const fs::path config = dir / "vidq.toml";
  bench::write_scaled_config(config, host, o.tier, o.time_scale, tuning);
  {
    std::ofstream jobs(dir / "jobs.jsonl");
    for (int i = 0; i < o.jobs; ++i) {
      jobs << R"({"key":"j-)" << i << R"(","batch":"bench","model":")" << o.model
           << R"(","prompt":"a red sneaker rotating on a white table, shot )" << i << "\"";
      if (!o.quality.empty()) jobs << R"(,"quality":")" << o.quality << "\"";
      jobs << "}\n";
    }
  }
  if (bench::run_cli(config, "import " + (dir / "jobs.jsonl").string(), dir / "cli.log") != 0) {
    std::fprintf(stderr, "import failed, see %s\n", (dir / "cli.log").c_str());
    std::exit(1);
  }
  daemon_run d;
  const pid_t pid = bench::spawn_daemon(config, dir / "daemon.log", true);
  const auto exited = bench::wait_for_daemon(pid, 30 * 60'000);
  d.exit_code = exited.code;
  d.cpu_s = exited.cpu_s;
  d.max_rss_kb = exited.max_rss_kb;
  reader db(dir / "vidq.db");
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

outcome judge(const options& o, const std::string& client, std::uint64_t seed, const json::object& stats,
              const std::map<std::string, millis>& detected, double budget_per_unscaled_s) {
  outcome out;
  out.client = client;
  out.seed = seed;
  const int cap = vidq::sim::cap_of_tier(o.tier);
  std::vector<task_rec> tasks;
  for (const auto& t : stats.at("tasks").as_array()) {
    const auto& x = t.as_object();
    task_rec r;
    r.request_id = x.at("request_id").as_string();
    r.created = x.at("created_at_ms").to_number<millis>();
    if (!x.at("finished_at_ms").is_null()) r.finished = x.at("finished_at_ms").to_number<millis>();
    tasks.push_back(std::move(r));
  }
  std::sort(tasks.begin(), tasks.end(), [](const auto& a, const auto& b) { return a.created < b.created; });
  out.tasks = tasks.size();
  if (tasks.empty()) {
    out.ok = false;
    return out;
  }
  const double first = static_cast<double>(tasks.front().created);
  const double last_created = static_cast<double>(tasks.back().created);
  double last_finished = last_created;
  double busy = 0;
  const double median_ms = documented_median_s(o) * 1000.0 * o.time_scale;
  std::vector<double> lag;
  for (const auto& t : tasks) {
    if (!t.finished) {
      out.ok = false;  // faults are off: every task finishes
      continue;
    }
    const double fin = static_cast<double>(*t.finished);
    last_finished = std::max(last_finished, fin);
    busy += overlap(static_cast<double>(t.created), fin, first, last_created);
    if (auto it = detected.find(t.request_id); it != detected.end())
      lag.push_back(static_cast<double>(it->second) - fin);
  }
  out.eff = oracle_makespan(tasks, cap) / (last_finished - first);
  out.util_steady = last_created > first ? busy / (cap * (last_created - first)) : std::nan("");
  out.polls_per_job = stats.at("polls").to_number<double>() / static_cast<double>(tasks.size());
  out.lag_p50_share = quantile(lag, 0.5) / median_ms;
  out.lag_mean_share = mean(lag) / median_ms;
  out.lag_p99_s = quantile(lag, 0.99) / o.time_scale / 1000.0;
  out.cap_rejections = stats.at("cap_rejections").to_number<std::uint64_t>();
  if (auto* by_key = stats.if_contains("polls_by_key"); by_key && by_key->is_object()) {
    for (const auto& [name, v] : by_key->as_object())
      out.get_peak = std::max(out.get_peak, v.as_object().at("peak_polls_per_scaled_second").to_number<double>());
  } else {
    out.get_peak = std::nan("");
  }
  out.get_budget = budget_per_unscaled_s;
  if (lag.size() != tasks.size()) out.ok = false;
  return out;
}

outcome run_client(const options& o, const std::string& client, std::uint64_t seed) {
  const fs::path dir = fs::temp_directory_path() /
                       ("vidq-bench-poll-" + std::to_string(::getpid()) + "-" + client + "-" + std::to_string(seed));
  fs::remove_all(dir);
  fs::create_directories(dir);
  bench::sim_host host(dir, sim_config_for(o, seed));
  std::map<std::string, millis> detected;
  double budget = std::nan("");
  std::optional<daemon_run> d;
  if (client.rfind("loop-", 0) == 0) {
    const double interval_s = std::stod(client.substr(5));
    auto seen = run_loop(o, host, interval_s);
    detected = std::move(seen.at);
  } else {
    bench::daemon_tuning tuning;
    if (client == "vidq-frugal") {
      tuning.backlog_poll_worth_s = o.frugal_worth_s;
    } else if (client.rfind("vidq-x", 0) == 0) {
      tuning.prior_factor = std::stod(client.substr(6));
    } else if (client != "vidq") {
      std::fprintf(stderr, "unknown client %s\n", client.c_str());
      std::exit(2);
    }
    d = run_daemon(o, dir, host, tuning);
    detected = d->detected;
    budget = 10.0;  // requests_per_second = 10 / time_scale, per scaled second
  }
  const auto stats = host.sim().stats(true);
  host.stop();
  auto out = judge(o, client, seed, stats, detected, budget);
  if (d) {
    out.ok = out.ok && d->exit_code == 0;
    out.cpu_s_per_1000 = d->cpu_s * 1000.0 / static_cast<double>(o.jobs);
    out.rss_mib = static_cast<double>(d->max_rss_kb) / 1024.0;
  }
  if (o.keep)
    std::printf("kept %s\n", dir.c_str());
  else
    fs::remove_all(dir);
  return out;
}

void print_row(const outcome& r) {
  std::printf("%-12s %5llu %7.4f %7.4f %8.1f %8.2f%% %8.2f%% %8.1f %6.1f/%-4.0f %7.2f %7.1f %5llu%s\n",
              r.client.c_str(), static_cast<unsigned long long>(r.seed), r.eff, r.util_steady, r.polls_per_job,
              100 * r.lag_p50_share, 100 * r.lag_mean_share, r.lag_p99_s, r.get_peak, r.get_budget, r.cpu_s_per_1000,
              r.rss_mib, static_cast<unsigned long long>(r.cap_rejections),
              r.ok ? "" : "  (NOT OK: see the client's output)");
  std::fflush(stdout);
}

void print_header() {
  std::printf("%-12s %5s %7s %7s %8s %9s %9s %8s %11s %7s %7s %5s\n", "client", "seed", "eff", "util_st", "polls/j",
              "lag p50", "lag mean", "p99 s", "GET pk/bud", "CPUs/1k", "RSS MiB", "1302");
}

}  // namespace

int main(int argc, char** argv) {
  const options o = parse(argc, argv);
  vidq::log::set_min_level(vidq::log::level::warn);
  const double median = documented_median_s(o);
  std::printf(
      "vidq %s; %d × %s%s, run times log-normal median %.0f s σ %.2f (p90 %.0f s), cap %d (%s), time scale %g\n",
      bench::vidq_binary(), o.jobs, o.model.c_str(), o.quality.empty() ? "" : (":" + o.quality).c_str(), median,
      o.sigma, median * std::exp(o.sigma * 1.2815515655446004), vidq::sim::cap_of_tier(o.tier), o.tier.c_str(),
      o.time_scale);
  print_header();
  std::map<std::string, std::vector<outcome>> by_client;
  bool ok = true;
  for (int r = 0; r < o.runs; ++r) {
    for (const auto& c : o.clients) {
      auto out = run_client(o, c, o.seed + static_cast<std::uint64_t>(r));
      print_row(out);
      ok = ok && out.ok;
      by_client[c].push_back(out);
    }
  }
  if (o.runs > 1) {
    std::printf("\nmeans over %d seeds\n", o.runs);
    print_header();
    for (const auto& c : o.clients) {
      const auto& v = by_client[c];
      outcome m = v.front();
      m.seed = 0;
      auto avg = [&](double outcome::*field) {
        double s = 0;
        for (const auto& x : v) s += x.*field;
        return s / static_cast<double>(v.size());
      };
      m.eff = avg(&outcome::eff);
      m.util_steady = avg(&outcome::util_steady);
      m.polls_per_job = avg(&outcome::polls_per_job);
      m.lag_p50_share = avg(&outcome::lag_p50_share);
      m.lag_mean_share = avg(&outcome::lag_mean_share);
      m.lag_p99_s = avg(&outcome::lag_p99_s);
      m.cpu_s_per_1000 = avg(&outcome::cpu_s_per_1000);
      m.rss_mib = avg(&outcome::rss_mib);
      m.get_peak = 0;
      for (const auto& x : v) m.get_peak = std::max(m.get_peak, x.get_peak);
      m.cap_rejections = 0;
      for (const auto& x : v) m.cap_rejections += x.cap_rejections;
      m.ok = std::all_of(v.begin(), v.end(), [](const outcome& x) { return x.ok; });
      print_row(m);
    }
  }
  for (const auto& [c, v] : by_client) {
    for (const auto& x : v) {
      std::printf("%s\n", json::serialize(json::object{{"client", x.client},
                                                       {"seed", x.seed},
                                                       {"eff", x.eff},
                                                       {"util_steady", x.util_steady},
                                                       {"polls_per_job", x.polls_per_job},
                                                       {"lag_p50_share", x.lag_p50_share},
                                                       {"lag_mean_share", x.lag_mean_share},
                                                       {"lag_p99_s", x.lag_p99_s},
                                                       {"get_peak_per_unscaled_s", x.get_peak},
                                                       {"cpu_s_per_1000_jobs", x.cpu_s_per_1000},
                                                       {"max_rss_mib", x.rss_mib},
                                                       {"cap_rejections", x.cap_rejections},
                                                       {"ok", x.ok}})
                              .c_str());
    }
  }
  return ok ? 0 : 1;
}
