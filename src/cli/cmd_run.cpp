// `vidq run`: the daemon (DESIGN.md §2, docs/DAEMON.md). Wires the config, the database,
// the instance lock, the HTTPS client and one provider client per account to the scheduler
// on one io_context, and turns signals into its lifecycle: SIGTERM/SIGINT drain and exit 0,
// SIGHUP reloads the config.
#include "command.hpp"
#include "session.hpp"
#include "vidq/daemon/instance_lock.hpp"
#include "vidq/daemon/scheduler.hpp"
#include "vidq/engine/fetch.hpp"
#include "vidq/engine/output_name.hpp"
#include "vidq/net/https_client.hpp"
#include "vidq/notify/transport.hpp"
#include "vidq/ops/config_reload.hpp"
#include "vidq/ops/log.hpp"
#include "vidq/ops/metrics.hpp"
#include "vidq/ops/sd_notify.hpp"
#include "vidq/status/server.hpp"
#include "vidq/store/sqlite_daemon_store.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <sys/prctl.h>
#include <sys/resource.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <optional>

namespace vidq::cli {
namespace {

namespace asio = boost::asio;

// The daemon connection's busy timeout: a few ticks' worth of nothing, far below any
// health-check deadline; past it a write is retried (scheduler::persist).
constexpr int daemon_busy_timeout_ms = 25;

struct run_options {
  bool exit_when_idle = false;
  std::uint64_t seed = 0;
  double grace_seconds = 20;
};

// One client per account; an account whose key cannot be loaded is a config error at
// start (exit 2) but only a warning on reload (the old clients keep running).
std::optional<daemon::client_map> make_clients(const ops::config& cfg, net::https_client& http, const clock& clk,
                                               std::string& why) {
  daemon::client_map clients;
  for (const auto& account : cfg.accounts) {
    std::string reason;
    auto c = provider::https_provider_client::create(account, http, clk, reason);
    if (!c) {
      why = "account '" + account.name + "': " + reason;
      return std::nullopt;
    }
    clients.emplace(account.name, std::move(*c));
  }
  return clients;
}

// The process holds API keys in memory: a core dump (or a ptrace attach by another process of
// the same user) would copy them out. VIDQ_ALLOW_CORE_DUMPS=1 keeps dumps for debugging
// (docs/DAEMON.md "Core dumps").
void protect_memory() {
  if (const char* allow = std::getenv("VIDQ_ALLOW_CORE_DUMPS"); allow && std::string_view(allow) == "1") {
    log::warn("core_dumps_allowed", {{"reason", "VIDQ_ALLOW_CORE_DUMPS=1: a core dump would contain the API keys"}});
    return;
  }
  const rlimit none{0, 0};
  if (::setrlimit(RLIMIT_CORE, &none) != 0 || ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    log::warn("core_dumps_not_disabled", {{"errno", errno}});
  }
}

void apply_log_level(const ops::config& cfg) {
  log::level lvl = log::level::info;
  if (log::parse_level(cfg.log_level, lvl)) log::set_min_level(lvl);
}

int run_daemon(context& ctx, const run_options& opt) {
  protect_memory();
  auto s = open_session(ctx, db_access::create);
  if (!s) return ctx.exit_code;
  apply_log_level(s->config);
  // Checked here, not in load_config: the rules live with the naming code (engine), which
  // the config layer does not depend on.
  if (auto bad = engine::check_path_template(s->config.output_path_template)) {
    report_error("config", "output.path_template: " + *bad);
    return exit_usage;
  }
  std::string why;
  auto lock = daemon::instance_lock::acquire(s->config.database_path, why);
  if (!lock) {
    report_error("run", why);
    return exit_usage;
  }

  // From here on the connection serves the event loop: a lock held by another connection
  // (an operator's sqlite3) costs at most this per attempt, and SQLITE_BUSY means "try
  // again shortly" (docs/DAEMON.md "A locked database"). Migrations above waited longer.
  s->db.set_busy_timeout(daemon_busy_timeout_ms);

  asio::io_context ioc(1);
  auto http = net::https_client::create(ioc.get_executor(), provider::provider_client_options(s->config));
  if (!http) {
    report_error("tls", "cannot set up TLS (check [tls] ca_file): " + http.error().message());
    return exit_usage;
  }
  auto clients = make_clients(s->config, **http, s->clock, why);
  if (!clients) {
    report_error("config", why);
    return exit_usage;
  }
  // Notices get their own client: plain http is allowed there (the config lets it through
  // only to loopback addresses), never for the provider.
  net::client_options notify_options;
  notify_options.tls.ca_file = s->config.tls_ca_file;
  notify_options.allow_plain_http = true;
  auto notify_http = net::https_client::create(ioc.get_executor(), notify_options);
  if (!notify_http) {
    report_error("tls", "cannot set up TLS for [[notify]] (check [tls] ca_file): " + notify_http.error().message());
    return exit_usage;
  }
  auto targets = notify::load_targets(s->config, why);
  if (!targets) {
    report_error("config", why);
    return exit_usage;
  }
  notify::real_transport notice_transport(**notify_http, s->clock);
  engine::https_result_fetcher fetcher(**http, s->config.output_dir);
  ops::metrics metrics;
  daemon::scheduler_options options;
  options.exit_when_idle = opt.exit_when_idle;
  options.seed = opt.seed;
  options.shutdown_grace = static_cast<millis>(opt.grace_seconds * 1000);
  options.watchdog = ops::watchdog_interval();
  // The daemon's hot path on the same connection (the seam PostgreSQL will also implement).
  store::sqlite_daemon_store daemon_store(s->db, s->clock);
  daemon::scheduler sched(ioc.get_executor(),
                          {s->db, daemon_store, s->clock, fetcher, metrics, &notice_transport, std::move(*targets)},
                          s->config, std::move(*clients), options);

  // The status server reads s->config, which a reload replaces in place. Without a token
  // it still serves everything read-only (the default token_env is often unset).
  std::optional<status::status_server> status_srv;
  if (!s->config.status.listen.empty()) {
    std::string token_why;
    auto token = status::load_status_token(s->config.status, token_why);
    if (!token) log::warn("status_read_only", {{"reason", token_why}});
    status_srv.emplace(ioc.get_executor(),
                       status::status_server_deps{s->db, s->config, sched, metrics, s->clock,
                                                  token ? std::move(*token) : std::nullopt});
    auto port = status_srv->start(s->config.status.listen);
    if (!port) {
      report_error("status", "cannot listen on " + s->config.status.listen + " ([status] listen): " +
                                 port.error().message());
      return exit_usage;
    }
    log::info("status_listening", {{"url", "http://" + s->config.status.listen.substr(
                                                            0, s->config.status.listen.rfind(':')) +
                                               ":" + std::to_string(*port) + "/"}});
  }
  sched.on_ready([&] {
    ops::notify_ready();
    ops::notify_status("running");
  });

  asio::signal_set signals(ioc, SIGINT, SIGTERM, SIGHUP);
  // co_spawn keeps this lambda (and its captures) alive for the coroutine's whole life.
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        for (;;) {
          boost::system::error_code ec;
          const int signo = co_await signals.async_wait(asio::redirect_error(asio::use_awaitable, ec));
          if (ec) co_return;
          if (signo != SIGHUP) {
            sched.request_stop();
            continue;
          }
          log::info("config_reload_requested", {});
          ops::notify_reloading();
          auto fresh = load_config_or_report(ctx);
          ctx.exit_code = exit_ok;  // a bad reload keeps the running config; it is not the exit status
          std::string reason = fresh ? std::string() : "the config does not load (see stderr)";
          if (fresh) reason = ops::reload_refusal(s->config, *fresh, ops::declares_accounts(fresh->source));
          if (reason.empty()) {
            if (auto bad = engine::check_path_template(fresh->output_path_template)) {
              reason = "output.path_template: " + *bad;
            }
          }
          std::optional<ops::secret> fresh_token;
          if (reason.empty() && status_srv) {  // a token that no longer loads keeps the old one
            std::string token_why;
            auto t = status::load_status_token(fresh->status, token_why);
            if (t) {
              fresh_token = std::move(*t);
            } else {
              reason = token_why;
            }
          }
          // [[notify]] changes apply; a secret that no longer loads refuses the whole reload.
          auto fresh_targets = reason.empty() ? notify::load_targets(*fresh, reason) : std::nullopt;
          auto fresh_clients =
              fresh_targets ? make_clients(*fresh, **http, s->clock, reason) : std::optional<daemon::client_map>();
          if (!fresh_clients) {
            log::error("config_reload_failed", {{"reason", reason}});
            ops::notify_ready();
            continue;
          }
          apply_log_level(*fresh);
          fetcher.set_output_dir(fresh->output_dir);  // /files reads s->config: both move together
          if (status_srv) status_srv->set_token(std::move(fresh_token));
          s->config = *fresh;
          co_await sched.reload(std::move(*fresh), std::move(*fresh_clients), std::move(*fresh_targets));
          ops::notify_ready();
        }
      },
      asio::detached);

  int code = exit_ok;
  asio::co_spawn(ioc, sched.run(), [&](std::exception_ptr e, result<void> r) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        log::error("daemon_crashed", {{"what", x.what()}});
      }
      code = exit_failure;
    } else if (!r && r.error() == errc::database_lost) {
      code = exit_db_lost;  // systemd restarts us on the file at the path (docs/OPERATIONS.md)
    } else if (!r) {
      log::error("daemon_failed", {{"error", r.error().message()}});
      code = exit_failure;
    }
    signals.cancel();
    if (status_srv) status_srv->stop();
    ioc.stop();
  });
  ioc.run();
  if (code == exit_ok && !sched.stranded().empty()) {
    // cron must be able to tell "all done" from "gave up waiting for an operator".
    std::fprintf(stderr, "vidq: run: idle with queued work that cannot move without an operator:\n");
    for (const auto& reason : sched.stranded()) std::fprintf(stderr, "  - %s\n", log::redact(reason).c_str());
    return exit_stranded;
  }
  return code;
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
