#include "support/daemon_harness.hpp"

#include "support/pg_test_db.hpp"

#include "vidq/net/sha256.hpp"
#include "vidq/store/sqlite.hpp"

#include <boost/json.hpp>

#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace vidq::test {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

std::string file_sha256(const fs::path& p) {
  return net::sha256_hex(read_file(p));
}

}  // namespace

std::string account_toml(const std::string& name, const std::string& key_env, const std::string& tier,
                         const std::string& base_url) {
  return "[[accounts]]\nname = \"" + name + "\"\nbase_url = \"" + base_url + "\"\napi_key_env = \"" + key_env +
         "\"\ntier = \"" + tier + "\"\n";
}

bool wait_for(const std::function<bool()>& ready, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (ready()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return ready();
}

daemon_harness::daemon_harness(daemon_settings settings, sim::sim_config sim_cfg)
    : sim_(clock_, [&] {
        sim_cfg.time_scale = settings.time_scale;
        return std::move(sim_cfg);
      }()),
      settings_(std::move(settings)) {
  ::setenv(daemon_key_env, settings_.key.c_str(), 1);
  write_config(settings_);
}

std::string daemon_harness::base_url() const {
  return "https://127.0.0.1:" + std::to_string(sim_.port()) + "/api/paas/v4";
}

void daemon_harness::write_config(const daemon_settings& settings) {
  settings_ = settings;
  const double scale = settings_.time_scale;
  std::string accounts = settings_.accounts_toml;
  if (accounts.empty()) {
    accounts = "[[accounts]]\nname = \"default\"\nprovider = \"bigmodel\"\nbase_url = \"@BASE_URL@\"\n"
               "api_key_env = \"" + std::string(daemon_key_env) + "\"\ntier = \"V0\"\n" + settings_.account_extra;
  }
  const auto substitute = [&](const std::string& name, const std::string& value) {
    for (auto at = accounts.find(name); at != std::string::npos; at = accounts.find(name)) accounts.replace(at, name.size(), value);
  };
  substitute("@BASE_URL@", base_url());
  substitute("@ORIGIN@", "https://127.0.0.1:" + std::to_string(sim_.port()));
  std::ostringstream toml;
  if (settings_.postgres) {
    toml << "[database]\nurl = \"" << settings_.postgres->conninfo() << "\"\nlease_seconds = " << settings_.lease_seconds
         << "\n";
  } else {
    toml << "[database]\npath = \"vidq.db\"\n";
  }
  toml << "[output]\ndir = \"videos\"\n" << settings_.output_extra << "\n"
       << "[tls]\nca_file = \"" << sim_.ca_file().string() << "\"\n"
       << accounts << "\n"
       << "[polling]\nduration_scale = " << scale << "\nmin_interval_seconds = 0.1\nmax_interval_seconds = 1.0\n"
       << "requests_per_second = 500.0\n"
       << settings_.polling_extra << "\n"
       << "[retry]\nbase_delay_seconds = 0.05\nmax_delay_seconds = 1.0\n"
       << settings_.retry_extra << "\n"
       << "[status]\nlisten = \"127.0.0.1:0\"\n"  // a port each: several daemons may run at once
       << settings_.extra_toml << "\n";
  write_file(config_path(), toml.str());
}

daemon_harness::~daemon_harness() {
  for (pid_t pid : children_) {
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
  }
}

command_result daemon_harness::vidq(const std::string& args) const {
  return run_command(std::string(VIDQ_BINARY) + " --config " + config_path() + " " + args);
}

command_result daemon_harness::import_jobs(const std::vector<std::string>& lines) const {
  static int n = 0;
  const auto file = dir_.path() / ("jobs-" + std::to_string(++n) + ".jsonl");
  std::string body;
  for (const auto& l : lines) body += l + "\n";
  write_file(file, body);
  return vidq("import " + file.string());
}

std::vector<std::string> daemon_harness::jobs(int n, const std::string& model, const std::string& batch,
                                              const std::string& extra_json) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    out.push_back(R"({"key":")" + batch + "-" + std::to_string(i) + R"(","batch":")" + batch + R"(","model":")" +
                  model + R"(","prompt":"a red sneaker rotating on a white table, shot )" + std::to_string(i) + "\"" +
                  extra_json + "}");
  }
  return out;
}

pid_t daemon_harness::start(const std::string& args) {
  const auto log = dir_.path() / ("daemon-" + std::to_string(++started_) + ".log");
  const std::string cmd = std::string("exec ") + VIDQ_BINARY + " --config " + config_path() + " run " + args;
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork");
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, STDERR_FILENO);
      ::dup2(fd, STDOUT_FILENO);
    }
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  children_.push_back(pid);
  return pid;
}

std::optional<int> daemon_harness::wait(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      std::erase(children_, pid);
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      return 128 + WTERMSIG(status);
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void daemon_harness::signal(pid_t pid, int signo) { ::kill(pid, signo); }

std::string daemon_harness::log_text() const {
  std::string all;
  for (int i = 1; i <= started_; ++i) {
    const auto p = dir_.path() / ("daemon-" + std::to_string(i) + ".log");
    if (fs::exists(p)) all += read_file(p);
  }
  return all;
}

std::int64_t daemon_harness::scalar(const std::string& sql) const {
  const std::string value = text(sql);
  return value.empty() ? 0 : std::stoll(value);
}

std::string daemon_harness::text(const std::string& sql) const {
  auto r = rows(sql);
  if (r.empty() || r[0].empty()) throw std::runtime_error("no row: " + sql);
  return r[0][0];
}

std::vector<std::vector<std::string>> daemon_harness::rows(const std::string& sql) const {
  if (settings_.postgres) return settings_.postgres->rows(sql);
  auto db = store::database::open(db_path(), {.create = false});
  if (!db) throw std::runtime_error("open db");
  auto s = db->prepare(sql);
  if (!s) throw std::runtime_error("query: " + sql);
  std::vector<std::vector<std::string>> out;
  auto each = s->for_each_row([&](const store::statement& r) {
    auto& row = out.emplace_back();
    for (int i = 0; i < r.column_count(); ++i) row.push_back(r.is_null(i) ? std::string() : r.get_text(i));
  });
  if (!each) throw std::runtime_error("query: " + sql);
  return out;
}

std::string daemon_harness::verify_files() {
  std::map<std::string, std::string> sim_sha;  // request_id → sha256
  const auto stats = sim_.sim().stats(true);
  for (const auto& t : stats.at("tasks").as_array()) {
    const auto& o = t.as_object();
    if (o.at("video_sha256").is_string()) sim_sha[std::string(o.at("request_id").as_string())] = o.at("video_sha256").as_string();
  }
  std::string problems;
  for (const auto& r : rows("SELECT id, request_id, video_path, video_bytes, video_sha256 FROM jobs "
                            "WHERE state = 'succeeded'")) {
    const auto& id = r[0];
    const fs::path path = r[2];
    if (!fs::exists(path)) {
      problems += "job " + id + ": missing " + path.string() + "\n";
      continue;
    }
    const auto sha = file_sha256(path);
    if (sha != r[4]) problems += "job " + id + ": sha256 differs from the row\n";
    if (std::to_string(fs::file_size(path)) != r[3]) problems += "job " + id + ": size differs\n";
    auto it = sim_sha.find(r[1]);
    if (it == sim_sha.end()) {
      problems += "job " + id + ": the simulator has no finished task for its request_id\n";
    } else if (it->second != sha) {
      problems += "job " + id + ": sha256 differs from the simulator's\n";
    }
  }
  if (fs::exists(output_dir())) {
    for (const auto& e : fs::recursive_directory_iterator(output_dir())) {
      if (e.path().extension() == ".part") problems += "left behind: " + e.path().string() + "\n";
    }
  }
  return problems;
}

}  // namespace vidq::test
