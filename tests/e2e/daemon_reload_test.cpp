// SIGHUP reloads against the real binary (issue 12 #5, #6): every key takes effect or the
// reload is refused naming it; an empty file keeps the running accounts; core dumps are off.
#include "support/daemon_harness.hpp"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <csignal>
#include <fstream>
#include <regex>
#include <thread>

namespace vidq::test {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace http = boost::beast::http;

bool logged(const daemon_harness& h, const std::string& what) { return h.log_text().find(what) != std::string::npos; }

void rewrite_config(const daemon_harness& h, const std::string& from, const std::string& to) {
  std::string text = read_file(h.config_path());
  const auto at = text.find(from);
  ASSERT_NE(at, std::string::npos) << from;
  text.replace(at, from.size(), to);
  write_file(h.config_path(), text);
}

// Starts the daemon and waits until it is ready; the harness kills it at the end.
pid_t start_ready(daemon_harness& h) {
  const pid_t pid = h.start("");
  EXPECT_TRUE(wait_for([&] { return logged(h, "daemon_ready"); }, 20s)) << h.log_text();
  return pid;
}

// Sends SIGHUP and waits for the n-th reload outcome line (config_reloaded or _failed).
void reload(daemon_harness& h, pid_t pid, int nth) {
  h.signal(pid, SIGHUP);
  const auto outcomes = [&] {
    const std::string log = h.log_text();
    int n = 0;
    for (const char* what : {"\"config_reloaded\"", "\"config_reload_failed\""}) {
      for (auto at = log.find(what); at != std::string::npos; at = log.find(what, at + 1)) ++n;
    }
    return n;
  };
  ASSERT_TRUE(wait_for([&] { return outcomes() >= nth; }, 10s)) << h.log_text();
}

TEST(DaemonReload, AnEmptyConfigIsRefusedAndTheAccountsKeepWorking) {
  daemon_harness h;
  const pid_t pid = start_ready(h);
  const std::string good = read_file(h.config_path());
  write_file(h.config_path(), "");
  reload(h, pid, 1);
  EXPECT_TRUE(logged(h, "declares no [[accounts]]")) << h.log_text();
  EXPECT_FALSE(logged(h, "\"config_reloaded\"")) << h.log_text();
  write_file(h.config_path(), good);
  ASSERT_EQ(h.import_jobs(daemon_harness::jobs(1, "cogvideox-flash", "after")).exit_code, 0);
  EXPECT_TRUE(wait_for([&] { return h.scalar("SELECT count(*) FROM jobs WHERE state = 'succeeded'") == 1; }, 30s))
      << h.log_text();
}

TEST(DaemonReload, ANewOutputDirIsUsedForWriting) {
  daemon_harness h;
  const pid_t pid = start_ready(h);
  rewrite_config(h, "dir = \"videos\"", "dir = \"videos2\"");
  reload(h, pid, 1);
  ASSERT_TRUE(logged(h, "\"config_reloaded\"")) << h.log_text();
  ASSERT_EQ(h.import_jobs(daemon_harness::jobs(1, "cogvideox-flash", "moved")).exit_code, 0);
  ASSERT_TRUE(wait_for([&] { return h.scalar("SELECT count(*) FROM jobs WHERE state = 'succeeded'") == 1; }, 30s))
      << h.log_text();
  const std::string video = h.text("SELECT video_path FROM jobs");
  EXPECT_NE(video.find("videos2"), std::string::npos) << video;
  EXPECT_TRUE(std::filesystem::exists(h.dir() / "videos2" / "moved")) << video;
  EXPECT_FALSE(std::filesystem::exists(h.dir() / "videos" / "moved")) << video;
}

TEST(DaemonReload, AKeyThatNeedsARestartIsNamed) {
  daemon_harness h;
  const pid_t pid = start_ready(h);
  rewrite_config(h, "ca_file = \"", "ca_file = \"/nonexistent/");
  reload(h, pid, 1);
  EXPECT_TRUE(logged(h, "[tls] ca_file changed; it needs a restart")) << h.log_text();
  rewrite_config(h, "ca_file = \"/nonexistent/", "ca_file = \"");
  rewrite_config(h, "listen = \"127.0.0.1:0\"", "listen = \"127.0.0.1:1\"");
  reload(h, pid, 2);
  EXPECT_TRUE(logged(h, "[status] listen changed; it needs a restart")) << h.log_text();
}

unsigned status_code(std::uint16_t port, http::verb method, const std::string& target, const std::string& bearer) {
  asio::io_context ioc;
  asio::ip::tcp::socket s(ioc);
  s.connect({asio::ip::make_address("127.0.0.1"), port});
  http::request<http::string_body> req{method, target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::authorization, "Bearer " + bearer);
  req.prepare_payload();
  http::write(s, req);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(s, buffer, res);
  return res.result_int();
}

TEST(DaemonReload, TheStatusTokenIsReadAgain) {
  const std::string first = "first-token-0123456789";
  const std::string second = "second-token-0123456789";
  daemon_settings settings;
  settings.extra_toml = "token_file = \"status.token\"\n";  // inside [status], the harness's last table
  daemon_harness h(settings);
  write_file(h.dir() / "status.token", first + "\n");
  const pid_t pid = start_ready(h);
  std::smatch m;
  const std::string log = h.log_text();
  ASSERT_TRUE(std::regex_search(log, m, std::regex(R"(http://127\.0\.0\.1:([0-9]+)/)"))) << log;
  const auto port = static_cast<std::uint16_t>(std::stoi(m[1]));
  EXPECT_EQ(status_code(port, http::verb::post, "/api/accounts/default/pause", first), 200u);
  write_file(h.dir() / "status.token", second + "\n");
  reload(h, pid, 1);
  ASSERT_TRUE(logged(h, "\"config_reloaded\"")) << h.log_text();
  EXPECT_EQ(status_code(port, http::verb::post, "/api/accounts/default/resume", first), 401u);
  EXPECT_EQ(status_code(port, http::verb::post, "/api/accounts/default/resume", second), 200u);
  // A token that no longer loads refuses the reload and keeps the one in use.
  write_file(h.dir() / "status.token", "short\n");
  reload(h, pid, 2);
  EXPECT_TRUE(logged(h, "[status] token: must be at least 16 characters")) << h.log_text();
  EXPECT_EQ(status_code(port, http::verb::post, "/api/accounts/default/pause", second), 200u);
}

// Issue 12 #5: the daemon holds API keys, so it runs without core dumps.
TEST(DaemonReload, TheDaemonRunsWithoutCoreDumps) {
  daemon_harness h;
  const pid_t pid = start_ready(h);
  std::ifstream limits("/proc/" + std::to_string(pid) + "/limits");
  std::string line;
  bool found = false;
  while (std::getline(limits, line)) {
    if (line.rfind("Max core file size", 0) != 0) continue;
    found = true;
    EXPECT_TRUE(std::regex_search(line, std::regex(R"(size\s+0\s+0\s)"))) << line;
  }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace vidq::test
