#pragma once
// What every daemon benchmark needs: a simulator on loopback with its own TLS identity, a
// vidq.toml whose provider-time settings are scaled with the simulator, the CLI and the
// daemon as child processes, and a plain read-only view of the daemon's database.

#include "vidq/core/clock.hpp"
#include "vidq/sim/config.hpp"
#include "vidq/sim/server.hpp"
#include "vidq/sim/simulator.hpp"

#include <boost/asio/io_context.hpp>

#include <sqlite3.h>
#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace vidq::bench {

namespace fs = std::filesystem;

inline constexpr const char* key_env = "VIDQ_BENCH_API_KEY";

millis wall_ms();

// The simulator's built-in key of `tier` ("V0".."V3"), empty when there is none.
std::string key_of_tier(const std::string& tier);

// A simulator serving HTTPS on 127.0.0.1 from its own thread until stop().
class sim_host {
 public:
  // `dir` receives the TLS identity; exits the process on any set-up failure (a benchmark
  // has nobody to report to).
  sim_host(const fs::path& dir, sim::sim_config cfg);
  ~sim_host();
  sim_host(const sim_host&) = delete;
  sim_host& operator=(const sim_host&) = delete;

  sim::simulator& sim() { return *sim_; }
  unsigned short port() const { return port_; }
  const fs::path& ca_cert() const { return ca_cert_; }
  void stop();

 private:
  system_clock clock_;
  std::unique_ptr<sim::simulator> sim_;
  boost::asio::io_context ioc_{1};
  std::unique_ptr<sim::server> server_;
  std::thread thread_;
  unsigned short port_ = 0;
  fs::path ca_cert_;
};

// What a benchmark changes in the daemon's config beyond the scaling.
struct daemon_tuning {
  // × duration_scale: the built-in expected durations are off by this factor (a prior that
  // believes the provider 10× slower than it is: 10). Nothing else moves with it.
  double prior_factor = 1.0;
  // [polling] backlog_poll_worth_seconds before scaling (it is slot time, so provider time):
  // nullopt keeps the daemon's default, scaled.
  std::optional<double> backlog_poll_worth_s;
  // Set: [database] url (PostgreSQL) instead of vidq.db, and no [status] (SQLite only yet).
  std::string database_url;
};

// vidq.toml for one account of `tier` on `host`, with every daemon time constant that models
// provider behaviour scaled by `time_scale` (docs/PERFORMANCE.md "Scaling"). Also exports
// the account's key in key_env.
void write_scaled_config(const fs::path& file, const sim_host& host, const std::string& tier, double time_scale,
                         const daemon_tuning& tuning = {});

// One daemon account served by its own simulator key (the key must be in the simulator's
// sim_config.keys with the cap of `tier`).
struct bench_account {
  std::string name;  // the daemon's account name; jobs name it in their "account" field
  std::string key;   // the simulator key
  std::string tier = "V3";
};

// vidq.toml with one [[accounts]] table per entry of `accounts`, each reading its key from its
// own variable (account_key_env(name), exported here), and the same scaled [polling],
// [retry] and [status] as write_scaled_config.
void write_scaled_accounts_config(const fs::path& file, const sim_host& host,
                                  const std::vector<bench_account>& accounts, double time_scale,
                                  const daemon_tuning& tuning = {});

// The variable write_scaled_accounts_config exports an account's key in: key_env + "_" + the
// name upper-cased, anything but letters and digits as '_'.
std::string account_key_env(const std::string& account);

// The vidq binary the benchmarks run: $VIDQ_BENCH_BINARY (to compare two builds side by
// side), else the one built with them.
const char* vidq_binary();

// `vidq --config CONFIG ARGS`, output appended to `log`; the exit code.
int run_cli(const fs::path& config, const std::string& args, const fs::path& log);

// `vidq --config CONFIG run [extra]` in the background, stdout/stderr to `log`.
pid_t spawn_daemon(const fs::path& config, const fs::path& log, bool exit_when_idle);

// How a daemon started by spawn_daemon ended (wait4): its exit code (128 + signal when
// killed), user + system CPU seconds and peak RSS.
struct daemon_exit {
  int code = -1;
  double cpu_s = 0;
  long max_rss_kb = 0;
};
// Waits for `pid` to exit; after `give_up_after` ms it is killed (and says so on stderr).
daemon_exit wait_for_daemon(pid_t pid, millis give_up_after);

// User + system CPU seconds and resident memory of a live process, from /proc.
struct process_usage {
  double cpu_s = 0;
  long rss_kb = 0;   // VmRSS
  long peak_kb = 0;  // VmHWM
};
process_usage usage_of(pid_t pid);

// A read-only connection; each() calls `f` per row and exits the process on an SQL error.
class reader {
 public:
  explicit reader(const fs::path& db);
  ~reader();
  reader(const reader&) = delete;
  reader& operator=(const reader&) = delete;
  template <class F>
  void each(const char* sql, F&& f) {
    sqlite3_stmt* s = prepare(sql);
    while (sqlite3_step(s) == SQLITE_ROW) f(s);
    sqlite3_finalize(s);
  }
  std::int64_t scalar(const char* sql);
  // Every row, columns as text ("" for NULL): the same shape pg_bench_db::rows returns.
  std::vector<std::vector<std::string>> rows(const char* sql);

 private:
  sqlite3_stmt* prepare(const char* sql);
  sqlite3* db_ = nullptr;
};

std::string col(sqlite3_stmt* s, int i);

}  // namespace vidq::bench
