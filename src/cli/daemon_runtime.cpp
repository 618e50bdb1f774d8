// `vidq run`'s wiring shared by both databases (daemon_runtime.hpp).
#include "daemon_runtime.hpp"

#include "session.hpp"
#include "vidq/engine/output_name.hpp"
#include "vidq/ops/config_reload.hpp"
#include "vidq/ops/log.hpp"
#include "vidq/ops/sd_notify.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <sys/prctl.h>
#include <sys/resource.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>

namespace vidq::cli {
namespace {

namespace asio = boost::asio;

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

// SIGHUP: the new config, its clients and [[notify]] targets, or why the running ones stay.
asio::awaitable<void> reload(context& ctx, ops::config& cfg, const clock& clk, daemon_runtime& rt,
                             daemon::scheduler& sched, status::status_server* status) {
  log::info("config_reload_requested", {});
  ops::notify_reloading();
  auto fresh = load_config_or_report(ctx);
  ctx.exit_code = exit_ok;  // a bad reload keeps the running config; it is not the exit status
  std::string reason = fresh ? std::string() : "the config does not load (see stderr)";
  if (fresh) reason = ops::reload_refusal(cfg, *fresh, ops::declares_accounts(fresh->source));
  if (reason.empty()) {
    if (auto bad = engine::check_path_template(fresh->output_path_template)) reason = "output.path_template: " + *bad;
  }
  std::optional<ops::secret> fresh_token;
  if (reason.empty() && status) {  // a token that no longer loads keeps the old one
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
  auto fresh_clients = fresh_targets ? make_clients(*fresh, *rt.http, clk, reason) : std::optional<daemon::client_map>();
  if (!fresh_clients) {
    log::error("config_reload_failed", {{"reason", reason}});
    ops::notify_ready();
    co_return;
  }
  apply_log_level(*fresh);
  rt.fetcher->set_output_dir(fresh->output_dir);  // /files reads cfg: both move together
  if (status) status->set_token(std::move(fresh_token));
  cfg = *fresh;
  co_await sched.reload(std::move(*fresh), std::move(*fresh_clients), std::move(*fresh_targets));
  ops::notify_ready();
}

}  // namespace

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

bool check_output_template(const ops::config& cfg) {
  // Checked here, not in load_config: the rules live with the naming code (engine), which
  // the config layer does not depend on.
  if (auto bad = engine::check_path_template(cfg.output_path_template)) {
    report_error("config", "output.path_template: " + *bad);
    return false;
  }
  return true;
}

daemon::scheduler_options scheduler_options_for(const run_options& opt) {
  daemon::scheduler_options options;
  options.exit_when_idle = opt.exit_when_idle;
  options.seed = opt.seed;
  options.shutdown_grace = static_cast<millis>(opt.grace_seconds * 1000);
  options.watchdog = ops::watchdog_interval();
  return options;
}

std::unique_ptr<daemon_runtime> daemon_runtime::create(asio::io_context& ioc, const ops::config& cfg,
                                                       const vidq::clock& clk, std::string part_suffix) {
  auto rt = std::make_unique<daemon_runtime>();
  auto http = net::https_client::create(ioc.get_executor(), provider::provider_client_options(cfg));
  if (!http) {
    report_error("tls", "cannot set up TLS (check [tls] ca_file): " + http.error().message());
    return nullptr;
  }
  rt->http = std::move(*http);
  std::string why;
  auto clients = make_clients(cfg, *rt->http, clk, why);
  if (!clients) {
    report_error("config", why);
    return nullptr;
  }
  rt->clients = std::move(*clients);
  // Notices get their own client: plain http is allowed there (the config lets it through
  // only to loopback addresses), never for the provider.
  net::client_options notify_options;
  notify_options.tls.ca_file = cfg.tls_ca_file;
  notify_options.allow_plain_http = true;
  auto notify_http = net::https_client::create(ioc.get_executor(), notify_options);
  if (!notify_http) {
    report_error("tls", "cannot set up TLS for [[notify]] (check [tls] ca_file): " + notify_http.error().message());
    return nullptr;
  }
  rt->notify_http = std::move(*notify_http);
  auto targets = notify::load_targets(cfg, why);
  if (!targets) {
    report_error("config", why);
    return nullptr;
  }
  rt->notify_targets = std::move(*targets);
  rt->notice_transport.emplace(*rt->notify_http, clk);
  rt->fetcher.emplace(*rt->http, cfg.output_dir, net::download_options{}, std::move(part_suffix));
  return rt;
}

int serve(context& ctx, asio::io_context& ioc, ops::config& cfg, const vidq::clock& clk, daemon_runtime& rt,
          daemon::scheduler& sched, status::status_server* status, std::function<void()> on_stopped) {
  sched.on_ready([] {
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
          if (signo == SIGHUP) {
            co_await reload(ctx, cfg, clk, rt, sched, status);
          } else {
            sched.request_stop();
          }
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
    if (status) status->stop();
    if (on_stopped) on_stopped();
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

}  // namespace vidq::cli
