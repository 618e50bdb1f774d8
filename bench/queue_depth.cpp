// Cost per job independent of queue length (issue 13): the real `vidq run` against the
// in-process simulator with a backlog of queued rows (default: 1,000 and 1,000,000 in one
// run, 50 batches, one account), measured from /proc while the daemon works.
//
//   bench_queue_depth [--backlogs 1000,1000000] [--batches 50] [--measure N=400] [--warmup N=40]
//                     [--time-scale X=0.01] [--tier V3] [--idle-seconds S=20] [--keep]
//
// Per backlog it prints, and repeats as one `{"backlog":...}` JSON line:
//   cpu_ms_per_job  daemon user+sys CPU between the warm-up'th and the (warm-up + measure)'th
//                   succeeded job, divided by `measure`
//   rss / peak      VmRSS at the end of that window, VmHWM (peak) of the whole run
//   idle            a second daemon on the same backlog with the simulator at time scale 1
//                   (real task durations, minutes): once every slot is taken and nothing is
//                   due, its CPU over --idle-seconds as a share of one core, and the polls it
//                   made meanwhile (should be 0: nothing is due yet)
// Every provider-time setting is scaled with the simulator (bench_env's write_scaled_config).
#include "support/bench_env.hpp"
#include "vidq/ops/log.hpp"

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace bench = vidq::bench;
namespace fs = std::filesystem;
namespace json = boost::json;
using vidq::millis;

struct options {
  std::vector<long> backlogs{1'000, 1'000'000};
  int batches = 50;
  int measure = 400;
  int warmup = 40;
  double time_scale = 0.01;
  std::string tier = "V3";
  int idle_seconds = 20;
  bool keep = false;
};

// Exits 2 with the usage on a bad command line, 0 after --help.
options parse(int argc, char** argv) {
  options o;
  CLI::App app("CPU and memory per job of `vidq run` with a deep queue", "bench_queue_depth");
  app.add_option("--backlogs", o.backlogs, "queued rows per run")->delimiter(',')->capture_default_str();
  app.add_option("--batches", o.batches, "batches the backlog is spread over")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--measure", o.measure, "succeeded jobs in the measured window")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--warmup", o.warmup, "succeeded jobs before the window opens")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--time-scale", o.time_scale)->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--tier", o.tier)->check(CLI::IsMember({"V0", "V1", "V2", "V3"}))->capture_default_str();
  app.add_option("--idle-seconds", o.idle_seconds)->check(CLI::PositiveNumber)->capture_default_str();
  app.add_flag("--keep", o.keep, "keep each run's directory");
  try {
    app.parse(argc, argv);
    for (const long b : o.backlogs) {
      if (b < o.warmup + o.measure) throw CLI::ValidationError("--backlogs", "each backlog needs warmup + measure rows");
    }
  } catch (const CLI::ParseError& e) {
    std::exit(app.exit(e) == 0 ? 0 : 2);
  }
  return o;
}

// `rows` queued cogvideox-flash jobs in `batches` batches, written straight into the
// migrated database in one transaction (the importer would take minutes for a million).
void fill_backlog(const fs::path& db_file, long rows, int batches) {
  sqlite3* db = nullptr;
  if (sqlite3_open(db_file.c_str(), &db) != SQLITE_OK) std::exit(1);
  const std::string sql =
      "BEGIN; WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " + std::to_string(rows) +
      ") INSERT INTO jobs(model, prompt, batch, key) "
      "SELECT 'cogvideox-flash', 'a red sneaker rotating on a white table, shot ' || i, "
      "printf('backlog-%02d', i % " + std::to_string(batches) + "), 'SKU-' || i FROM n; COMMIT; ANALYZE;";
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::fprintf(stderr, "backlog: %s\n", err ? err : "?");
    std::exit(1);
  }
  sqlite3_close(db);
}

struct stage {
  fs::path dir, config, db;
};

stage prepare(const std::string& name, const bench::sim_host& host, const options& o, double ts, long backlog) {
  stage s;
  s.dir = fs::temp_directory_path() / ("vidq-bench-depth-" + std::to_string(::getpid()) + "-" + name);
  fs::remove_all(s.dir);
  fs::create_directories(s.dir);
  s.config = s.dir / "vidq.toml";
  s.db = s.dir / "vidq.db";
  bench::write_scaled_config(s.config, host, o.tier, ts);
  if (bench::run_cli(s.config, "migrate", s.dir / "cli.log") != 0) {
    std::fprintf(stderr, "migrate failed, see %s\n", (s.dir / "cli.log").c_str());
    std::exit(1);
  }
  fill_backlog(s.db, backlog, o.batches);
  return s;
}

void stop(pid_t pid) {
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
}

// Waits until `query` (a count) reaches `n`; false after `limit_ms` or when the daemon died.
bool wait_count(bench::reader& db, const char* query, std::int64_t n, pid_t pid, millis limit_ms) {
  const millis give_up = bench::wall_ms() + limit_ms;
  while (bench::wall_ms() < give_up) {
    if (::waitpid(pid, nullptr, WNOHANG) == pid) return false;
    if (db.scalar(query) >= n) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

constexpr const char* succeeded_sql = "SELECT count(*) FROM jobs WHERE state = 'succeeded'";
constexpr const char* in_flight_sql = "SELECT count(*) FROM jobs WHERE state IN ('submitting', 'processing')";

struct figures {
  long backlog = 0;
  double cpu_ms_per_job = 0, window_s = 0;
  long rss_kb = 0, peak_kb = 0;
  double idle_core_share = 0;
  std::int64_t idle_polls = 0;
  long idle_rss_kb = 0;
};

figures measure(const options& o, long backlog) {
  figures f;
  f.backlog = backlog;
  const int cap = vidq::sim::cap_of_tier(o.tier);
  {
    auto cfg = vidq::sim::default_sim_config();
    cfg.time_scale = o.time_scale;
    cfg.faults = vidq::sim::fault_rates::none();
    bench::sim_host host(fs::temp_directory_path() / ("vidq-bench-depth-tls-" + std::to_string(::getpid())), cfg);
    const auto s = prepare("busy-" + std::to_string(backlog), host, o, o.time_scale, backlog);
    bench::reader db(s.db);
    const pid_t pid = bench::spawn_daemon(s.config, s.dir / "daemon.log", false);
    if (!wait_count(db, succeeded_sql, o.warmup, pid, 10 * 60'000)) {
      std::fprintf(stderr, "no %d succeeded jobs within 10 minutes; see %s\n", o.warmup, (s.dir / "daemon.log").c_str());
      std::exit(1);
    }
    const auto before = bench::usage_of(pid);
    const millis t0 = bench::wall_ms();
    if (!wait_count(db, succeeded_sql, o.warmup + o.measure, pid, 30 * 60'000)) {
      std::fprintf(stderr, "the measured jobs did not finish; see %s\n", (s.dir / "daemon.log").c_str());
      std::exit(1);
    }
    const auto after = bench::usage_of(pid);
    f.window_s = static_cast<double>(bench::wall_ms() - t0) / 1000.0;
    f.cpu_ms_per_job = (after.cpu_s - before.cpu_s) * 1000.0 / o.measure;
    f.rss_kb = after.rss_kb;
    f.peak_kb = after.peak_kb;
    stop(pid);
    if (!o.keep) fs::remove_all(s.dir);
  }
  {
    // Idle: real durations (cogvideox-flash takes tens of seconds), so once the cap is
    // reached nothing is due for a while.
    auto cfg = vidq::sim::default_sim_config();
    cfg.time_scale = 1.0;
    cfg.faults = vidq::sim::fault_rates::none();
    bench::sim_host host(fs::temp_directory_path() / ("vidq-bench-depth-tls-" + std::to_string(::getpid())), cfg);
    const auto s = prepare("idle-" + std::to_string(backlog), host, o, 1.0, backlog);
    bench::reader db(s.db);
    const pid_t pid = bench::spawn_daemon(s.config, s.dir / "daemon.log", false);
    if (!wait_count(db, "SELECT count(*) FROM jobs WHERE state = 'processing'", cap, pid, 5 * 60'000)) {
      std::fprintf(stderr, "the idle daemon never filled its %d slots; see %s\n", cap, (s.dir / "daemon.log").c_str());
      std::exit(1);
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));  // let the submit burst's tail settle
    const auto polls_before = host.sim().stats(false).at("polls").to_number<std::int64_t>();
    const auto before = bench::usage_of(pid);
    const millis t0 = bench::wall_ms();
    std::this_thread::sleep_for(std::chrono::seconds(o.idle_seconds));
    const auto after = bench::usage_of(pid);
    const double wall_s = static_cast<double>(bench::wall_ms() - t0) / 1000.0;
    f.idle_core_share = (after.cpu_s - before.cpu_s) / wall_s;
    f.idle_polls = host.sim().stats(false).at("polls").to_number<std::int64_t>() - polls_before;
    f.idle_rss_kb = after.rss_kb;
    if (db.scalar(in_flight_sql) < cap) std::fprintf(stderr, "warning: a slot came free during the idle window\n");
    stop(pid);
    if (!o.keep) fs::remove_all(s.dir);
  }
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  const options o = parse(argc, argv);
  vidq::log::set_min_level(vidq::log::level::warn);
  std::printf("vidq %s; backlogs", bench::vidq_binary());
  for (const long b : o.backlogs) std::printf(" %ld", b);
  std::printf(" in %d batches, tier %s, time scale %g, %d warm-up + %d measured jobs, idle window %d s\n", o.batches,
              o.tier.c_str(), o.time_scale, o.warmup, o.measure, o.idle_seconds);
  std::printf("%10s %14s %9s %9s %9s %11s %10s %11s\n", "backlog", "cpu_ms/job", "window_s", "rss_MiB", "peak_MiB",
              "idle_core", "idle_polls", "idle_rssMiB");
  std::vector<figures> all;
  for (const long b : o.backlogs) {
    const auto f = measure(o, b);
    all.push_back(f);
    std::printf("%10ld %14.2f %9.1f %9.1f %9.1f %11.4f %10lld %11.1f\n", f.backlog, f.cpu_ms_per_job, f.window_s,
                static_cast<double>(f.rss_kb) / 1024.0, static_cast<double>(f.peak_kb) / 1024.0, f.idle_core_share,
                static_cast<long long>(f.idle_polls), static_cast<double>(f.idle_rss_kb) / 1024.0);
    std::printf("%s\n", json::serialize(json::object{{"backlog", f.backlog},
                                                     {"cpu_ms_per_job", f.cpu_ms_per_job},
                                                     {"window_s", f.window_s},
                                                     {"rss_kb", f.rss_kb},
                                                     {"peak_kb", f.peak_kb},
                                                     {"idle_core_share", f.idle_core_share},
                                                     {"idle_polls", f.idle_polls},
                                                     {"idle_rss_kb", f.idle_rss_kb}})
                            .c_str());
    std::fflush(stdout);
  }
  if (all.size() >= 2)
    std::printf("cpu per job, largest / smallest backlog: %.2f\n", all.back().cpu_ms_per_job / all.front().cpu_ms_per_job);
  return 0;
}
