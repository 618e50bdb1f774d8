// Plays systemd's side of Type=notify for one command: binds a datagram socket, starts the
// command with NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID set as systemd sets them, and
// checks the protocol the unit file relies on: READY=1 once started, WATCHDOG=1 well within
// the period, RELOADING=1 then READY=1 around SIGHUP, STOPPING=1 after SIGTERM, exit 0.
// A container has no systemd as PID 1, so this is how CI sees the daemon's notifications.
//
//   notify_harness WATCHDOG_MS -- COMMAND [ARGS...]
// Prints every datagram with its time; exits 0 when the protocol held, 1 otherwise.

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

namespace {

using steady = std::chrono::steady_clock;

long ms_since(steady::time_point t0) {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - t0).count());
}

struct event {
  long at_ms;
  std::string text;
};

bool check(bool ok, const std::string& what) {
  std::printf("%s: %s\n", ok ? "ok" : "FAIL", what.c_str());
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4 || std::strcmp(argv[2], "--") != 0) {
    std::fprintf(stderr, "usage: notify_harness WATCHDOG_MS -- COMMAND [ARGS...]\n");
    return 2;
  }
  const long watchdog_ms = std::atol(argv[1]);
  char dir_template[] = "/tmp/vidq-notify-XXXXXX";
  if (!::mkdtemp(dir_template)) return 2;
  const std::string dir = dir_template;
  const std::string path = dir + "/notify";

  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (fd < 0 || ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    std::perror("notify socket");
    return 2;
  }

  const auto t0 = steady::now();
  const pid_t child = ::fork();
  if (child == 0) {
    // WATCHDOG_PID names the process that must ping: the one systemd started.
    ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
    ::setenv("WATCHDOG_USEC", std::to_string(watchdog_ms * 1000).c_str(), 1);
    ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
    ::execv(argv[3], argv + 3);
    std::perror("exec");
    ::_exit(127);
  }

  // Timeline: READY=1 -> wait 3 watchdog periods -> SIGHUP -> 1 period -> SIGTERM.
  std::vector<event> events;
  long ready_at = -1, hup_at = -1, term_at = -1;
  int status = 0;
  bool exited = false;
  const long deadline_ms = 60'000;
  while (!exited && ms_since(t0) < deadline_ms) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) > 0) {
      char buf[4096];
      const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n > 0) {
        events.push_back({ms_since(t0), std::string(buf, static_cast<std::size_t>(n))});
        std::printf("%6ld ms  %s\n", events.back().at_ms, events.back().text.c_str());
        if (events.back().text == "READY=1" && ready_at < 0) ready_at = events.back().at_ms;
      }
    }
    const long now = ms_since(t0);
    if (ready_at >= 0 && hup_at < 0 && now > ready_at + 3 * watchdog_ms) {
      hup_at = now;
      std::printf("%6ld ms  -- SIGHUP\n", now);
      ::kill(child, SIGHUP);
    }
    if (hup_at >= 0 && term_at < 0 && now > hup_at + watchdog_ms) {
      term_at = now;
      std::printf("%6ld ms  -- SIGTERM\n", now);
      ::kill(child, SIGTERM);
    }
    if (::waitpid(child, &status, WNOHANG) == child) exited = true;
  }
  if (!exited) {
    ::kill(child, SIGKILL);
    ::waitpid(child, &status, 0);
  }
  ::close(fd);
  std::filesystem::remove_all(dir);

  bool ok = check(exited, "the command exited within 60 s");
  ok &= check(ready_at >= 0, "READY=1 was sent");
  // Gaps between pings (and from READY=1 to the first) must stay under the period, or
  // systemd would kill the daemon: the daemon aims at half of it.
  long worst_gap = -1, pings = 0, last = ready_at;
  bool reloading = false, ready_after_reload = false, stopping = false;
  for (const auto& e : events) {
    if (e.text == "WATCHDOG=1") {
      ++pings;
      if (last >= 0) worst_gap = std::max(worst_gap, e.at_ms - last);
      last = e.at_ms;
    }
    if (hup_at >= 0 && e.at_ms >= hup_at && e.text == "RELOADING=1") reloading = true;
    if (reloading && e.text == "READY=1") ready_after_reload = true;
    if (term_at >= 0 && e.at_ms >= term_at && e.text == "STOPPING=1") stopping = true;
  }
  ok &= check(pings >= 3, "WATCHDOG=1 was sent repeatedly (" + std::to_string(pings) + " pings)");
  ok &= check(worst_gap >= 0 && worst_gap < watchdog_ms,
              "the longest gap between pings (" + std::to_string(worst_gap) + " ms) is under the period (" +
                  std::to_string(watchdog_ms) + " ms)");
  ok &= check(reloading && ready_after_reload, "SIGHUP: RELOADING=1, then READY=1");
  ok &= check(stopping, "SIGTERM: STOPPING=1");
  ok &= check(exited && WIFEXITED(status) && WEXITSTATUS(status) == 0, "exit status 0 after SIGTERM");
  return ok ? 0 : 1;
}
