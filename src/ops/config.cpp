#include "vidq/ops/config.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <set>

namespace vidq::ops {
namespace {

constexpr double max_cny = 1e9;  // milli-CNY must fit an int64 with room for sums

// 0.1, 60, 1e+09: the shortest spelling, for messages.
std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// Walks one TOML table, remembers which keys were read, and rejects the rest so that a typo
// in a key is an error instead of a silently ignored setting.
class table_reader {
 public:
  table_reader(const toml::table& table, std::string file, std::string prefix)
      : table_(table), file_(std::move(file)), prefix_(std::move(prefix)) {}

  [[noreturn]] void fail(std::string_view key, std::string_view reason) const {
    throw config_error(file_ + ":" + prefix_ + std::string(key) + ": " + std::string(reason));
  }

  template <class T>
  std::optional<T> get(std::string_view key) {
    known_.insert(std::string(key));
    const toml::node* node = table_.get(key);
    if (!node) return std::nullopt;
    if constexpr (std::is_same_v<T, double>) {
      if (auto v = node->value<double>()) {  // accepts integers too
        // TOML spells inf and nan; no setting means either, and both break the arithmetic.
        if (!std::isfinite(*v)) fail(key, "must be a finite number");
        return *v;
      }
      fail(key, "must be a number");
    } else if constexpr (std::is_same_v<T, std::int64_t>) {
      if (auto v = node->as_integer()) return v->get();
      fail(key, "must be an integer");
    } else if constexpr (std::is_same_v<T, bool>) {
      if (auto v = node->as_boolean()) return v->get();
      fail(key, "must be true or false");
    } else {
      if (auto v = node->as_string()) return v->get();
      fail(key, "must be a string");
    }
  }

  void read(std::string_view key, std::string& out) {
    if (auto v = get<std::string>(key)) out = *v;
  }
  void read_seconds(std::string_view key, millis& out, double min_seconds, double max_seconds) {
    if (auto v = get<double>(key)) {
      if (!(*v >= min_seconds && *v <= max_seconds)) {
        fail(key, "must be between " + number(min_seconds) + " and " + number(max_seconds) + " seconds");
      }
      out = static_cast<millis>(std::llround(*v * 1000.0));
    }
  }
  void read_positive(std::string_view key, double& out, double max) {
    if (auto v = get<double>(key)) {
      if (!(*v > 0 && *v <= max)) fail(key, "must be > 0 and <= " + number(max));
      out = *v;
    }
  }
  void read_cny(std::string_view key, std::optional<std::int64_t>& out) {
    if (auto v = get<double>(key)) {
      if (!(*v >= 0 && *v <= max_cny)) fail(key, "must be between 0 and " + number(max_cny) + " (CNY)");
      out = static_cast<std::int64_t>(std::llround(*v * 1000.0));
    }
  }

  // Marks a key that the caller reads by hand.
  void allow(std::string_view key) { known_.insert(std::string(key)); }

  const toml::table* subtable(std::string_view key) {
    known_.insert(std::string(key));
    const toml::node* node = table_.get(key);
    if (!node) return nullptr;
    if (!node->is_table()) fail(key, "must be a table");
    return node->as_table();
  }

  void reject_unknown() const {
    for (const auto& [key, node] : table_) {
      if (!known_.contains(std::string(key.str()))) fail(key.str(), "unknown key");
    }
  }

  const std::string& file() const { return file_; }
  const std::string& prefix() const { return prefix_; }

 private:
  const toml::table& table_;
  std::string file_;
  std::string prefix_;
  std::set<std::string> known_;
};

std::string resolve(const std::filesystem::path& base, const std::string& path) {
  if (path.empty() || std::filesystem::path(path).is_absolute() || path == ":memory:") return path;
  return (base / path).lexically_normal().string();
}

provider_kind parse_provider(table_reader& r, const std::string& text) {
  if (text == "bigmodel") return provider_kind::bigmodel;
  if (text == "zai") return provider_kind::zai;
  if (text == "geekai") return provider_kind::geekai;
  r.fail("provider", "'" + text + "' is not one of: bigmodel, zai, geekai");
}

// [[accounts]] proxy, proxy_auth_env, proxy_auth_file, auth. The proxy URL is only checked
// for shape here; provider/account_transport parses it fully when the account's client is built.
void read_network_keys(table_reader& r, const std::filesystem::path& base, account_config& a) {
  if (auto proxy = r.get<std::string>("proxy")) {
    if (*proxy == "none") proxy->clear();
    if (!proxy->empty()) {
      // A password in the config would be a secret stored in the config file; never echo it.
      if (proxy->find('@') != std::string::npos) {
        r.fail("proxy", "must not hold credentials; use proxy_auth_env or proxy_auth_file");
      }
      const bool has_scheme = proxy->find("://") != std::string::npos;
      if (has_scheme && !proxy->starts_with("http://")) {
        r.fail("proxy", "'" + *proxy + "' is not an http://host:port URL (only HTTP CONNECT proxies are supported)");
      }
    }
    a.proxy = std::move(*proxy);
  }
  r.read("proxy_auth_env", a.proxy_auth_env);
  r.read("proxy_auth_file", a.proxy_auth_file);
  a.proxy_auth_file = resolve(base, a.proxy_auth_file);
  if (auto auth = r.get<std::string>("auth")) {
    if (*auth == "bearer") a.auth = auth_kind::bearer;
    else if (*auth == "jwt") a.auth = auth_kind::jwt;
    else r.fail("auth", "'" + *auth + "' is not one of: bearer, jwt");
  }
}

account_config read_account(const toml::table& table, const std::string& file, std::size_t index,
                            const std::filesystem::path& base) {
  table_reader r(table, file, "accounts[" + std::to_string(index) + "].");
  account_config a;
  r.read("name", a.name);
  if (a.name.empty()) r.fail("name", "must not be empty");
  if (a.name == "*") r.fail("name", "'*' is reserved: jobs with account '*' are served by every account");
  if (auto p = r.get<std::string>("provider")) a.provider = parse_provider(r, *p);
  a.base_url = default_base_url(a.provider);
  r.read("base_url", a.base_url);
  if (!a.base_url.starts_with("https://")) r.fail("base_url", "must be an https:// URL");
  r.read("api_key_env", a.api_key_env);
  r.read("api_key_file", a.api_key_file);
  a.api_key_file = resolve(base, a.api_key_file);
  r.read("api_key_credential", a.api_key_credential);
  // Reading the key's presence only, never its value, so no message can echo it.
  if (table.contains("api_key")) {
    r.fail("api_key", "keys are never read from the config file; use api_key_env, api_key_file or api_key_credential");
  }
  if (auto tier = r.get<std::string>("tier")) {
    if (tier->size() != 2 || (*tier)[0] != 'V' || (*tier)[1] < '0' || (*tier)[1] > '3') {
      r.fail("tier", "'" + *tier + "' is not one of: V0, V1, V2, V3");
    }
    a.tier = (*tier)[1] - '0';
  }
  if (auto cap = r.get<std::int64_t>("max_in_flight")) {
    if (*cap < 1 || *cap > 1000) r.fail("max_in_flight", "must be between 1 and 1000");
    a.max_in_flight = static_cast<int>(*cap);
  }
  r.allow("models");
  if (const toml::node* node = table.get("models")) {
    const toml::array* list = node->as_array();
    if (!list) r.fail("models", "must be an array of model names");
    for (const auto& item : *list) {
      const auto* name = item.as_string();
      if (!name || name->get().empty()) r.fail("models", "must be an array of model names");
      a.models.push_back(name->get());
    }
    if (a.models.empty()) r.fail("models", "must name at least one model (leave it out to serve every model)");
  }
  if (a.api_key_env.empty() && a.api_key_file.empty() && a.api_key_credential.empty()) {
    r.fail("api_key_env", "one of api_key_env, api_key_file, api_key_credential is required");
  }
  read_network_keys(r, base, a);
  r.reject_unknown();
  return a;
}

notify_config read_notify(const toml::table& table, const std::string& file, std::size_t index,
                          const std::filesystem::path& base) {
  table_reader r(table, file, "notify[" + std::to_string(index) + "].");
  notify_config n;
  n.name = "notify-" + std::to_string(index + 1);
  r.read("name", n.name);
  if (n.name.empty()) r.fail("name", "must not be empty");
  r.read("url", n.url);
  r.allow("command");
  if (const toml::node* node = table.get("command")) {
    const toml::array* argv = node->as_array();
    if (!argv || argv->empty()) r.fail("command", "must be a non-empty array of strings (argv)");
    for (const auto& item : *argv) {
      const auto* arg = item.as_string();
      if (!arg) r.fail("command", "must be a non-empty array of strings (argv)");
      n.command.push_back(arg->get());
    }
    if (n.command.front().empty()) r.fail("command", "the program (first element) must not be empty");
  }
  if (n.url.empty() == n.command.empty()) {
    r.fail("url", "exactly one of url and command is required (two entries notify both ways)");
  }
  if (!n.url.empty()) {
    if (auto problem = notify_url_problem(n.url); !problem.empty()) r.fail("url", problem);
  }
  r.allow("events");
  const toml::node* events = table.get("events");
  const toml::array* list = events ? events->as_array() : nullptr;
  if (!list || list->empty()) r.fail("events", "must be a non-empty array of event names");
  for (const auto& item : *list) {
    const auto* name = item.as_string();
    const auto event = name ? parse_notice_event(name->get()) : std::nullopt;
    if (!event) {
      r.fail("events", "'" + (name ? name->get() : std::string("?")) +
                           "' is not one of: batch_finished, job_succeeded, job_failed, account_paused, budget_blocked");
    }
    if (!n.wants(*event)) n.events.push_back(*event);
  }
  r.read("secret_env", n.secret_env);
  r.read("secret_file", n.secret_file);
  n.secret_file = resolve(base, n.secret_file);
  if (table.contains("secret")) {
    r.fail("secret", "secrets are never read from the config file; use secret_env or secret_file");
  }
  if (!n.command.empty() && !(n.secret_env.empty() && n.secret_file.empty())) {
    r.fail("secret_env", "a signature secret is for webhooks (url); a command is trusted by running it");
  }
  r.read_seconds("timeout_seconds", n.timeout, 0.1, 600);
  if (auto hours = r.get<double>("retry_for_hours")) {
    if (!(*hours >= 0.01 && *hours <= 24 * 30)) r.fail("retry_for_hours", "must be between 0.01 and 720");
    n.retry_for = static_cast<millis>(std::llround(*hours * 3'600'000.0));
  }
  r.reject_unknown();
  return n;
}

// [[key]] tables read by `read_one(table, index)` into `out`, each with a `name` unique
// among them ("<key>[i].name: duplicate <what> '<name>'").
template <class T, class F>
void read_named_tables(table_reader& top, const toml::table& root, std::string_view key, std::string_view what,
                       std::vector<T>& out, F read_one) {
  top.allow(key);
  const toml::node* node = root.get(key);
  if (!node) return;
  const auto* array = node->as_array();
  if (!array || !array->is_array_of_tables()) {
    top.fail(key, "must be an array of tables ([[" + std::string(key) + "]])");
  }
  std::size_t index = 0;
  for (const auto& item : *array) {
    out.push_back(read_one(*item.as_table(), index++));
    for (std::size_t i = 0; i + 1 < out.size(); ++i) {
      if (out[i].name == out.back().name) {
        top.fail(std::string(key) + "[" + std::to_string(index - 1) + "].name",
                 "duplicate " + std::string(what) + " '" + out.back().name + "'");
      }
    }
  }
}

void read_polling(table_reader& r, polling_config& p) {
  r.read_positive("growth", p.growth, 10);
  if (p.growth < 1.0) r.fail("growth", "must be >= 1");
  r.read_seconds("max_interval_seconds", p.max_interval, 0.01, 86'400);
  // Down to 1 ms (and max_interval to 10 ms) for time-scaled simulators (bench/: 2 s × 0.01).
  r.read_seconds("min_interval_seconds", p.min_interval, 0.001, 3'600);
  if (auto j = r.get<double>("jitter")) {
    if (!(*j >= 0 && *j < 1)) r.fail("jitter", "must be in [0, 1)");
    p.jitter = *j;
  }
  r.read_seconds("deadline_min_seconds", p.deadline_min, 1, 7 * 86'400);
  r.read_positive("deadline_factor", p.deadline_factor, 1'000);
  r.read_positive("requests_per_second", p.requests_per_second, 10'000);
  r.read_seconds("budget_window_seconds", p.budget_window, 0.001, 60);
  r.read_positive("duration_scale", p.duration_scale, 1'000);
  if (auto h = r.get<bool>("hurry_when_queued")) p.hurry_when_queued = *h;
  if (auto w = r.get<double>("backlog_poll_worth_seconds")) {
    if (!(*w > 0 && *w <= 3'600)) r.fail("backlog_poll_worth_seconds", "must be > 0 and <= 3600 seconds");
    p.backlog_poll_worth_ms = *w * 1000.0;
  }
  r.reject_unknown();
}

void read_retry(table_reader& r, retry_config& c) {
  if (auto n = r.get<std::int64_t>("max_attempts")) {
    if (*n < 1 || *n > 100) r.fail("max_attempts", "must be between 1 and 100");
    c.max_attempts = static_cast<int>(*n);
  }
  if (auto n = r.get<std::int64_t>("max_refetches")) {
    if (*n < 0 || *n > 100) r.fail("max_refetches", "must be between 0 and 100");
    c.max_refetches = static_cast<int>(*n);
  }
  r.read_seconds("base_delay_seconds", c.base_delay, 0.01, 86'400);
  r.read_seconds("max_delay_seconds", c.max_delay, 0.01, 7 * 86'400);
  if (auto p = r.get<std::string>("on_ambiguous_submit")) {
    if (*p == "fail") {
      c.on_ambiguous_submit = ambiguous_submit_policy::fail;
    } else if (*p == "resubmit") {
      c.on_ambiguous_submit = ambiguous_submit_policy::resubmit;
    } else {
      r.fail("on_ambiguous_submit", "'" + *p + "' is not one of: fail, resubmit");
    }
  }
  r.reject_unknown();
}

void read_budget(table_reader& r, budget_config& b) {
  r.read_cny("daily_limit_cny", b.daily_limit);
  r.read_cny("batch_limit_cny", b.batch_limit);
  if (const auto* prices = r.subtable("prices_cny")) {
    table_reader pr(*prices, r.file(), r.prefix() + "prices_cny.");
    for (const auto& [model, node] : *prices) {
      std::optional<std::int64_t> price;
      pr.read_cny(model.str(), price);
      b.prices[std::string(model.str())] = *price;
    }
  }
  r.reject_unknown();
}

// Days, 0 = off. At least one day when on: `[budget] daily_limit_cny` sums today's finished
// jobs, so a shorter retention would delete spend the budget still counts.
void read_retention_days(table_reader& r, std::string_view key, std::optional<millis>& out) {
  if (auto days = r.get<double>(key)) {
    if (*days == 0) {
      out.reset();
      return;
    }
    if (!(*days >= 1 && *days <= 36500)) r.fail(key, "must be 0 (keep forever) or between 1 and 36500 days");
    out = static_cast<millis>(std::llround(*days * 86'400'000.0));
  }
}

}  // namespace

int account_config::cap() const {
  static constexpr int tier_caps[] = {5, 10, 15, 20};  // API.md §7
  if (max_in_flight) return *max_in_flight;
  return tier_caps[tier.value_or(0)];
}

bool account_config::serves(std::string_view model) const {
  return models.empty() || std::find(models.begin(), models.end(), model) != models.end();
}

bool notify_config::wants(notice_event e) const { return std::find(events.begin(), events.end(), e) != events.end(); }

std::string notify_url_problem(std::string_view url) {
  if (url.starts_with("https://")) {
    return url.size() > 8 ? std::string() : "'" + std::string(url) + "' has no host";
  }
  if (!url.starts_with("http://")) return "'" + std::string(url) + "' is not an https:// (or loopback http://) URL";
  std::string_view rest = url.substr(7);
  if (rest.find('@') < rest.find('/')) return "must not hold credentials (use secret_env / secret_file)";
  std::string_view host;
  if (rest.starts_with("[")) {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return "'" + std::string(url) + "' has an unclosed [";
    host = rest.substr(1, close - 1);
  } else {
    host = rest.substr(0, std::min(rest.find(':'), rest.find('/')));
  }
  const bool loopback_v4 = [&] {
    if (!host.starts_with("127.")) return false;
    int dots = 0;
    for (char ch : host) {
      if (ch == '.') ++dots;
      else if (ch < '0' || ch > '9') return false;
    }
    return dots == 3;
  }();
  if (loopback_v4 || host == "::1" || host == "localhost") return {};
  return "http:// only to a loopback address (127.0.0.1, [::1], localhost); use https:// for '" +
         std::string(host) + "'";
}

const account_config* config::find_account(std::string_view name) const {
  for (const auto& a : accounts) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

std::string_view to_string(provider_kind kind) noexcept {
  switch (kind) {
    case provider_kind::bigmodel: return "bigmodel";
    case provider_kind::zai: return "zai";
    case provider_kind::geekai: return "geekai";
  }
  return "bigmodel";
}

std::string_view to_string(auth_kind kind) noexcept {
  return kind == auth_kind::jwt ? "jwt" : "bearer";
}

std::string default_base_url(provider_kind kind) {
  switch (kind) {
    case provider_kind::bigmodel: return "https://open.bigmodel.cn/api/paas/v4";
    case provider_kind::zai: return "https://api.z.ai/api/paas/v4";
    case provider_kind::geekai: return "https://geekai.co/api/v1";
  }
  return {};
}

config default_config() {
  config c;
  account_config a;
  a.api_key_env = "ZHIPUAI_API_KEY";
  a.base_url = default_base_url(a.provider);
  c.accounts.push_back(a);
  return c;
}

config load_config(const std::string& path) {
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    throw config_error(path + ":" + std::to_string(e.source().begin.line) + ": " + std::string(e.description()));
  }
  const auto base = std::filesystem::absolute(path).parent_path();
  config c;
  c.source = path;
  table_reader top(root, path, "");

  if (const auto* t = top.subtable("database")) {
    table_reader r(*t, path, "database.");
    r.read("path", c.database_path);
    r.read("url", c.database_url);
    if (!c.database_url.empty()) {
      if (!c.database_url.starts_with("postgresql://") && !c.database_url.starts_with("postgres://")) {
        r.fail("url", "must be a postgresql:// URL (SQLite takes `path`)");
      }
      if (t->contains("path")) r.fail("url", "set either `path` (SQLite) or `url` (PostgreSQL), not both");
    }
    if (auto v = r.get<double>("lease_seconds")) {
      if (!c.uses_postgres()) r.fail("lease_seconds", "applies to PostgreSQL only (`url`): SQLite has one daemon");
      if (*v < 3 || *v > 600) r.fail("lease_seconds", "must be between 3 and 600");
      c.database_lease_ms = static_cast<millis>(*v * 1000);
    }
    r.reject_unknown();
  }
  if (const auto* t = top.subtable("output")) {
    table_reader r(*t, path, "output.");
    r.read("dir", c.output_dir);
    r.read("path_template", c.output_path_template);
    if (c.output_path_template.empty()) r.fail("path_template", "must not be empty");
    if (auto v = r.get<bool>("write_manifest")) c.write_manifest = *v;
    if (auto v = r.get<std::int64_t>("min_free_mb")) {
      if (*v < 0 || *v > 100'000'000) r.fail("min_free_mb", "must be between 0 and 100000000 (MiB)");
      c.output_min_free_mb = *v;
    }
    r.reject_unknown();
  }
  if (const auto* t = top.subtable("tls")) {
    table_reader r(*t, path, "tls.");
    r.read("ca_file", c.tls_ca_file);
    r.reject_unknown();
  }
  if (const auto* t = top.subtable("polling")) {
    table_reader r(*t, path, "polling.");
    read_polling(r, c.polling);
  }
  if (const auto* t = top.subtable("retry")) {
    table_reader r(*t, path, "retry.");
    read_retry(r, c.retry);
  }
  if (const auto* t = top.subtable("budget")) {
    table_reader r(*t, path, "budget.");
    read_budget(r, c.budget);
  }
  if (const auto* t = top.subtable("status")) {
    table_reader r(*t, path, "status.");
    r.read("listen", c.status.listen);
    r.read("token_env", c.status.token_env);
    r.read("token_file", c.status.token_file);
    r.read("token_credential", c.status.token_credential);
    c.status.token_file = resolve(base, c.status.token_file);
    if (auto b = r.get<bool>("public_read")) c.status.public_read = *b;
    r.allow("allowed_hosts");
    if (const toml::node* hosts = t->get("allowed_hosts")) {
      const auto* array = hosts->as_array();
      if (!array) r.fail("allowed_hosts", "must be an array of host names");
      for (const auto& item : *array) {
        const auto* name = item.as_string();
        // A colon is only part of a bare IPv6 address; "name:port" would never match.
        const bool ok = name && !name->get().empty() && name->get().find_first_of("/ []") == std::string::npos &&
                        (name->get().find(':') == std::string::npos || name->get().find("::") != std::string::npos ||
                         std::count(name->get().begin(), name->get().end(), ':') >= 2);
        if (!ok) r.fail("allowed_hosts", "entries must be host names or addresses, without a port or brackets");
        c.status.allowed_hosts.push_back(name->get());
      }
    }
    r.reject_unknown();
  }
  if (const auto* t = top.subtable("retention")) {
    table_reader r(*t, path, "retention.");
    read_retention_days(r, "finished_job_days", c.retention.finished_jobs);
    read_retention_days(r, "events_days", c.retention.events);
    r.reject_unknown();
  }
  if (const auto* t = top.subtable("log")) {
    table_reader r(*t, path, "log.");
    r.read("level", c.log_level);
    if (c.log_level != "debug" && c.log_level != "info" && c.log_level != "warn" && c.log_level != "error") {
      r.fail("level", "'" + c.log_level + "' is not one of: debug, info, warn, error");
    }
    r.reject_unknown();
  }

  read_named_tables(top, root, "accounts", "account name", c.accounts,
                    [&](const toml::table& t, std::size_t i) { return read_account(t, path, i, base); });
  if (c.accounts.empty()) c.accounts = default_config().accounts;
  read_named_tables(top, root, "notify", "name", c.notify,
                    [&](const toml::table& t, std::size_t i) { return read_notify(t, path, i, base); });
  top.reject_unknown();

  c.database_path = resolve(base, c.database_path);
  c.output_dir = resolve(base, c.output_dir);
  c.tls_ca_file = resolve(base, c.tls_ca_file);
  return c;
}

}  // namespace vidq::ops
