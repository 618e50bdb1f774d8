#pragma once
// What a SIGHUP may change in a running daemon (docs/DAEMON.md "Reload"). Every key either
// takes effect on reload or makes the reload fail with a message that names it, so that a
// changed file never runs half-applied.

#include "vidq/ops/config.hpp"

#include <string>

namespace vidq::ops {

// Why `fresh` cannot replace `running`, or "" when it can. `declares_accounts`: whether the
// file declares [[accounts]] (without them load_config falls back to the built-in default
// account, which on a reload would silently switch every job to another provider). Keys
// that need a restart: [database] path, [tls] ca_file, [status] listen, allowed_hosts,
// public_read. The caller applies everything else.
std::string reload_refusal(const config& running, const config& fresh, bool declares_accounts);

// Whether the TOML file at `path` has a non-empty [[accounts]] array. False when it cannot be
// read or parsed (load_config reports those).
bool declares_accounts(const std::string& path);

}  // namespace vidq::ops
