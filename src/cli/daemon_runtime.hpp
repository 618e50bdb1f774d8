#pragma once
// What `vidq run` wires the same way whichever database it runs on (cmd_run.cpp): the HTTPS
// clients, one provider client per account, the [[notify]] transport and the result fetcher,
// and the signal loop around scheduler::run (SIGTERM/SIGINT drain, SIGHUP reloads) with the
// exit code it ends in.

#include "command.hpp"
#include "vidq/core/clock.hpp"
#include "vidq/daemon/scheduler.hpp"
#include "vidq/engine/fetch.hpp"
#include "vidq/net/https_client.hpp"
#include "vidq/notify/transport.hpp"
#include "vidq/ops/config.hpp"
#include "vidq/ops/metrics.hpp"
#include "vidq/status/server.hpp"

#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace vidq::cli {

struct run_options {
  bool exit_when_idle = false;
  std::uint64_t seed = 0;
  double grace_seconds = 20;
};

// The process holds API keys in memory: no core dumps, no ptrace by the same user, unless
// VIDQ_ALLOW_CORE_DUMPS=1 (docs/DAEMON.md "Core dumps").
void protect_memory();
void apply_log_level(const ops::config& cfg);
// Also checks [output] path_template (exit 2 when it is bad).
bool check_output_template(const ops::config& cfg);
daemon::scheduler_options scheduler_options_for(const run_options& opt);

struct daemon_runtime {
  // nullptr after reporting why, a config error (exit 2): TLS cannot be set up, an
  // account's key or a [[notify]] secret does not load.
  // `part_suffix`: what a download's name ends in until it is complete (net::download).
  static std::unique_ptr<daemon_runtime> create(boost::asio::io_context& ioc, const ops::config& cfg,
                                                const vidq::clock& clk, std::string part_suffix = ".part");

  std::unique_ptr<net::https_client> http;
  std::unique_ptr<net::https_client> notify_http;  // plain http allowed, to loopback only
  std::optional<notify::real_transport> notice_transport;
  std::optional<engine::https_result_fetcher> fetcher;
  ops::metrics metrics;
  daemon::client_map clients;                // moved into the scheduler
  std::vector<notify::target> notify_targets;  // moved into the scheduler
};

// Runs `sched` on `ioc` until it returns, turning signals into its lifecycle. `cfg` is the
// running config: a SIGHUP replaces it in place when the new one is accepted (the status
// server, when there is one, reads it). `on_stopped` runs when the scheduler has returned,
// before the loop stops (stop what else runs on the loop). Returns the exit code.
int serve(context& ctx, boost::asio::io_context& ioc, ops::config& cfg, const vidq::clock& clk, daemon_runtime& rt,
          daemon::scheduler& sched, status::status_server* status, std::function<void()> on_stopped);

}  // namespace vidq::cli
