#include "vidq/ops/doctor.hpp"

#include "doctor_checks.hpp"
#include "vidq/engine/disk_pressure.hpp"
#include "vidq/output/free_space.hpp"
#include "vidq/status/server.hpp"
#include "vidq/ops/secrets.hpp"
#include "vidq/store/migrations.hpp"
#include "vidq/store/notice_store.hpp"
#include "vidq/store/postgres/migrate.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace vidq::ops {
namespace doctor_detail {
namespace {

namespace fs = std::filesystem;

// The first row of a one-column query, "" when there is none.
result<std::string> first_text(store::database& db, const char* sql) {
  auto stmt = db.prepare(sql);
  if (!stmt) return stmt.error();
  auto row = stmt->step();
  if (!row) return row.error();
  return *row ? stmt->get_text(0) : std::string();
}

std::string mib(std::uintmax_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return text;
}

// The nearest folder of `path` that exists (what a create_directories would start from).
fs::path existing_ancestor(fs::path path) {
  std::error_code ec;
  path = fs::absolute(path, ec);
  while (!path.empty() && !fs::exists(path, ec) && path.has_parent_path() && path.parent_path() != path) {
    path = path.parent_path();
  }
  return path;
}

bool writable_dir(const fs::path& dir) {
  std::error_code ec;
  return fs::is_directory(dir, ec) && ::access(dir.c_str(), W_OK | X_OK) == 0;
}

void check_integrity(state& s) {
  auto verdict = first_text(*s.db, s.options.quick ? "PRAGMA quick_check" : "PRAGMA integrity_check");
  const char* name = s.options.quick ? "database quick_check" : "database integrity";
  if (!verdict) s.add(name, check_level::fail, "cannot run: " + s.db->last_error());
  else if (*verdict == "ok") s.add(name, check_level::ok, "ok");
  else s.add(name, check_level::fail, *verdict + " (restore a backup: docs/OPERATIONS.md)");
}

// The same verdict for either backend: equal is fine, newer needs a newer vidq, older a migrate.
void add_schema_verdict(state& s, int version, int latest) {
  const std::string text = "version " + std::to_string(version);
  if (version == latest) return s.add("database schema", check_level::ok, text);
  if (version > latest) {
    return s.add("database schema", check_level::fail,
                 text + " is newer than this vidq (" + std::to_string(latest) + "): upgrade vidq");
  }
  s.add("database schema", check_level::warn,
        text + " is older than this vidq (" + std::to_string(latest) + "): run `vidq migrate`");
}

void check_schema(state& s) {
  auto version = store::schema_version(*s.db);
  const int latest = store::latest_schema_version();
  if (!version) return s.add("database schema", check_level::fail, "cannot read: " + s.db->last_error());
  s.schema = *version;
  add_schema_verdict(s, *version, latest);
}

void check_journal(state& s) {
  auto mode = first_text(*s.db, "PRAGMA journal_mode");
  if (!mode) return s.add("database journal", check_level::fail, "cannot read: " + s.db->last_error());
  if (*mode != "wal") {
    // database::open switches a read-write connection to WAL, so the daemon fixes this; but
    // until then operators' readers block its writes.
    return s.add("database journal", check_level::warn, *mode + ", not wal: the daemon switches it when it opens it");
  }
  std::error_code ec;
  const auto wal = fs::file_size(s.cfg->database_path + "-wal", ec);
  std::string detail = "wal";
  if (!ec) detail += " (WAL file " + mib(wal) + ")";
  // A WAL this large means checkpoints cannot finish (a reader keeps an old snapshot).
  if (!ec && wal > (std::uintmax_t{1} << 30)) {
    return s.add("database journal", check_level::warn, detail + ": run `vidq db checkpoint --truncate`");
  }
  s.add("database journal", check_level::ok, detail);
}

}  // namespace

// [status] listen, parsed the way `vidq run` binds it: "::1" passes a glance but not start().
void check_status_listen(state& s) {
  const auto& st = s.cfg->status;
  if (st.listen.empty()) return s.add("status listen", check_level::ok, "off ([status] listen is empty)");
  const auto where = status::parse_listen(st.listen);
  if (!where) {
    return s.add("status listen", check_level::fail,
                 "'" + st.listen + "' is not HOST:PORT (an IPv4 address, [IPv6] in brackets, or localhost; e.g. "
                 "127.0.0.1:8788 or [::1]:8788)");
  }
  if (status::is_loopback(where->address())) return s.add("status listen", check_level::ok, st.listen);
  const bool token = !st.token_env.empty() || !st.token_file.empty() || !st.token_credential.empty();
  s.add("status listen", check_level::warn,
        st.listen + " is off loopback: " +
            (st.public_read ? std::string("reads are public ([status] public_read = true)")
             : token        ? std::string("every endpoint but /healthz needs the token")
                            : std::string("no token is configured, so only /healthz answers")));
}

void check_config(state& s) {
  if (s.options.config_path.empty()) {
    s.cfg = default_config();
    s.add("config", check_level::ok, "built-in defaults (no --config and no $VIDQ_CONFIG)");
  } else {
    try {
      s.cfg = load_config(s.options.config_path);
    } catch (const config_error& e) {
      return s.add("config", check_level::fail, e.what());
    }
    s.add("config", check_level::ok,
          s.options.config_path + " (" + std::to_string(s.cfg->accounts.size()) + " account(s))");
  }
  if (!s.options.database_override.empty()) s.cfg->database_path = s.options.database_override;
  check_status_listen(s);
}

// [database] url: reachable, writable (the primary), and at this binary's schema. The
// SQLite-only checks that follow (outbox, WAL) have no database handle and skip themselves.
void check_postgres(state& s) {
  namespace asio = boost::asio;
  const auto where = store::pg::redact_conninfo(s.cfg->database_url);
  asio::io_context ioc;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        store::pg::failure why;
        auto c = co_await store::pg::connection::open(ioc.get_executor(), s.cfg->database_url, 5'000, &why);
        if (!c) co_return s.add("database", check_level::fail, where + ": cannot connect: " + why.message);
        auto ro = co_await (*c)->query("SHOW transaction_read_only");
        if (ro && ro->text(0, 0) == "on") {
          s.add("database", check_level::fail,
                where + ": connected to a read-only standby (add target_session_attrs=read-write)");
        } else {
          s.add("database", check_level::ok, where + " (PostgreSQL)");
        }
        auto version = co_await store::pg::schema_version(**c);
        if (!version) co_return s.add("database schema", check_level::fail, "cannot read: " + (*c)->last_failure().message);
        add_schema_verdict(s, *version, store::pg::latest_schema_version());
      },
      asio::detached);
  ioc.run();
}

void check_database(state& s) {
  if (s.cfg->uses_postgres()) return check_postgres(s);
  const std::string& path = s.cfg->database_path;
  std::error_code ec;
  if (path != ":memory:" && !fs::exists(path, ec)) {
    const fs::path folder = existing_ancestor(fs::path(path).parent_path().empty() ? "." : fs::path(path).parent_path());
    if (!writable_dir(folder)) {
      return s.add("database", check_level::fail, path + " does not exist and " + folder.string() + " is not writable");
    }
    return s.add("database", check_level::warn, path + " does not exist yet (`vidq migrate` creates it)");
  }
  // Read-only: the doctor must not switch journal modes or create anything.
  auto db = store::database::open(path, {.create = false, .read_only = true});
  if (!db) return s.add("database", check_level::fail, path + ": cannot open (check the path and permissions)");
  s.db = std::move(*db);
  s.add("database", check_level::ok, path);
  check_integrity(s);
  check_schema(s);
  check_journal(s);
}

void check_output_writable(state& s) {
  const fs::path dir = s.cfg->output_dir;
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    const fs::path from = existing_ancestor(dir);
    if (!writable_dir(from)) {
      return s.add("output dir", check_level::fail, dir.string() + " does not exist and " + from.string() +
                                                        " is not a writable folder");
    }
    return s.add("output dir", check_level::ok, dir.string() + " (created on the first download)");
  }
  if (!fs::is_directory(dir, ec)) return s.add("output dir", check_level::fail, dir.string() + " is not a folder");
  // access() answers for the real uid; creating a file answers for this process as it runs
  // (read-only mounts, ACLs, a full quota on some file systems).
  const fs::path probe = dir / (".vidq-doctor-" + std::to_string(::getpid()));
  {
    std::ofstream out(probe, std::ios::binary);
    out << "vidq doctor\n";
    out.flush();
    if (!out) {
      fs::remove(probe, ec);
      return s.add("output dir", check_level::fail, dir.string() + " is not writable");
    }
  }
  fs::remove(probe, ec);
  if (ec) return s.add("output dir", check_level::warn, "cannot remove the probe file " + probe.string());
  s.add("output dir", check_level::ok, dir.string() + " (writable)");
}

// The floor below which the daemon holds submits (engine/disk_pressure.hpp).
void check_free_space(state& s) {
  const auto free = output::free_bytes(s.cfg->output_dir);
  if (!free) return s.add("output free space", check_level::warn, "statvfs failed for " + s.cfg->output_dir);
  const std::uint64_t floor = static_cast<std::uint64_t>(s.cfg->output_min_free_mb) << 20;
  const std::string text = std::to_string(*free >> 20) + " MiB free, [output] min_free_mb = " +
                           std::to_string(s.cfg->output_min_free_mb);
  if (auto low = engine::low_space_block(*free, floor)) return s.add("output free space", check_level::fail, *low);
  if (*free < (1u << 20)) return s.add("output free space", check_level::fail, text + ": downloads would pause at once");
  // Within twice the floor: the next few batches may reach it.
  if (floor > 0 && *free < 2 * floor) return s.add("output free space", check_level::warn, text + " (close to the floor)");
  s.add("output free space", check_level::ok, text);
}

void check_output(state& s) {
  check_output_writable(s);
  check_free_space(s);
}

// [[notify]]: each target's secret loads (never shown), a webhook is signed, a command's
// program exists; then the outbox: deliveries given up or waiting.
void check_notify(state& s) {
  for (const auto& n : s.cfg->notify) {
    const std::string name = "notify " + n.name;
    if (!n.secret_env.empty() || !n.secret_file.empty()) {
      std::string why;
      if (!load_secret(secret_source{n.secret_env, n.secret_file, {}}, why)) {
        s.add(name, check_level::fail, "secret: " + why);
        continue;
      }
    }
    const std::string events = std::to_string(n.events.size()) + " event(s)";
    if (!n.url.empty()) {
      const std::string origin = n.url.substr(0, n.url.find('/', n.url.find("//") + 2));  // no path or query
      if (n.secret_env.empty() && n.secret_file.empty()) {
        s.add(name, check_level::warn, "webhook " + origin + ", " + events + ", unsigned (no secret_env/secret_file)");
      } else {
        s.add(name, check_level::ok, "webhook " + origin + ", " + events + ", signed");
      }
      continue;
    }
    const std::string& program = n.command.front();
    bool found = ::access(program.c_str(), X_OK) == 0;
    if (program.find('/') == std::string::npos) {  // looked up on PATH, as posix_spawnp does
      found = false;
      const char* path = std::getenv("PATH");
      std::string_view dirs = path ? path : "/usr/bin:/bin";
      while (!found && !dirs.empty()) {
        const auto colon = dirs.find(':');
        const std::string dir(dirs.substr(0, colon));
        dirs = colon == std::string_view::npos ? std::string_view() : dirs.substr(colon + 1);
        found = !dir.empty() && ::access((dir + "/" + program).c_str(), X_OK) == 0;
      }
    }
    if (!found) s.add(name, check_level::fail, "command " + program + " is not an executable (or not on PATH)");
    else s.add(name, check_level::ok, "command " + program + ", " + events);
  }
  if (!s.db) return;
  auto counts = store::notice_counts(*s.db);
  if (!counts) return;  // a database before schema 6: the schema check says so
  if (counts->failed > 0) {
    s.add("notices", check_level::warn,
          std::to_string(counts->failed) + " delivery(ies) given up: `vidq notify list --failed`");
  } else if (!s.cfg->notify.empty()) {
    s.add("notices", check_level::ok, std::to_string(counts->pending) + " pending");
  }
}

}  // namespace doctor_detail

std::string_view to_string(check_level level) noexcept {
  switch (level) {
    case check_level::ok: return "ok";
    case check_level::warn: return "warn";
    case check_level::fail: return "FAIL";
  }
  return "FAIL";
}

bool doctor_report::failed() const {
  for (const auto& l : lines) {
    if (l.level == check_level::fail) return true;
  }
  return false;
}

doctor_report run_doctor(const doctor_options& options, const std::function<void(const check_line&)>& on_line) {
  using namespace doctor_detail;
  doctor_report report;
  state s{options, [&](check_line line) {
            if (on_line) on_line(line);
            report.lines.push_back(std::move(line));
          }};
  // The checks, in order. Everything after the config needs it; the rest is independent,
  // so one failure does not hide the others.
  struct step {
    const char* name;
    void (*run)(state&);
  };
  static constexpr step steps[] = {
      {"database", check_database},
      {"output dir", check_output},
      {"accounts", check_accounts},
      {"notify", check_notify},
  };
  check_config(s);
  for (const auto& st : steps) {
    if (!s.cfg) s.add(st.name, check_level::fail, "not checked: the config did not load");
    else st.run(s);
  }
  return report;
}

}  // namespace vidq::ops
