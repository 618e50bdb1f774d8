// `vidq run`: the daemon (DESIGN.md §2, docs/DAEMON.md). Wires the config, the database and
// the scheduler on one io_context; daemon_runtime.cpp does what both databases share (the
// HTTPS clients, one provider client per account, signals, the exit code).
//
// SQLite: one daemon per file, held by the instance lock, with the status server and the
// notifier. PostgreSQL ([database] url, docs/SCALING.md): any number of daemons on one
// database, each a node with a lease, its own status server (store::status_store over the
// daemon's pool) and its notifier, sharing the outbox with the others.
#include "command.hpp"
#include "daemon_runtime.hpp"
#include "session.hpp"
#include "vidq/daemon/instance_lock.hpp"
#include "vidq/ops/log.hpp"
#include "vidq/store/postgres/daemon_store.hpp"
#include "vidq/store/postgres/migrate.hpp"
#include "vidq/store/postgres/migrations.hpp"
#include "vidq/store/postgres/queue_listener.hpp"
#include "vidq/store/postgres/status_store.hpp"
#include "vidq/store/sqlite_daemon_store.hpp"
#include "vidq/store/sqlite_status_store.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <optional>

namespace vidq::cli {
namespace {

namespace asio = boost::asio;

// The daemon connection's busy timeout: a few ticks' worth of nothing, far below any
// health-check deadline; past it a write is retried (scheduler::persist).
constexpr int daemon_busy_timeout_ms = 25;

// Starts the status server into `srv` when [status] listen is set; `deps.token` is loaded
// here. The server reads deps.cfg, which a reload replaces in place. Without a token it
// still serves everything read-only (the default token_env is often unset). False after
// reporting that it cannot listen.
bool start_status_server(asio::io_context& ioc, std::optional<status::status_server>& srv,
                         status::status_server_deps deps) {
  const auto& listen = deps.cfg.status.listen;
  if (listen.empty()) return true;
  std::string token_why;
  auto token = status::load_status_token(deps.cfg.status, token_why);
  if (!token) log::warn("status_read_only", {{"reason", token_why}});
  deps.token = token ? std::move(*token) : std::nullopt;
  srv.emplace(ioc.get_executor(), std::move(deps));
  auto port = srv->start(listen);
  if (!port) {
    report_error("status", "cannot listen on " + listen + " ([status] listen): " + port.error().message());
    return false;
  }
  log::info("status_listening",
            {{"url", "http://" + listen.substr(0, listen.rfind(':')) + ":" + std::to_string(*port) + "/"}});
  return true;
}

// serve() stops the loop at once; a status request waiting on the pool then would be
// destroyed with the io_context, after the pool it borrowed from. stop() cancelled those
// waits: run the loop until the sessions unwound (a few seconds at most), before returning
// destroys the pool.
void finish_status_sessions(asio::io_context& ioc, status::status_server& srv) {
  srv.stop();
  ioc.restart();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (srv.open_connections() > 0 && std::chrono::steady_clock::now() < deadline) {
    ioc.run_one_for(std::chrono::milliseconds(100));
  }
  if (srv.open_connections() > 0) log::warn("status_sessions_left", {{"open", srv.open_connections()}});
}

int run_on_sqlite(context& ctx, ops::config cfg, const run_options& opt) {
  auto s = open_sqlite_session(ctx, db_access::create, std::move(cfg));
  if (!s) return ctx.exit_code;
  apply_log_level(s->config);
  if (!check_output_template(s->config)) return exit_usage;
  std::string why;
  auto lock = daemon::instance_lock::acquire(s->config.database_path, why);
  if (!lock) {
    report_error("run", why);
    return exit_usage;
  }
  // From here on the connection serves the event loop: a lock held by another connection
  // (an operator's sqlite3) costs at most this per attempt, and SQLITE_BUSY means "try
  // again shortly" (docs/DAEMON.md "A locked database"). Migrations above waited longer.
  s->db->set_busy_timeout(daemon_busy_timeout_ms);

  asio::io_context ioc(1);
  auto rt = daemon_runtime::create(ioc, s->config, s->clock);
  if (!rt) return exit_usage;
  // The daemon's hot path on the same connection.
  store::sqlite_daemon_store daemon_store(*s->db, s->clock);
  daemon::scheduler sched(ioc.get_executor(),
                          {&*s->db, daemon_store, s->clock, *rt->fetcher, rt->metrics, &*rt->notice_transport,
                           std::move(rt->notify_targets)},
                          s->config, std::move(rt->clients), scheduler_options_for(opt));

  store::sqlite_status_store status_store(*s->db, s->clock);
  std::optional<status::status_server> status_srv;
  if (!start_status_server(ioc, status_srv, {status_store, s->config, sched, rt->metrics, s->clock, std::nullopt})) {
    return exit_usage;
  }
  return serve(ctx, ioc, s->config, s->clock, *rt, sched, status_srv ? &*status_srv : nullptr, {});
}

// This process in jobs.owner and nodes.node: host, pid and start time, so that a restarted
// daemon is a new node and adopts what its previous run left (store/postgres/dispatch.hpp).
std::string node_name(const vidq::clock& clk) {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return std::string(host) + ":" + std::to_string(::getpid()) + ":" + std::to_string(clk.now());
}

// Several hosts may share one output directory (docs/SCALING.md "Shared output"): a daemon
// that lost a row mid-download must not truncate the partial file of the daemon that adopted
// it, so each writes `<name>.<node>.part` (still ending in .part: cleanup finds it).
std::string part_suffix_of(std::string_view node) {
  std::string suffix = "." + std::string(node) + ".part";
  const auto unsafe = [](char c) { return !std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-'; };
  std::replace_if(suffix.begin(), suffix.end(), unsafe, '-');
  return suffix;
}

// Brings the schema up to date (an advisory lock makes concurrent starts safe). false after
// reporting why.
bool migrate_at_start(asio::io_context& ioc, store::pg::pool& pool, const std::string& where) {
  bool ok = false;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        auto c = co_await pool.acquire();
        if (!c) {
          report_error(where, "cannot connect: " + pool.last_failure().message);
          co_return;
        }
        auto outcome = co_await store::pg::migrate(**c);
        if (!outcome) {
          report_error(where, outcome.error() == errc::schema_too_new
                                  ? "the database was migrated by a newer vidq (this binary knows schema " +
                                        std::to_string(store::pg::latest_schema_version()) + "); upgrade vidq"
                                  : "migration failed: " + (*c)->last_failure().message);
          co_return;
        }
        ok = true;
      },
      asio::detached);
  ioc.run();
  ioc.restart();
  return ok;
}

int run_on_postgres(context& ctx, ops::config cfg, const run_options& opt) {
  apply_log_level(cfg);
  if (!check_output_template(cfg)) return exit_usage;
  const system_clock clk;
  const auto where = store::pg::redact_conninfo(cfg.database_url);
  asio::io_context ioc(1);
  // A transaction left open by a paused daemon ends well within its lease, so that the
  // others can adopt the rows it locked once the lease is over.
  store::pg::pool pool(ioc.get_executor(), {.conninfo = cfg.database_url,
                                            .idle_in_transaction_timeout_ms = cfg.database_lease_ms / 3});
  if (!migrate_at_start(ioc, pool, where)) return exit_failure;

  const std::string node = node_name(clk);
  auto rt = daemon_runtime::create(ioc, cfg, clk, part_suffix_of(node));
  if (!rt) return exit_usage;
  store::pg::postgres_daemon_store daemon_store(pool, clk, node, cfg.database_lease_ms);
  auto options = scheduler_options_for(opt);
  options.lease_renew = cfg.database_lease_ms / 3;  // two renewals may fail before the lease does
  daemon::scheduler sched(ioc.get_executor(),
                          {nullptr, daemon_store, clk, *rt->fetcher, rt->metrics, &*rt->notice_transport,
                           std::move(rt->notify_targets)},
                          cfg, std::move(rt->clients), options);
  store::pg::postgres_status_store status_store(pool, clk);
  std::optional<status::status_server> status_srv;
  if (!start_status_server(ioc, status_srv, {status_store, cfg, sched, rt->metrics, clk, std::nullopt})) {
    return exit_usage;
  }
  // Rows inserted by any client, on any host, wake the loop within a round trip.
  store::pg::queue_listener listener(ioc.get_executor(), cfg.database_url, [&] {
    daemon_store.note_change();
    sched.wake();
  });
  asio::co_spawn(ioc, listener.run(), asio::detached);
  log::info("node_started", {{"node", node}, {"database", where}});
  const int code = serve(ctx, ioc, cfg, clk, *rt, sched, status_srv ? &*status_srv : nullptr, [&] { listener.stop(); });
  if (status_srv) finish_status_sessions(ioc, *status_srv);
  return code;
}

int run_daemon(context& ctx, const run_options& opt) {
  protect_memory();
  auto cfg = load_config_or_report(ctx);
  if (!cfg) return ctx.exit_code;
  if (cfg->uses_postgres()) return run_on_postgres(ctx, std::move(*cfg), opt);
  return run_on_sqlite(ctx, std::move(*cfg), opt);
}

}  // namespace

void register_run(CLI::App& root, context& ctx) {
  auto opt = std::make_shared<run_options>();
  auto* cmd = root.add_subcommand("run", "Run the daemon: submit queued jobs, poll them, download the videos");
  cmd->add_flag("--exit-when-idle", opt->exit_when_idle,
                "Exit once nothing queued or in flight can progress (cron-style batch runs): 0 when every "
                "job is finished, 4 when queued work waits for an operator (a paused account, a budget, "
                "no account serving its model)");
  cmd->add_option("--seed", opt->seed, "Seed of the jitter RNG (default: random)");
  cmd->add_option("--grace-seconds", opt->grace_seconds,
                  "On SIGTERM/SIGINT, how long submits in flight may take to finish (default 20)")
      ->check(CLI::Range(0.0, 600.0));
  cmd->callback([&ctx, opt] { ctx.exit_code = run_daemon(ctx, *opt); });
}

}  // namespace vidq::cli
