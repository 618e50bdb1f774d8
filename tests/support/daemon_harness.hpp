#pragma once
// End-to-end harness: the in-process simulator (real HTTPS on 127.0.0.1, real time scaled
// down) and the real `vidq` binary as a child process, configured against it. Tests drive
// the daemon the way an operator does (CLI, signals, sqlite3) and judge by the simulator's
// stats, the database and the files.
#include "support/sim_fixture.hpp"
#include "support/temp_dir.hpp"
#include "vidq/core/clock.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace vidq::test {

class pg_test_db;

inline constexpr const char* daemon_key_env = "VIDQ_E2E_API_KEY";
// A second account's key variable, and the simulator's V1 key tests put in it.
inline constexpr const char* second_key_env = "VIDQ_E2E_API_KEY_2";
inline constexpr const char* sim_v1 = "sim-key-v1-1111111111111111";

// One [[accounts]] table for daemon_settings::accounts_toml.
std::string account_toml(const std::string& name, const std::string& key_env, const std::string& tier,
                         const std::string& base_url = "@BASE_URL@");

// Polls `ready` every 10 ms until it holds or `timeout` passes; returns its last answer.
bool wait_for(const std::function<bool()>& ready, std::chrono::milliseconds timeout);

struct daemon_settings {
  std::string key = sim_v0;   // the simulator key the account uses
  double time_scale = 0.005;  // the simulator's; the daemon's duration_scale follows it
  std::string retry_extra;    // lines appended inside [retry] (e.g. "max_attempts = 2\n")
  std::string polling_extra;  // lines appended inside [polling]
  std::string account_extra;  // lines appended inside [[accounts]] (e.g. max_in_flight = 3)
  std::string output_extra;   // lines appended inside [output] (e.g. path_template = "...")
  std::string extra_toml;     // further tables appended to the config
  // Replaces the one generated [[accounts]] table ("default", V0, key from daemon_key_env)
  // when set; "@BASE_URL@" in it becomes the simulator's base URL, "@ORIGIN@" its
  // https://127.0.0.1:<port>.
  std::string accounts_toml;
  // Set: the daemons run on this PostgreSQL database ([database] url and lease_seconds)
  // instead of vidq.db, without a status server; queries and verify_files read it.
  pg_test_db* postgres = nullptr;
  double lease_seconds = 30;
};

class daemon_harness {
 public:
  explicit daemon_harness(daemon_settings settings = {}, sim::sim_config sim_cfg = sim_fixture::quiet_config());
  ~daemon_harness();

  sim_fixture& sim() { return sim_; }
  const std::filesystem::path& dir() const { return dir_.path(); }
  std::string db_path() const { return dir_.file("vidq.db"); }
  std::filesystem::path output_dir() const { return dir_.path() / "videos"; }
  std::string config_path() const { return dir_.file("vidq.toml"); }
  // "https://127.0.0.1:<port>/api/paas/v4"
  std::string base_url() const;
  // Rewrites the config with other settings (then SIGHUP a running daemon to apply them).
  void write_config(const daemon_settings& settings);

  // `vidq --config … <args>` with the key in the environment; output captured.
  command_result vidq(const std::string& args) const;
  // Writes `lines` (JSONL) to a file and imports it.
  command_result import_jobs(const std::vector<std::string>& lines) const;
  // n simple text-to-video jobs of `model` in `batch`, keys "<batch>-<i>".
  static std::vector<std::string> jobs(int n, const std::string& model, const std::string& batch,
                                       const std::string& extra_json = "");

  // Starts `vidq --config … run <args>`; its stderr (JSON log lines) goes to daemon-N.log.
  pid_t start(const std::string& args = "--exit-when-idle");
  // Waits for the child to exit; nullopt on timeout (the child is left running).
  std::optional<int> wait(pid_t pid, std::chrono::milliseconds timeout);
  void signal(pid_t pid, int signo);
  std::string log_text() const;  // every daemon log so far, concatenated

  // One value from the database (a fresh read-only connection per call).
  std::int64_t scalar(const std::string& sql) const;
  std::string text(const std::string& sql) const;
  // Every row, columns as text ("" for NULL).
  std::vector<std::vector<std::string>> rows(const std::string& sql) const;

  // Every succeeded job's file exists, its size and SHA-256 match the row and the
  // simulator's task with that request_id, and no .part is left. Returns a failure
  // description, or "" when everything verifies.
  std::string verify_files();

 private:
  system_clock clock_;
  sim_fixture sim_;
  temp_dir dir_;
  daemon_settings settings_;
  std::vector<pid_t> children_;
  int started_ = 0;
};

}  // namespace vidq::test
