// Local trouble is a pause, never a failure or a second payment (issue 11 items 2, 4, 5),
// against the real daemon and the simulator: a full output disk (a real 2 MiB tmpfs), an
// operator holding the database's write lock, and a WAL deleted under a running daemon.
// Each judged by the simulator's stats (tasks created, per request_id) and the database.
#include "support/daemon_harness.hpp"
#include "vidq/store/sqlite.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <sched.h>
#include <sys/mount.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <regex>
#include <thread>

namespace vidq::test {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace http = boost::beast::http;
namespace json = boost::json;

std::int64_t count(const daemon_harness& h, const std::string& where) {
  return h.scalar("SELECT count(*) FROM jobs WHERE " + where);
}

std::int64_t sim_stat(daemon_harness& h, const char* name) {
  return h.sim().sim().stats(false).at(name).to_number<std::int64_t>();
}

std::size_t duplicate_request_ids(daemon_harness& h) {
  return h.sim().sim().stats(false).at("duplicate_request_ids").as_array().size();
}

std::uint16_t status_port(const daemon_harness& h) {
  std::smatch m;
  const std::string log = h.log_text();
  if (!std::regex_search(log, m, std::regex(R"(http://127\.0\.0\.1:([0-9]+)/)"))) return 0;
  return static_cast<std::uint16_t>(std::stoi(m[1]));
}

struct health_reply {
  unsigned status = 0;
  std::string body;
  std::chrono::milliseconds took{0};
};

health_reply get_healthz(std::uint16_t port) {
  const auto began = std::chrono::steady_clock::now();
  health_reply out;
  asio::io_context ioc;
  asio::ip::tcp::socket s(ioc);
  boost::system::error_code ec;
  s.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
  if (!ec) {
    http::request<http::string_body> req{http::verb::get, "/healthz", 11};
    req.set(http::field::host, "127.0.0.1");
    http::write(s, req, ec);
    boost::beast::flat_buffer buffer;
    http::response<http::string_body> res;
    if (!ec) http::read(s, buffer, res, ec);
    if (!ec) {
      out.status = res.result_int();
      out.body = res.body();
    }
  }
  out.took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - began);
  return out;
}

// ---- a full disk ----------------------------------------------------------------------

// A private mount namespace for this test process (the daemon, its child, inherits it),
// so the tmpfs is seen by nobody else and vanishes with the process at the latest.
std::string mount_small_tmpfs(const std::filesystem::path& at) {
  std::filesystem::create_directories(at);
  if (::unshare(CLONE_NEWNS) != 0) return std::string("unshare(CLONE_NEWNS): ") + std::strerror(errno);
  if (::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return std::string("mount --make-rprivate /: ") + std::strerror(errno);
  }
  if (::mount("tmpfs", at.c_str(), "tmpfs", 0, "size=2m") != 0) return std::string("mount tmpfs: ") + std::strerror(errno);
  return {};
}

TEST(DaemonLocalTrouble, AFullDiskPausesDownloadsAndAllSixSucceedOnceSpaceReturns) {
  daemon_settings settings;
  settings.output_extra = "min_free_mb = 0\n";  // the write failures alone pause here
  daemon_harness h(settings);
  if (const auto why = mount_small_tmpfs(h.output_dir()); !why.empty()) {
    GTEST_SKIP() << "needs CAP_SYS_ADMIN for a private 2 MiB tmpfs (" << why
                 << "); tests/component/scheduler_test.cpp covers the pause with a scripted ENOSPC";
  }
  struct unmount {
    std::filesystem::path at;
    ~unmount() { ::umount2(at.c_str(), MNT_DETACH); }
  } guard{h.output_dir()};
  // A filler leaves room for about two results (a video is ~20 KB, its cover ~10 KB).
  {
    std::ofstream filler(h.output_dir() / "filler", std::ios::binary);
    const std::string block(4096, 'x');
    while (filler.write(block.data(), block.size())) {
    }
  }
  std::filesystem::resize_file(h.output_dir() / "filler",
                               std::filesystem::file_size(h.output_dir() / "filler") - 64 * 1024);
  ASSERT_EQ(h.import_jobs(daemon_harness::jobs(6, "cogvideox-flash", "disk")).exit_code, 0);
  const pid_t pid = h.start();
  ASSERT_TRUE(wait_for([&] { return h.log_text().find("downloads_paused_for_disk") != std::string::npos; }, 60s))
      << h.log_text().substr(0, 4000);
  ASSERT_TRUE(wait_for([&] { return count(h, "state IN ('queued','submitting','processing')") == 0; }, 60s));
  std::this_thread::sleep_for(2s);  // a few pause looks with the disk still full
  EXPECT_EQ(count(h, "state = 'failed'"), 0) << "a full disk fails nothing";
  EXPECT_GT(count(h, "state = 'downloading'"), 0) << "some results must not fit (else the test proves nothing)";
  const auto paused_jobs = count(h, "state = 'downloading'");

  std::filesystem::remove(h.output_dir() / "filler");  // space returns
  const auto code = h.wait(pid, 90s);
  ASSERT_TRUE(code.has_value()) << "the paused downloads did not resume\n" << h.log_text().substr(0, 4000);
  EXPECT_EQ(*code, 0);
  EXPECT_EQ(count(h, "state = 'succeeded'"), 6);
  EXPECT_EQ(count(h, "attempts = 1"), 6) << "no attempt consumed by the disk";
  EXPECT_EQ(sim_stat(h, "tasks_created"), 6) << "exactly 6 tasks paid";
  EXPECT_EQ(h.verify_files(), "");
  EXPECT_NE(h.log_text().find("downloads_resumed"), std::string::npos);
  std::printf("[ figures ] tmpfs 2 MiB: %lld of 6 jobs paused on ENOSPC, all 6 succeeded after space returned, "
              "%lld tasks created\n",
              static_cast<long long>(paused_jobs), static_cast<long long>(sim_stat(h, "tasks_created")));
}

// ---- an operator's write lock ---------------------------------------------------------

TEST(DaemonLocalTrouble, AnOperatorsWriteLockLeavesHealthzFastAndLosesNothing) {
  // VIDQ_E2E_LOCK_SECONDS=30 reproduces the issue's figure by hand; CI holds it 5 s.
  int hold_s = 5;
  if (const char* s = std::getenv("VIDQ_E2E_LOCK_SECONDS")) hold_s = std::max(1, std::atoi(s));
  const int jobs = 100;
  daemon_harness h;
  ASSERT_EQ(h.import_jobs(daemon_harness::jobs(jobs, "cogvideox-flash", "locked")).exit_code, 0);
  const pid_t pid = h.start();
  ASSERT_TRUE(wait_for([&] { return status_port(h) != 0; }, 20s)) << h.log_text();
  const auto port = status_port(h);
  ASSERT_TRUE(wait_for([&] { return count(h, "state = 'succeeded'") >= 5; }, 60s));

  auto locker = store::database::open(h.db_path());
  ASSERT_TRUE(locker);
  ASSERT_TRUE(locker->exec("BEGIN IMMEDIATE")) << locker->last_error();
  const auto lock_began = std::chrono::steady_clock::now();
  std::chrono::milliseconds worst{0};
  int answered = 0;
  int degraded = 0;
  std::string last_body;
  while (std::chrono::steady_clock::now() - lock_began < std::chrono::seconds(hold_s)) {
    const auto r = get_healthz(port);
    EXPECT_EQ(r.status, 200u) << r.body;
    worst = std::max(worst, r.took);
    ++answered;
    if (r.body.find("\"degraded\"") != std::string::npos) {
      ++degraded;
      last_body = r.body;
    }
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(locker->exec("ROLLBACK"));
  EXPECT_LT(worst.count(), 200) << "every /healthz within 200 ms while the lock is held";
  EXPECT_GT(degraded, 0) << "healthz says degraded while the lock is held";
  EXPECT_NE(last_body.find("db_locked_ms"), std::string::npos) << last_body;

  const auto code = h.wait(pid, 180s);
  ASSERT_TRUE(code.has_value()) << h.log_text().substr(0, 3000);
  EXPECT_EQ(*code, 0);
  EXPECT_EQ(count(h, "state = 'succeeded'"), jobs) << "the run loses nothing";
  EXPECT_EQ(sim_stat(h, "tasks_created"), jobs) << "every task created once";
  EXPECT_EQ(duplicate_request_ids(h), 0u);
  std::printf("[ figures ] write lock held %d s during a %d-job run: %d /healthz answers, worst %lld ms, "
              "%d degraded; %d succeeded, %lld tasks created\n",
              hold_s, jobs, answered, static_cast<long long>(worst.count()), degraded, jobs,
              static_cast<long long>(sim_stat(h, "tasks_created")));
}

// ---- a deleted WAL --------------------------------------------------------------------

TEST(DaemonLocalTrouble, ADeletedWalStopsTheDaemonAndARestartPaysForNothingTwice) {
  const int jobs = 30;
  daemon_harness h;
  ASSERT_EQ(h.import_jobs(daemon_harness::jobs(jobs, "cogvideox-flash", "wal")).exit_code, 0);
  const pid_t pid = h.start();
  ASSERT_TRUE(wait_for([&] { return count(h, "state = 'succeeded'") >= 5; }, 60s)) << h.log_text().substr(0, 3000);
  ASSERT_TRUE(std::filesystem::remove(h.db_path() + "-wal"));
  const auto removed_at = std::chrono::steady_clock::now();
  const auto code = h.wait(pid, 20s);
  const auto exit_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - removed_at).count();
  ASSERT_TRUE(code.has_value()) << "the daemon kept running on a deleted WAL\n" << h.log_text().substr(0, 3000);
  EXPECT_EQ(*code, 6) << h.log_text().substr(0, 3000);
  EXPECT_NE(h.log_text().find("database_lost"), std::string::npos);
  const auto created_before = sim_stat(h, "tasks_created");

  const pid_t again = h.start();
  const auto code2 = h.wait(again, 120s);
  ASSERT_TRUE(code2.has_value()) << h.log_text().substr(0, 3000);
  EXPECT_EQ(*code2, 0) << h.log_text().substr(0, 3000);
  const auto created = sim_stat(h, "tasks_created");
  EXPECT_LE(created, jobs) << "a job whose task was forgotten would be submitted again with a new request_id";
  EXPECT_EQ(duplicate_request_ids(h), 0u);
  // Every task the provider created is known to the database: none is paid twice or lost.
  EXPECT_EQ(count(h, "task_id IS NOT NULL"), created);
  EXPECT_EQ(count(h, "state = 'succeeded'") + count(h, "state = 'failed' AND error_code = 'submit_ambiguous'"), jobs);
  EXPECT_EQ(h.text("SELECT 'x' || (SELECT integrity_check FROM pragma_integrity_check)"), "xok");
  std::printf("[ figures ] WAL deleted: exit %d after %lld ms; %lld tasks before, %lld after the restart for %d jobs; "
              "%lld succeeded\n",
              *code, static_cast<long long>(exit_ms), static_cast<long long>(created_before),
              static_cast<long long>(created), jobs, static_cast<long long>(count(h, "state = 'succeeded'")));
}

}  // namespace
}  // namespace vidq::test
