#pragma once
// The daemon's side of the systemd service protocol (Type=notify, WatchdogSec=): readiness,
// stopping, watchdog pings and a one-line status for `systemctl status`. A thin wrapper over
// libsystemd's sd_notify(3) and sd_watchdog_enabled(3); the systemd headers stay in the
// .cpp so the rest of the code never sees them.
//
// Outside systemd ($NOTIFY_SOCKET unset: a terminal, a container, a test) every call is a
// no-op that returns false, so the daemon calls them unconditionally. None of them throws or
// blocks for long (one datagram to a local socket); they may be called from any thread.

#include "vidq/core/clock.hpp"

#include <optional>
#include <string_view>

namespace vidq::ops {

// Each returns true when the message was delivered to the service manager, false when there
// is none ($NOTIFY_SOCKET unset) or the send failed (the daemon carries on either way: a
// missed READY=1 shows up as a start timeout in systemd, not as a vidq error).

// READY=1: startup is done (config loaded, DB open and migrated, lock held, status server
// listening). Also ends a reload started with notify_reloading().
bool notify_ready();
// RELOADING=1: a SIGHUP reload has begun; send notify_ready() when it is applied.
bool notify_reloading();
// STOPPING=1: shutdown has begun (admission stopped, grace period running).
bool notify_stopping();
// WATCHDOG=1: the event loop is alive. Send every watchdog_interval() / 2.
bool notify_watchdog();
// STATUS=<text>, shown by `systemctl status`, e.g. "12 in flight, 340 queued". Line breaks
// are replaced by spaces: the protocol is newline-separated, so a stray "\nREADY=1" inside
// a status must not become a second assignment.
bool notify_status(std::string_view text);

// The watchdog period systemd expects pings within (WatchdogSec=, passed as WATCHDOG_USEC
// and WATCHDOG_PID), in milliseconds; nullopt when the watchdog is off or addressed to
// another process. Sub-millisecond periods round up to 1 ms.
std::optional<millis> watchdog_interval();

}  // namespace vidq::ops
