#pragma once
// `vidq doctor`: checks an installation before (or while) the daemon runs and says, one line
// per check, what is fine, what is odd and what will fail: the config, the database
// (opens, integrity_check, schema version, WAL), the output folder, the TLS trust, and per
// account the API key source and an authenticated round trip to base_url that creates no
// task (a poll of a made-up task id, answered 404 by the provider). Read-only: nothing in
// the database, the output folder or at the provider changes. API keys are never printed.

#include "vidq/net/errors.hpp"
#include "vidq/net/https_client.hpp"

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace vidq::ops {

enum class check_level { ok, warn, fail };
std::string_view to_string(check_level level) noexcept;  // "ok", "warn", "FAIL"

struct check_line {
  std::string name;  // e.g. "database", "account shop api"
  check_level level = check_level::ok;
  std::string detail;
};

struct doctor_options {
  std::string config_path;        // empty: built-in defaults
  std::string database_override;  // --db
  std::chrono::milliseconds network_timeout{10'000};  // per step of each probe
  bool quick = false;     // PRAGMA quick_check instead of the full integrity_check
  bool offline = false;   // skip the provider round trips
};

struct doctor_report {
  std::vector<check_line> lines;
  bool failed() const;
};

// Runs the checks in order; `on_line` (optional) sees each line as soon as it is decided,
// so a slow probe does not hide the earlier results. Checks that depend on a failed one
// (e.g. the database ones when the config does not load) are reported as not run, in the
// same line. Never throws for expected failures.
doctor_report run_doctor(const doctor_options& options, const std::function<void(const check_line&)>& on_line = {});

// What the reply to the probe poll means (pure, for tests): a provider's 404 / "task not
// found" → ok (reachable, key accepted); 401 or codes 1000-1005 → fail (key rejected);
// arrears, no access, subscription states → fail; rate limits and 5xx → warn (reachable);
// TLS errors → fail with the verification reason; resolve/connect/timeouts → fail
// (unreachable). `scrub` is applied to every provider or transport text kept in `detail`.
check_line interpret_probe(std::string name, const net::net_result<net::http_response>& reply,
                           const std::function<std::string(std::string)>& scrub);

}  // namespace vidq::ops
