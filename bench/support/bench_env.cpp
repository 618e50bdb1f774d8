#include "support/bench_env.hpp"

#include "vidq/net/tls_identity.hpp"
#include "vidq/ops/config.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <ostream>
#include <sstream>
#include <thread>

namespace vidq::bench {

millis wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string key_of_tier(const std::string& tier) {
  for (const auto& k : sim::default_sim_config().keys)
    if (k.cap == sim::cap_of_tier(tier) && k.balance == std::nullopt && k.name == "v" + tier.substr(1)) return k.key;
  return {};
}

sim_host::sim_host(const fs::path& dir, sim::sim_config cfg) {
  auto id = net::ensure_tls_identity(dir / "tls");
  if (!id) {
    std::fprintf(stderr, "tls identity: %s\n", id.error().message().c_str());
    std::exit(1);
  }
  ca_cert_ = id->ca_cert;
  auto tls = sim::make_server_tls(*id);
  if (!tls) std::exit(1);
  sim_ = std::make_unique<sim::simulator>(std::move(cfg), clock_);
  auto srv = sim::server::listen(ioc_, *sim_, *tls, *sim::parse_listen("127.0.0.1:0"));
  if (!srv) {
    std::fprintf(stderr, "simulator listen: %s\n", srv.error().message().c_str());
    std::exit(1);
  }
  server_ = std::move(*srv);
  port_ = server_->port();
  server_->start();
  thread_ = std::thread([this] { ioc_.run(); });
}

void sim_host::stop() {
  if (!thread_.joinable()) return;
  server_->stop();
  thread_.join();
}

sim_host::~sim_host() { stop(); }

namespace {

// [database], [output] and [tls]: what every benchmark's vidq.toml opens with.
void write_head(std::ostream& toml, const sim_host& host, const daemon_tuning& tuning) {
  if (tuning.database_url.empty()) {
    toml << "[database]\npath = \"vidq.db\"\n";
  } else {
    toml << "[database]\nurl = \"" << tuning.database_url << "\"\n";
  }
  toml << "[output]\ndir = \"videos\"\n"
       << "[tls]\nca_file = \"" << host.ca_cert().string() << "\"\n";
}

void write_account(std::ostream& toml, const sim_host& host, const std::string& name, const std::string& env,
                   const std::string& tier) {
  toml << "[[accounts]]\nname = \"" << name << "\"\nprovider = \"bigmodel\"\n"
       << "base_url = \"https://127.0.0.1:" << host.port() << "/api/paas/v4\"\n"
       << "api_key_env = \"" << env << "\"\ntier = \"" << tier << "\"\n";
}

// [polling], [retry] and [status]: every daemon time constant that models provider
// behaviour, scaled by `ts` (docs/PERFORMANCE.md "Scaling").
void write_scaled_tail(std::ostream& toml, double ts, const daemon_tuning& tuning) {
  toml << "[polling]\nduration_scale = " << ts * tuning.prior_factor << "\n"
       << "min_interval_seconds = " << std::max(0.001, 2.0 * ts) << "\n"
       << "max_interval_seconds = " << std::max(0.01, 60.0 * ts) << "\n"
       << "deadline_min_seconds = " << std::max(1.0, 900.0 * ts) << "\n"
       << "requests_per_second = " << 10.0 / ts << "\n"
       << "budget_window_seconds = " << std::max(0.001, ts) << "\n"
       << "backlog_poll_worth_seconds = "
       << tuning.backlog_poll_worth_s.value_or(ops::polling_config{}.backlog_poll_worth_ms / 1000.0) * ts << "\n"
       << "[retry]\nbase_delay_seconds = " << std::max(0.01, 2.0 * ts) << "\n"
       << "max_delay_seconds = " << std::max(0.01, 300.0 * ts) << "\n"
       << (tuning.database_url.empty() ? "[status]\nlisten = \"127.0.0.1:0\"\n" : "");
}

}  // namespace

void write_scaled_config(const fs::path& file, const sim_host& host, const std::string& tier, double ts,
                         const daemon_tuning& tuning) {
  std::ofstream toml(file);
  write_head(toml, host, tuning);
  write_account(toml, host, "default", key_env, tier);
  write_scaled_tail(toml, ts, tuning);
  ::setenv(key_env, key_of_tier(tier).c_str(), 1);
}

void write_scaled_accounts_config(const fs::path& file, const sim_host& host,
                                  const std::vector<bench_account>& accounts, double ts, const daemon_tuning& tuning) {
  std::ofstream toml(file);
  write_head(toml, host, tuning);
  for (const auto& a : accounts) {
    const std::string env = account_key_env(a.name);
    write_account(toml, host, a.name, env, a.tier);
    ::setenv(env.c_str(), a.key.c_str(), 1);
  }
  write_scaled_tail(toml, ts, tuning);
}

std::string account_key_env(const std::string& account) {
  std::string env = std::string(key_env) + "_";
  for (const char c : account) {
    const auto u = static_cast<unsigned char>(c);
    env += std::isalnum(u) ? static_cast<char>(std::toupper(u)) : '_';
  }
  return env;
}

const char* vidq_binary() {
  const char* chosen = std::getenv("VIDQ_BENCH_BINARY");
  return chosen != nullptr && *chosen != '\0' ? chosen : VIDQ_BINARY;
}

int run_cli(const fs::path& config, const std::string& args, const fs::path& log) {
  const std::string cmd =
      std::string(vidq_binary()) + " --config " + config.string() + " " + args + " >>" + log.string() + " 2>&1";
  const int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

pid_t spawn_daemon(const fs::path& config, const fs::path& log, bool exit_when_idle) {
  const pid_t pid = ::fork();
  if (pid < 0) std::exit(1);
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, STDERR_FILENO);
      ::dup2(fd, STDOUT_FILENO);
    }
    if (exit_when_idle) {
      ::execl(vidq_binary(), "vidq", "--config", config.c_str(), "run", "--exit-when-idle", static_cast<char*>(nullptr));
    } else {
      ::execl(vidq_binary(), "vidq", "--config", config.c_str(), "run", static_cast<char*>(nullptr));
    }
    ::_exit(127);
  }
  return pid;
}

daemon_exit wait_for_daemon(pid_t pid, millis give_up_after) {
  rusage ru{};
  int status = 0;
  const millis give_up = wall_ms() + give_up_after;
  for (;;) {
    if (::wait4(pid, &status, WNOHANG, &ru) == pid) break;
    if (wall_ms() > give_up) {
      std::fprintf(stderr, "the daemon still runs after %lld s; killing it\n", static_cast<long long>(give_up_after / 1000));
      ::kill(pid, SIGKILL);
      ::wait4(pid, &status, 0, &ru);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  daemon_exit out;
  out.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  out.cpu_s = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
              static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  out.max_rss_kb = ru.ru_maxrss;
  return out;
}

process_usage usage_of(pid_t pid) {
  process_usage u;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // Fields after the command name, which is in parentheses and may hold spaces.
  if (const auto close = text.rfind(')'); close != std::string::npos) {
    std::istringstream rest(text.substr(close + 2));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i == 14) utime = std::stoull(field);
      if (i == 15) stime = std::stoull(field);
    }
    u.cpu_s = static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
  }
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) u.rss_kb = std::atol(line.c_str() + 6);
    if (line.rfind("VmHWM:", 0) == 0) u.peak_kb = std::atol(line.c_str() + 6);
  }
  return u;
}

reader::reader(const fs::path& db) {
  if (sqlite3_open_v2(db.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    std::fprintf(stderr, "cannot open %s\n", db.c_str());
    std::exit(1);
  }
  sqlite3_busy_timeout(db_, 5'000);
}

reader::~reader() { sqlite3_close(db_); }

sqlite3_stmt* reader::prepare(const char* sql) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_, sql, -1, &s, nullptr) != SQLITE_OK) {
    std::fprintf(stderr, "query failed: %s: %s\n", sql, sqlite3_errmsg(db_));
    std::exit(1);
  }
  return s;
}

std::int64_t reader::scalar(const char* sql) {
  sqlite3_stmt* s = prepare(sql);
  const std::int64_t v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
  sqlite3_finalize(s);
  return v;
}

std::vector<std::vector<std::string>> reader::rows(const char* sql) {
  std::vector<std::vector<std::string>> out;
  each(sql, [&](sqlite3_stmt* s) {
    auto& row = out.emplace_back();
    for (int i = 0; i < sqlite3_column_count(s); ++i) row.push_back(col(s, i));
  });
  return out;
}

std::string col(sqlite3_stmt* s, int i) {
  const auto* t = sqlite3_column_text(s, i);
  return t ? reinterpret_cast<const char*>(t) : "";
}

}  // namespace vidq::bench
