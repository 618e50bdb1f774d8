#include "vidq/ops/sd_notify.hpp"

#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

namespace vidq::ops {
namespace {

// Sets (or unsets) an environment variable for one test and puts the old value back: the
// functions under test read the process environment, and the next test must not inherit it.
class env_guard {
 public:
  env_guard(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) ::setenv(name, value, 1);
    else ::unsetenv(name);
  }
  ~env_guard() {
    if (old_) ::setenv(name_.c_str(), old_->c_str(), 1);
    else ::unsetenv(name_.c_str());
  }
  env_guard(const env_guard&) = delete;
  env_guard& operator=(const env_guard&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

// What systemd does for a Type=notify unit: a unix datagram socket whose path is passed to
// the service in $NOTIFY_SOCKET.
class fake_service_manager {
 public:
  fake_service_manager() : path_(dir_.file("notify")) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    EXPECT_GE(fd_, 0) << std::strerror(errno);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path_.size() >= sizeof(addr.sun_path)) {
      ADD_FAILURE() << "temp dir path too long for a unix socket: " << path_;
      return;
    }
    std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)), 0) << std::strerror(errno);
  }
  ~fake_service_manager() { ::close(fd_); }
  fake_service_manager(const fake_service_manager&) = delete;
  fake_service_manager& operator=(const fake_service_manager&) = delete;

  const std::string& path() const { return path_; }

  // sd_notify sends synchronously, so a datagram is either queued already or never comes:
  // a non-blocking read needs no timeout and never sleeps.
  std::optional<std::string> next() {
    char buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof(buf), MSG_DONTWAIT);
    if (n < 0) return std::nullopt;
    return std::string(buf, static_cast<std::size_t>(n));
  }

 private:
  test::temp_dir dir_;
  std::string path_;
  int fd_ = -1;
};

TEST(SdNotify, EveryCallIsANoOpOutsideSystemd) {
  env_guard notify_socket("NOTIFY_SOCKET", nullptr);
  env_guard usec("WATCHDOG_USEC", nullptr);
  env_guard pid("WATCHDOG_PID", nullptr);
  EXPECT_FALSE(notify_ready());
  EXPECT_FALSE(notify_reloading());
  EXPECT_FALSE(notify_stopping());
  EXPECT_FALSE(notify_watchdog());
  EXPECT_FALSE(notify_status("12 in flight, 340 queued"));
  EXPECT_EQ(watchdog_interval(), std::nullopt);
}

TEST(SdNotify, SendsEachMessageAsOneDatagram) {
  fake_service_manager manager;
  env_guard notify_socket("NOTIFY_SOCKET", manager.path().c_str());

  EXPECT_TRUE(notify_ready());
  EXPECT_EQ(manager.next(), "READY=1");
  EXPECT_TRUE(notify_watchdog());
  EXPECT_EQ(manager.next(), "WATCHDOG=1");
  EXPECT_TRUE(notify_status("12 in flight, 340 queued"));
  EXPECT_EQ(manager.next(), "STATUS=12 in flight, 340 queued");
  EXPECT_TRUE(notify_reloading());
  EXPECT_EQ(manager.next(), "RELOADING=1");
  EXPECT_TRUE(notify_stopping());
  EXPECT_EQ(manager.next(), "STOPPING=1");
  EXPECT_EQ(manager.next(), std::nullopt);

  // The daemon notifies for its whole life: the socket variable must survive the calls.
  ASSERT_NE(std::getenv("NOTIFY_SOCKET"), nullptr);
  EXPECT_EQ(std::string(std::getenv("NOTIFY_SOCKET")), manager.path());
}

TEST(SdNotify, StatusCannotSmuggleASecondAssignment) {
  fake_service_manager manager;
  env_guard notify_socket("NOTIFY_SOCKET", manager.path().c_str());
  EXPECT_TRUE(notify_status("paused\nREADY=1\r\nSTOPPING=1"));
  EXPECT_EQ(manager.next(), "STATUS=paused READY=1  STOPPING=1");
  EXPECT_TRUE(notify_status(""));
  EXPECT_EQ(manager.next(), "STATUS=");
}

TEST(SdNotify, SendFailureIsReportedNotThrown) {
  test::temp_dir dir;
  env_guard notify_socket("NOTIFY_SOCKET", dir.file("nobody-listens").c_str());
  EXPECT_FALSE(notify_ready());
  EXPECT_FALSE(notify_watchdog());
}

TEST(SdNotify, WatchdogIntervalComesFromWatchdogUsec) {
  const std::string self = std::to_string(::getpid());
  env_guard usec("WATCHDOG_USEC", "30000000");  // WatchdogSec=30
  {
    env_guard pid("WATCHDOG_PID", self.c_str());
    EXPECT_EQ(watchdog_interval(), 30'000);
  }
  {
    // Without WATCHDOG_PID the watchdog is ours (older managers do not set it).
    env_guard pid("WATCHDOG_PID", nullptr);
    EXPECT_EQ(watchdog_interval(), 30'000);
  }
  {
    // Inherited by a child (e.g. a hook script): not addressed to this process.
    const std::string other = std::to_string(::getpid() + 1);
    env_guard pid("WATCHDOG_PID", other.c_str());
    EXPECT_EQ(watchdog_interval(), std::nullopt);
  }
}

TEST(SdNotify, WatchdogIntervalRejectsNonsenseAndRoundsUp) {
  env_guard pid("WATCHDOG_PID", nullptr);
  {
    env_guard usec("WATCHDOG_USEC", "1500");
    EXPECT_EQ(watchdog_interval(), 2);
  }
  {
    env_guard usec("WATCHDOG_USEC", "0");
    EXPECT_EQ(watchdog_interval(), std::nullopt);
  }
  {
    env_guard usec("WATCHDOG_USEC", "soon");
    EXPECT_EQ(watchdog_interval(), std::nullopt);
  }
  {
    env_guard usec("WATCHDOG_USEC", nullptr);
    EXPECT_EQ(watchdog_interval(), std::nullopt);
  }
}

}  // namespace
}  // namespace vidq::ops
