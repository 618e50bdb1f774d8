// Slot utilization, polls per job, detection latency and the daemon's CPU and memory
// (DESIGN.md §6, issue 4 acceptance): the real `vidq run --exit-when-idle` against the
// in-process simulator with the API.md §12 duration distributions, scaled by --time-scale.
// docs/PERFORMANCE.md explains the figures and what limits them.
//
//   bench_daemon_utilization [--jobs N] [--models m1,m2] [--time-scale X] [--tier V0]
//                            [--faults off|default|both] [--runs R] [--seed S] [--keep]
//                            [--backend sqlite|postgres|both] [--pg-url URL]
//
// --backend both runs the same jobs with the same simulator seed on SQLite, then on one
// PostgreSQL database (a fresh one per run in the cluster of --pg-url, default
// $VIDQ_BENCH_PG_URL; scripts/pg-test-cluster start DIR prints one), and prints the ratios.
//
// Per run it prints a block of figures and one `{"run":...}` JSON line. Definitions:
//   busy          Σ over provider tasks of the time they held a slot, [created, finished]
//                 (a task still PROCESSING when the daemon exits — a stuck task, or one the
//                 daemon gave up on at poll_deadline — until the end of the window)
//   steady window per (key, model): first task created → last task created. The queue is
//                 not empty in it (the last creation empties it), so every idle slot-ms is
//                 the daemon's doing (detection delay, hand-off, backoff)
//   full window   first created → last finished (adds the drain, where the queue is empty)
//   whole run     daemon start → daemon exit, all lanes (adds start-up, last download, exit)
//   utilization   busy in the window / (cap × window length)
//   detection     daemon's job_events `at` (processing → downloading|failed) − the
//                 simulator's finished_at, for the task with the job's request_id
#include "support/bench_env.hpp"
#include "support/oracle.hpp"
#include "support/pg_bench_db.hpp"
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
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
namespace json = boost::json;
using vidq::millis;

namespace {

namespace bench = vidq::bench;
using bench::col;
using bench::mean;
using bench::quantile;
using bench::key_of_tier;
using bench::reader;
using bench::run_cli;
using bench::wall_ms;

struct options {
  int jobs = 250;  // per model
  std::vector<std::string> models{"cogvideox-flash", "cogvideox-3"};
  double time_scale = 0.02;
  std::string tier = "V0";
  std::string faults = "both";
  int runs = 1;
  std::uint64_t seed = 1;
  bool keep = false;
  std::string backend = "sqlite";
  std::string pg_url = std::getenv("VIDQ_BENCH_PG_URL") ? std::getenv("VIDQ_BENCH_PG_URL") : "";
};

// Exits 2 with the usage on a bad command line, 0 after --help.
options parse(int argc, char** argv) {
  options o;
  CLI::App app("Slot utilization, polls per job and detection lag of `vidq run` against the simulator",
               "bench_daemon_utilization");
  app.add_option("--jobs", o.jobs, "jobs per model")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--models", o.models, "models, each its own batch")->delimiter(',')->capture_default_str();
  app.add_option("--time-scale", o.time_scale, "simulator and daemon time scale")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--tier", o.tier)->check(CLI::IsMember({"V0", "V1", "V2", "V3"}))->capture_default_str();
  app.add_option("--faults", o.faults)->check(CLI::IsMember({"off", "default", "both"}))->capture_default_str();
  app.add_option("--runs", o.runs)->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--seed", o.seed)->capture_default_str();
  app.add_flag("--keep", o.keep, "keep each run's directory");
  app.add_option("--backend", o.backend, "the daemon's database; both: SQLite, then PostgreSQL, same jobs and seed")
      ->check(CLI::IsMember({"sqlite", "postgres", "both"}))
      ->capture_default_str();
  app.add_option("--pg-url", o.pg_url, "a PostgreSQL cluster (default $VIDQ_BENCH_PG_URL); each run gets a database");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::exit(app.exit(e) == 0 ? 0 : 2);
  }
  if (o.backend != "sqlite" && o.pg_url.empty()) {
    std::fprintf(stderr, "--backend %s needs --pg-url or VIDQ_BENCH_PG_URL\n", o.backend.c_str());
    std::exit(2);
  }
  return o;
}

struct task_rec {
  std::string model, request_id, status;
  millis created = 0;
  std::optional<millis> finished;  // nullopt: still PROCESSING (stuck)
  std::int64_t polls = 0;
};

struct lane_figures {
  std::string model;
  int cap = 0;
  std::size_t tasks = 0, stuck = 0;
  double steady_ms = 0, steady_busy = 0, steady_detect_loss = 0, full_ms = 0, full_busy = 0;
  double steady_stuck = 0;  // slot-ms of unfinished tasks (stuck, or orphaned at poll_deadline) in the steady window
  double handoff_mean_ms = std::nan("");
  double held_mean = 0;  // slots the daemon counted as taken (submitting|processing), time-weighted, steady window
  std::int64_t polls = 0;
  std::vector<double> detect_ms, detect_frac, durations_ms;
};

struct run_figures {
  std::string backend;
  std::string faults;
  int run = 0;
  int exit_code = -1;
  double wall_s = 0;                // daemon start → exit
  double cpu_s = 0;                 // user + sys of the daemon
  long max_rss_kb = 0;
  std::size_t jobs = 0, tasks = 0, succeeded = 0;
  std::map<std::string, std::int64_t> failed_by_code;
  std::int64_t polls = 0, submissions = 0, cap_rejections = 0;
  json::object sim_errors, sim_faults;
  std::vector<lane_figures> lanes;
  double whole_run_util = 0;
  double whole_run_useful = 0;  // the same without unfinished tasks
  double startup_ms = 0;  // daemon start → first task created
  double tail_ms = 0;     // last task finished → daemon exit
};

// Overlap of [a, b) with [lo, hi).
double overlap(double a, double b, double lo, double hi) { return std::max(0.0, std::min(b, hi) - std::max(a, lo)); }

std::string sql_text(const std::string& v) {
  std::string out = "'";
  for (char c : v) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

// The jobs the SQLite import wrote, inserted as they are into PostgreSQL (where `vidq
// import` does not run yet): both backends start from the same rows.
void copy_jobs(bench::reader& from, bench::pg_bench_db& to) {
  std::string insert = "INSERT INTO jobs(key, batch, account, model, prompt, params) VALUES ";
  bool first = true;
  for (const auto& r : from.rows("SELECT key, batch, account, model, prompt, params FROM jobs ORDER BY id")) {
    insert += first ? "(" : ",(";
    first = false;
    for (std::size_t i = 0; i < r.size(); ++i) insert += (i ? "," : "") + sql_text(r[i]);
    insert += ")";
  }
  to.exec(insert);
}

run_figures one_run(const options& o, bool faults_on, int run_index, const std::string& backend) {
  run_figures f;
  f.backend = backend;
  f.faults = faults_on ? "default" : "off";
  f.run = run_index;
  const double ts = o.time_scale;
  const int cap = vidq::sim::cap_of_tier(o.tier);

  const fs::path dir = fs::temp_directory_path() /
                       ("vidq-bench-util-" + std::to_string(::getpid()) + "-" + f.faults + "-" + std::to_string(run_index) +
                        "-" + backend);
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto cfg = vidq::sim::default_sim_config();
  cfg.time_scale = ts;
  cfg.seed = o.seed + static_cast<std::uint64_t>(run_index) * 1000 + (faults_on ? 1 : 0);
  if (!faults_on) cfg.faults = vidq::sim::fault_rates::none();
  bench::sim_host host(dir, cfg);
  auto& sim = host.sim();
  const fs::path config = dir / "vidq.toml";
  bench::write_scaled_config(config, host, o.tier, ts);
  const fs::path cli_log = dir / "cli.log";
  {
    std::ofstream jobs(dir / "jobs.jsonl");
    // Interleaved models, one batch per model: both lanes start full.
    for (int i = 0; i < o.jobs; ++i) {
      for (const auto& m : o.models) {
        jobs << R"({"key":")" << m << "-" << i << R"(","batch":")" << m << R"(","model":")" << m
             << R"(","prompt":"a red sneaker rotating on a white table, shot )" << i << "\"";
        if (m == "cogvideox-3" || m == "cogvideox-2") jobs << R"(,"quality":"speed")";
        jobs << "}\n";
      }
    }
  }
  if (run_cli(config, "import " + (dir / "jobs.jsonl").string(), cli_log) != 0) {
    std::fprintf(stderr, "import failed, see %s\n", cli_log.c_str());
    std::exit(1);
  }
  f.jobs = static_cast<std::size_t>(o.jobs) * o.models.size();
  std::optional<bench::pg_bench_db> pg;
  if (backend == "postgres") {
    pg.emplace(o.pg_url, "vidq_bench_" + std::to_string(::getpid()) + "_" + f.faults + "_" + std::to_string(run_index));
    bench::daemon_tuning on_postgres;
    on_postgres.database_url = pg->url();
    bench::write_scaled_config(config, host, o.tier, ts, on_postgres);
    if (run_cli(config, "migrate", cli_log) != 0) {
      std::fprintf(stderr, "migrate failed, see %s\n", cli_log.c_str());
      std::exit(1);
    }
    {
      bench::reader imported(dir / "vidq.db");
      copy_jobs(imported, *pg);
    }
    fs::remove(dir / "vidq.db");
  }
  // The daemon's database, read once it has exited.
  const auto query = [&](const char* sql) {
    if (pg) return pg->rows(sql);
    bench::reader db(dir / "vidq.db");
    return db.rows(sql);
  };

  // The daemon.
  const fs::path daemon_log = dir / "daemon.log";
  const millis started = wall_ms();
  const pid_t pid = bench::spawn_daemon(config, daemon_log, true);
  const auto exited = bench::wait_for_daemon(pid, 30 * 60'000);
  const millis ended = wall_ms();
  f.exit_code = exited.code;
  f.wall_s = static_cast<double>(ended - started) / 1000.0;
  f.cpu_s = exited.cpu_s;
  f.max_rss_kb = exited.max_rss_kb;

  // The simulator's view.
  const auto stats = sim.stats(true);
  host.stop();
  f.tasks = static_cast<std::size_t>(stats.at("tasks_created").to_number<std::int64_t>());
  f.polls = stats.at("polls").to_number<std::int64_t>();
  f.submissions = stats.at("submissions").to_number<std::int64_t>();
  f.cap_rejections = stats.at("cap_rejections").to_number<std::int64_t>();
  f.sim_errors = stats.at("errors_by_code").as_object();
  f.sim_faults = stats.at("faults_injected").as_object();
  std::map<std::string, task_rec> by_rid;
  std::map<std::string, std::vector<task_rec>> by_model;
  for (const auto& t : stats.at("tasks").as_array()) {
    const auto& x = t.as_object();
    task_rec r;
    r.model = x.at("model").as_string();
    r.request_id = x.at("request_id").as_string();
    r.status = x.at("status").as_string();
    r.created = x.at("created_at_ms").to_number<millis>();
    if (!x.at("finished_at_ms").is_null()) r.finished = x.at("finished_at_ms").to_number<millis>();
    r.polls = x.at("polls").to_number<std::int64_t>();
    by_rid[r.request_id] = r;
    by_model[r.model].push_back(r);
  }

  // The daemon's view.
  std::map<std::string, millis> detected;                      // request_id → processing → done
  std::map<std::string, std::vector<millis>> releases_by_model;  // a daemon slot given back
  std::map<std::string, std::vector<std::pair<millis, int>>> held_steps;  // (at, +1|-1) per model
  for (const auto& r : query("SELECT state, coalesce(error_code, ''), count(*) FROM jobs GROUP BY 1, 2")) {
    const auto n = std::stoll(r[2]);
    if (r[0] == "succeeded") f.succeeded += static_cast<std::size_t>(n);
    else f.failed_by_code[r[0] + (r[1].empty() ? "" : ":" + r[1])] += n;
  }
  for (const auto& r : query(
           "SELECT j.request_id, e.at, j.model, e.from_state, e.to_state, e.detail FROM job_events e JOIN jobs j ON j.id = "
           "e.job_id WHERE (e.from_state = 'processing' AND e.to_state IN ('downloading', 'failed')) "
           "   OR (e.from_state = 'submitting' AND e.to_state IN ('queued', 'failed'))")) {
    const millis at = std::stoll(r[1]);
    releases_by_model[r[2]].push_back(at);
    // poll_deadline is the daemon giving up on a stuck task, not a detection.
    if (r[3] == "processing" && r[5].rfind("poll_deadline", 0) != 0) detected[r[0]] = at;
  }
  for (const auto& r : query("SELECT j.model, e.at, coalesce(e.from_state, ''), e.to_state FROM job_events e JOIN jobs j "
                             "ON j.id = e.job_id ORDER BY e.at, e.id")) {
    auto held = [](const std::string& st) { return st == "submitting" || st == "processing" ? 1 : 0; };
    const int d = held(r[3]) - held(r[2]);
    if (d != 0) held_steps[r[0]].emplace_back(std::stoll(r[1]), d);
  }

  double whole_busy = 0, whole_stuck = 0;
  int lanes_cap = 0;
  millis first_any = std::numeric_limits<millis>::max(), last_any = 0;
  for (const auto& [rid, t] : by_rid) {
    first_any = std::min(first_any, t.created);
    if (t.finished) last_any = std::max(last_any, *t.finished);
  }
  f.startup_ms = static_cast<double>(first_any - started);
  f.tail_ms = static_cast<double>(ended - last_any);
  for (auto& [model, tasks] : by_model) {
    lane_figures l;
    l.model = model;
    l.cap = cap;
    l.tasks = tasks.size();
    std::sort(tasks.begin(), tasks.end(), [](const auto& a, const auto& b) { return a.created < b.created; });
    const double first_created = static_cast<double>(tasks.front().created);
    const double last_created = static_cast<double>(tasks.back().created);
    double last_finished = last_created;
    for (const auto& t : tasks)
      if (t.finished) last_finished = std::max(last_finished, static_cast<double>(*t.finished));
    l.steady_ms = last_created - first_created;
    l.full_ms = last_finished - first_created;
    for (const auto& t : tasks) {
      const double c = static_cast<double>(t.created);
      const double fin = t.finished ? static_cast<double>(*t.finished) : std::numeric_limits<double>::infinity();
      if (!t.finished) ++l.stuck;
      l.polls += t.polls;
      l.steady_busy += overlap(c, fin, first_created, last_created);
      l.full_busy += overlap(c, fin, first_created, last_finished);
      whole_busy += overlap(c, fin, static_cast<double>(started), static_cast<double>(ended));
      if (!t.finished) {
        l.steady_stuck += overlap(c, fin, first_created, last_created);
        whole_stuck += overlap(c, fin, static_cast<double>(started), static_cast<double>(ended));
        continue;
      }
      l.durations_ms.push_back(fin - c);
      if (auto it = detected.find(t.request_id); it != detected.end()) {
        const double d = static_cast<double>(it->second) - fin;
        l.detect_ms.push_back(d);
        l.detect_frac.push_back(fin > c ? d / (fin - c) : 0.0);
        l.steady_detect_loss += overlap(fin, static_cast<double>(it->second), first_created, last_created);
      }
    }
    // Hand-off: the k-th slot the daemon gives back (sorted) is reused by creation cap + k.
    auto rel = releases_by_model[model];
    std::sort(rel.begin(), rel.end());
    std::vector<double> gaps;
    for (std::size_t k = 0; k < rel.size() && static_cast<std::size_t>(cap) + k < tasks.size(); ++k)
      gaps.push_back(static_cast<double>(tasks[static_cast<std::size_t>(cap) + k].created - rel[k]));
    l.handoff_mean_ms = faults_on ? std::nan("") : mean(gaps);  // with faults, releases ≠ reuses
    {
      int cur = 0;
      double last = first_created, acc = 0;
      for (const auto& [at_ms, d] : held_steps[model]) {
        const double at = static_cast<double>(at_ms);
        acc += cur * overlap(last, at, first_created, last_created);
        cur += d;
        last = std::max(last, at);
      }
      acc += cur * overlap(last, last_created, first_created, last_created);
      l.held_mean = l.steady_ms > 0 ? acc / l.steady_ms : 0;
    }
    lanes_cap += cap;
    f.lanes.push_back(std::move(l));
  }
  f.whole_run_util = whole_busy / (static_cast<double>(lanes_cap) * static_cast<double>(ended - started));
  f.whole_run_useful = (whole_busy - whole_stuck) / (static_cast<double>(lanes_cap) * static_cast<double>(ended - started));

  if (!o.keep) {
    fs::remove_all(dir);
  } else {
    std::printf("kept %s\n", dir.c_str());
  }
  return f;
}

// The two figures the backends are compared on (issue 14: within 2 % of each other).
struct headline {
  double util_steady = 0;
  double polls_per_job = 0;
};

headline print(const options& o, const run_figures& f) {
  const double ts = o.time_scale;
  std::vector<double> all_detect, all_frac;
  double steady_busy = 0, steady_cap = 0, full_busy = 0, full_cap = 0, loss = 0, steady_stuck = 0;
  std::size_t stuck = 0;
  std::printf("\n== %s, faults %s, run %d: %zu jobs, %zu models, tier %s (cap %d per model), time scale %g\n",
              f.backend.c_str(), f.faults.c_str(), f.run, f.jobs, f.lanes.size(), o.tier.c_str(), vidq::sim::cap_of_tier(o.tier), ts);
  std::printf("daemon exit %d after %.1f s; succeeded %zu", f.exit_code, f.wall_s, f.succeeded);
  for (const auto& [k, n] : f.failed_by_code) std::printf(", %s %lld", k.c_str(), static_cast<long long>(n));
  std::printf("\nsimulator: %zu tasks, %lld submissions, %lld polls, %lld cap rejections (1302), errors %s, faults %s\n",
              f.tasks, static_cast<long long>(f.submissions), static_cast<long long>(f.polls),
              static_cast<long long>(f.cap_rejections), json::serialize(f.sim_errors).c_str(),
              json::serialize(f.sim_faults).c_str());
  std::printf("%-16s %5s %6s %8s %6s %8s %8s %8s %8s %9s %9s %9s %9s %9s\n", "model", "tasks", "unfin", "steady_s", "held", "util_st", "useful",
              "util_full", "polls/j", "det_p50ms", "det_p99ms", "p50_frac", "p99_frac", "handoffms");
  for (const auto& l : f.lanes) {
    std::printf("%-16s %5zu %6zu %8.1f %6.2f %8.3f %8.3f %8.3f %8.2f %9.0f %9.0f %9.3f %9.3f %9.1f\n", l.model.c_str(), l.tasks,
                l.stuck, l.steady_ms / 1000.0, l.held_mean, l.steady_busy / (l.cap * l.steady_ms),
                (l.steady_busy - l.steady_stuck) / (l.cap * l.steady_ms), l.full_busy / (l.cap * l.full_ms),
                static_cast<double>(l.polls) / static_cast<double>(l.tasks), quantile(l.detect_ms, 0.5),
                quantile(l.detect_ms, 0.99), quantile(l.detect_frac, 0.5), quantile(l.detect_frac, 0.99),
                l.handoff_mean_ms);
    all_detect.insert(all_detect.end(), l.detect_ms.begin(), l.detect_ms.end());
    all_frac.insert(all_frac.end(), l.detect_frac.begin(), l.detect_frac.end());
    steady_busy += l.steady_busy;
    steady_cap += l.cap * l.steady_ms;
    full_busy += l.full_busy;
    full_cap += l.cap * l.full_ms;
    loss += l.steady_detect_loss;
    steady_stuck += l.steady_stuck;
    stuck += l.stuck;
  }
  const double util_steady = steady_busy / steady_cap;
  const double polls_per_job = static_cast<double>(f.polls) / static_cast<double>(f.tasks);
  std::printf("ALL: utilization steady %.3f (idle %.3f = detection %.3f + hand-off/other %.3f), full %.3f, whole run %.3f\n",
              util_steady, 1 - util_steady, loss / steady_cap, 1 - util_steady - loss / steady_cap, full_busy / full_cap,
              f.whole_run_util);
  if (stuck > 0)
    std::printf("ALL: %zu unfinished task(s) (stuck, or orphaned at poll_deadline) held %.3f of the steady slot-time: "
                "useful utilization steady %.3f, whole run %.3f\n",
                stuck, steady_stuck / steady_cap, (steady_busy - steady_stuck) / steady_cap, f.whole_run_useful);
  std::printf("ALL: polls/job %.2f; detection p50 %.0f ms p99 %.0f ms mean %.0f ms (= %.1f s / %.1f s / %.1f s unscaled); "
              "as a fraction of the task's duration p50 %.3f p99 %.3f mean %.3f\n",
              polls_per_job, quantile(all_detect, 0.5), quantile(all_detect, 0.99), mean(all_detect),
              quantile(all_detect, 0.5) / ts / 1000, quantile(all_detect, 0.99) / ts / 1000, mean(all_detect) / ts / 1000,
              quantile(all_frac, 0.5), quantile(all_frac, 0.99), mean(all_frac));
  std::printf("ALL: start-up (daemon start → first task) %.0f ms; exit (last finish → daemon exit) %.0f ms\n",
              f.startup_ms, f.tail_ms);
  std::printf("ALL: daemon CPU %.2f s = %.2f s per 1,000 jobs; peak RSS %.1f MiB\n", f.cpu_s,
              f.cpu_s * 1000.0 / static_cast<double>(f.jobs), static_cast<double>(f.max_rss_kb) / 1024.0);

  json::object lanes;
  for (const auto& l : f.lanes) {
    lanes[l.model] = json::object{{"tasks", l.tasks},
                                  {"unfinished", l.stuck},
                                  {"util_steady", l.steady_busy / (l.cap * l.steady_ms)},
                                  {"util_steady_useful", (l.steady_busy - l.steady_stuck) / (l.cap * l.steady_ms)},
                                  {"util_full", l.full_busy / (l.cap * l.full_ms)},
                                  {"polls_per_task", static_cast<double>(l.polls) / static_cast<double>(l.tasks)},
                                  {"detect_p50_ms", quantile(l.detect_ms, 0.5)},
                                  {"detect_p99_ms", quantile(l.detect_ms, 0.99)},
                                  {"detect_mean_ms", mean(l.detect_ms)},
                                  {"detect_p50_frac", quantile(l.detect_frac, 0.5)},
                                  {"detect_p99_frac", quantile(l.detect_frac, 0.99)},
                                  {"duration_mean_ms", mean(l.durations_ms)},
                                  {"handoff_mean_ms", l.handoff_mean_ms},
                                  {"daemon_held_slots_mean", l.held_mean}};
  }
  const json::object out{{"run", f.run},
                         {"backend", f.backend},
                         {"faults", f.faults},
                         {"time_scale", ts},
                         {"tier", o.tier},
                         {"jobs", f.jobs},
                         {"exit", f.exit_code},
                         {"wall_s", f.wall_s},
                         {"util_steady", util_steady},
                         {"util_full", full_busy / full_cap},
                         {"util_whole_run", f.whole_run_util},
                         {"util_steady_useful", (steady_busy - steady_stuck) / steady_cap},
                         {"util_whole_run_useful", f.whole_run_useful},
                         {"startup_ms", f.startup_ms},
                         {"exit_tail_ms", f.tail_ms},
                         {"idle_detection", loss / steady_cap},
                         {"unfinished", stuck},
                         {"polls_per_job", polls_per_job},
                         {"detect_p50_ms", quantile(all_detect, 0.5)},
                         {"detect_p99_ms", quantile(all_detect, 0.99)},
                         {"detect_p50_frac", quantile(all_frac, 0.5)},
                         {"detect_p99_frac", quantile(all_frac, 0.99)},
                         {"cpu_s_per_1000_jobs", f.cpu_s * 1000.0 / static_cast<double>(f.jobs)},
                         {"max_rss_kb", f.max_rss_kb},
                         {"lanes", lanes}};
  std::printf("%s\n", json::serialize(out).c_str());
  std::fflush(stdout);
  return {util_steady, polls_per_job};
}

}  // namespace

int main(int argc, char** argv) {
  const options o = parse(argc, argv);
  vidq::log::set_min_level(vidq::log::level::warn);
  std::printf("vidq %s; %d jobs per model (%zu models), tier %s, time scale %g, faults %s, %d run(s)\n", bench::vidq_binary(),
              o.jobs, o.models.size(), o.tier.c_str(), o.time_scale, o.faults.c_str(), o.runs);
  bool ok = true;
  const std::vector<std::string> backends =
      o.backend == "both" ? std::vector<std::string>{"sqlite", "postgres"} : std::vector<std::string>{o.backend};
  for (int r = 1; r <= o.runs; ++r) {
    for (const bool faults_on : {false, true}) {
      if ((faults_on && o.faults == "off") || (!faults_on && o.faults == "default")) continue;
      std::map<std::string, headline> by_backend;
      for (const auto& backend : backends) {
        const auto f = one_run(o, faults_on, r, backend);
        by_backend[backend] = print(o, f);
        ok = ok && f.exit_code == 0;
      }
      if (by_backend.size() == 2) {
        const auto& lite = by_backend["sqlite"];
        const auto& pg = by_backend["postgres"];
        std::printf("PARITY run %d faults %s: utilization steady postgres/sqlite %.4f (%.3f / %.3f), polls/job "
                    "postgres/sqlite %.4f (%.2f / %.2f)\n",
                    r, faults_on ? "default" : "off", pg.util_steady / lite.util_steady, pg.util_steady,
                    lite.util_steady, pg.polls_per_job / lite.polls_per_job, pg.polls_per_job, lite.polls_per_job);
      }
    }
  }
  return ok ? 0 : 1;
}
