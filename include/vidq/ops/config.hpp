#pragma once
// vidq's configuration: one TOML file, every key documented with its default in
// config/vidq.example.toml. Relative paths are resolved against the file's folder.
// API keys are never in this struct: only where to find them (secrets.hpp loads them).

#include "vidq/core/clock.hpp"
#include "vidq/core/notice_event.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace vidq::ops {

// Thrown by load_config (startup only). what() is "file:key: reason" and never contains a
// secret value.
class config_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class provider_kind { bigmodel, zai, geekai };
enum class ambiguous_submit_policy { fail, resubmit };
enum class auth_kind { bearer, jwt };  // API key as the Bearer token, or the SDK's HS256 JWT

struct account_config {
  std::string name = "default";
  provider_kind provider = provider_kind::bigmodel;
  std::string base_url;  // default per provider
  std::string api_key_env;
  std::string api_key_file;
  std::string api_key_credential;  // file name under $CREDENTIALS_DIRECTORY (systemd)
  std::optional<int> tier;         // 0..3 for V0..V3
  std::optional<int> max_in_flight;
  // Models this account may run for pool jobs (and pinned ones); empty = every model its
  // provider's dialect speaks, which today is every model vidq knows.
  std::vector<std::string> models;
  int cap() const;  // max_in_flight, else the tier's 5/10/15/20, else V0's 5
  bool serves(std::string_view model) const;

  // Proxies and token auth (docs/OPERATIONS.md "Proxies and token auth").
  std::optional<std::string> proxy;  // absent: HTTPS_PROXY/NO_PROXY; "": direct (normalized
                                     // from "none"); else "http://host:port" (no credentials)
  std::string proxy_auth_env;        // variable holding the proxy's "user:password"
  std::string proxy_auth_file;       // file holding it (resolved like api_key_file)
  auth_kind auth = auth_kind::bearer;
};

struct polling_config {
  double growth = 1.5;                 // interval multiplier after each unfinished poll
  millis max_interval = 60'000;        // cap of the growing interval
  double jitter = 0.2;                 // ± fraction applied to every interval
  millis min_interval = 2'000;
  millis deadline_min = 15 * 60'000;   // a task polled longer than this...
  double deadline_factor = 6.0;        // ...and longer than factor × expected fails poll_deadline
  double requests_per_second = 10.0;   // GET budget per account...
  millis budget_window = 1'000;        // ...never exceeded in any window this long
  double duration_scale = 1.0;         // × built-in expected durations (a time-scaled simulator)
  // While jobs wait for a lane's slots (and hurry_when_queued), a task is looked at again
  // when the slot time expected to be lost since the last look reaches this many ms
  // (engine/poll_planner.hpp). 12: about the eff of a fixed 2 s loop at ~3/4 of its polls
  // (docs/PERFORMANCE.md "Poll policy").
  bool hurry_when_queued = true;
  double backlog_poll_worth_ms = 12;
};

struct retry_config {
  int max_attempts = 5;
  millis base_delay = 2'000;
  millis max_delay = 5 * 60'000;
  ambiguous_submit_policy on_ambiguous_submit = ambiguous_submit_policy::fail;
  // A download that failed max_attempts times for a local or transient cause is fetched
  // again from the stored task (re-poll for fresh URLs) this many times per job before the
  // job fails; `vidq retry --download` is the operator's further try. 0 = never.
  int max_refetches = 2;
};

struct budget_config {
  std::optional<std::int64_t> daily_limit;      // milli-CNY per UTC day, all accounts
  std::optional<std::int64_t> batch_limit;      // milli-CNY per batch
  std::map<std::string, std::int64_t> prices;   // model → milli-CNY per call, overrides built-ins
};

struct status_config {
  std::string listen = "127.0.0.1:8788";
  std::string token_env;
  std::string token_file;
  std::string token_credential;
  // Host header values accepted besides loopback names and the listen address (names or
  // addresses, no port): how the server is reached through a proxy or a DNS name.
  std::vector<std::string> allowed_hosts;
  // Off loopback, every endpoint but /healthz needs the token unless this is true.
  bool public_read = false;
};

// [retention]: how long finished rows stay (store/housekeeping.hpp applies it). nullopt =
// keep forever, the default: deleting history is an operator's decision, never a surprise.
struct retention_config {
  std::optional<millis> finished_jobs;  // succeeded/failed/cancelled jobs, by finished_at
  std::optional<millis> events;         // job_events rows, by their `at`
};

// [[notify]]: one target of completion notices (docs/OPERATIONS.md "Completion notices").
// Exactly one of url and command. The secret itself is never here: only where to find it.
struct notify_config {
  std::string name;                  // unique; default "notify-<n>" (n from 1, file order)
  std::string url;                   // https://, or http:// to a loopback address
  std::vector<std::string> command;  // argv; event JSON on stdin and in VIDQ_* variables
  std::vector<notice_event> events;  // at least one
  std::string secret_env;            // HMAC-SHA256 key for X-Vidq-Signature (webhooks only)
  std::string secret_file;
  millis timeout = 10'000;           // per attempt: each HTTP step, or the command's whole run
  millis retry_for = 24 * 3'600'000; // then the delivery is given up (status failed)
  bool wants(notice_event e) const;
};

// "" when `url` may be a [[notify]] url, else why not: https:// anywhere, http:// only to
// 127.0.0.0/8, [::1] or localhost (a plain-text notice must not leave the host).
std::string notify_url_problem(std::string_view url);

struct config {
  std::string source;  // the file it came from; empty for built-in defaults
  std::string database_path = "vidq.db";
  // [database] url: postgresql://… selects the PostgreSQL backend instead of the SQLite file
  // at `path` (issue 14, docs/SCALING.md). Empty: SQLite. Never logged unredacted; keep the
  // password out of it (libpq's passfile / PGPASSFILE).
  std::string database_url;
  bool uses_postgres() const { return !database_url.empty(); }
  // [database] lease_seconds (PostgreSQL): how long a daemon's in-flight rows stay its own
  // without a renewal; it renews every third of it. A dead daemon's tasks wait this long
  // before another adopts them; a daemon paused longer loses them.
  millis database_lease_ms = 30'000;
  std::string output_dir = "videos";
  // [output] path_template: a job's files relative to output_dir, without extension
  // (engine/output_name.hpp; checked by `vidq run`). The default is the layout of configs
  // written before templates existed.
  std::string output_path_template = "{batch_folder}/{id}";
  bool write_manifest = false;  // [output] write_manifest: manifest.csv when a batch finishes
  // [output] min_free_mb: below this much free space in output_dir new submits wait (their
  // results would not fit); 0 = never hold admission for space (engine/disk_pressure.hpp).
  std::int64_t output_min_free_mb = 100;
  std::string tls_ca_file;
  std::vector<account_config> accounts;  // at least one after loading
  polling_config polling;
  retry_config retry;
  budget_config budget;
  status_config status;
  retention_config retention;
  std::vector<notify_config> notify;
  std::string log_level = "info";

  const account_config* find_account(std::string_view name) const;
};

// Built-in defaults (one account "default", bigmodel, key from $ZHIPUAI_API_KEY).
config default_config();
// Parses and checks `path`. Throws config_error("file:key: reason").
config load_config(const std::string& path);

std::string_view to_string(provider_kind kind) noexcept;
std::string_view to_string(auth_kind kind) noexcept;
std::string default_base_url(provider_kind kind);

}  // namespace vidq::ops
