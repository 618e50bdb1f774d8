#include "vidq/ops/sd_notify.hpp"

#include <systemd/sd-daemon.h>

#include <cstdint>
#include <string>

namespace vidq::ops {
namespace {

// unset_environment = 0: NOTIFY_SOCKET must survive the first call, the daemon notifies
// for its whole life (watchdog, status, stopping).
bool send(const char* message) { return sd_notify(0, message) > 0; }

}  // namespace

bool notify_ready() { return send("READY=1"); }
bool notify_reloading() { return send("RELOADING=1"); }
bool notify_stopping() { return send("STOPPING=1"); }
bool notify_watchdog() { return send("WATCHDOG=1"); }

bool notify_status(std::string_view text) {
  std::string message = "STATUS=";
  message.reserve(message.size() + text.size());
  for (char c : text) message.push_back(c == '\n' || c == '\r' ? ' ' : c);
  return send(message.c_str());
}

std::optional<millis> watchdog_interval() {
  std::uint64_t usec = 0;
  // > 0 only when WATCHDOG_USEC is set and WATCHDOG_PID (if set) is this process: a child
  // that inherited the environment must not think it is the one being watched.
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
  return static_cast<millis>((usec + 999) / 1000);
}

}  // namespace vidq::ops
