// Command targets: argv as a child process, the notice on stdin, waited for through a
// pidfd on the io_context so the loop never blocks on the child.
#include "vidq/notify/transport.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace vidq::notify {

namespace asio = boost::asio;

namespace {

// Shared with the timeout handler, which may run after the coroutine frame is gone.
struct child_state {
  explicit child_state(const asio::any_io_executor& ex) : input(ex), output(ex), exited(ex) {}
  asio::posix::stream_descriptor input;   // our end of the child's stdin
  asio::posix::stream_descriptor output;  // our end of its stdout + stderr
  asio::posix::stream_descriptor exited;  // pidfd: readable once the child has exited
  pid_t pid = -1;
  bool timed_out = false;
};

std::vector<std::string> child_environment(const std::vector<std::pair<std::string, std::string>>& env) {
  std::vector<std::string> out;
  for (const char* name : {"PATH", "HOME", "LANG", "TZ"}) {
    if (const char* v = std::getenv(name)) out.push_back(std::string(name) + "=" + v);
  }
  for (const auto& [name, value] : env) out.push_back(name + "=" + value);
  return out;
}

// posix_spawnp with stdin/stdout/stderr on pipes; SIGPIPE back to default in the child
// (the daemon ignores it so that a command closing its stdin early cannot kill us).
int spawn_child(child_state& st, const std::vector<std::string>& argv, const std::vector<std::string>& env,
                std::string& why) {
  int in[2];
  int out[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return errno;
  if (::pipe2(out, O_CLOEXEC) != 0) {
    const int e = errno;
    ::close(in[0]);
    ::close(in[1]);
    return e;
  }
  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  posix_spawn_file_actions_adddup2(&files, in[0], 0);
  posix_spawn_file_actions_adddup2(&files, out[1], 1);
  posix_spawn_file_actions_adddup2(&files, out[1], 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const int rc = ::posix_spawnp(&st.pid, argv.front().c_str(), &files, &attr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&files);
  posix_spawnattr_destroy(&attr);
  ::close(in[0]);
  ::close(out[1]);
  if (rc != 0) {
    ::close(in[1]);
    ::close(out[0]);
    why = "cannot start " + argv.front() + ": " + std::strerror(rc);
    return rc;
  }
  st.input.assign(in[1]);
  st.output.assign(out[0]);
  return 0;
}

}  // namespace

asio::awaitable<attempt_result> run_command(const std::vector<std::string>& argv,
                                            const std::vector<std::pair<std::string, std::string>>& env,
                                            const std::string& stdin_body, millis timeout) {
  static const bool sigpipe_ignored = std::signal(SIGPIPE, SIG_IGN) != SIG_ERR;
  (void)sigpipe_ignored;
  if (argv.empty()) co_return attempt_result{false, "empty command"};
  auto ex = co_await asio::this_coro::executor;
  auto st = std::make_shared<child_state>(ex);
  std::string why;
  if (const int rc = spawn_child(*st, argv, child_environment(env), why); rc != 0) {
    co_return attempt_result{false, why.empty() ? std::string("cannot start the command: ") + std::strerror(rc) : why};
  }
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, st->pid, 0));
  if (pidfd < 0) {
    ::kill(st->pid, SIGKILL);
    ::waitpid(st->pid, nullptr, 0);  // just killed: returns at once
    co_return attempt_result{false, std::string("pidfd_open: ") + std::strerror(errno)};
  }
  st->exited.assign(pidfd);

  asio::steady_timer timer(ex);
  timer.expires_after(std::chrono::milliseconds(timeout));
  timer.async_wait([st](boost::system::error_code ec) {
    if (ec) return;
    st->timed_out = true;
    ::kill(st->pid, SIGKILL);
    boost::system::error_code ignored;
    st->output.cancel(ignored);  // a grandchild may hold stdout open
    st->input.cancel(ignored);
  });

  bool cancelled = false;
  boost::system::error_code ec;
  co_await asio::async_write(st->input, asio::buffer(stdin_body), asio::redirect_error(asio::use_awaitable, ec));
  cancelled = ec == asio::error::operation_aborted && !st->timed_out;
  st->input.close(ec);
  std::string captured;
  std::array<char, 4096> buf{};
  while (!cancelled) {
    const std::size_t n =
        co_await st->output.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
    if (captured.size() < 512) captured.append(buf.data(), std::min(n, 512 - captured.size()));
    if (ec) {
      cancelled = ec == asio::error::operation_aborted && !st->timed_out;
      break;
    }
  }
  if (cancelled) {
    ::kill(st->pid, SIGKILL);
  } else {
    co_await st->exited.async_wait(asio::posix::descriptor_base::wait_read,
                                   asio::redirect_error(asio::use_awaitable, ec));
    if (ec) ::kill(st->pid, SIGKILL);
  }
  timer.cancel();
  int status = 0;
  ::waitpid(st->pid, &status, 0);  // exited or SIGKILLed: does not wait for long
  if (cancelled) co_return attempt_result{false, "cancelled (the daemon is stopping)"};
  if (st->timed_out) co_return attempt_result{false, "timed out after " + std::to_string(timeout) + " ms (killed)"};
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) co_return attempt_result{true, {}};
  std::string error = WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                                        : "killed by signal " + std::to_string(WTERMSIG(status));
  while (!captured.empty() && (captured.back() == '\n' || captured.back() == '\r')) captured.pop_back();
  if (!captured.empty()) error += ": " + captured;
  co_return attempt_result{false, error};
}

}  // namespace vidq::notify
