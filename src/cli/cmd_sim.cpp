// `vidq sim`: runs the provider simulator (DESIGN.md §5, docs/SIMULATOR.md) until SIGINT or
// SIGTERM. Prints exactly one JSON line on stdout once listening, for scripts and tests:
// {"event":"listening","url":"https://127.0.0.1:PORT","port":PORT,"ca_file":"/abs/ca.pem"}
#include "command.hpp"
#include "vidq/net/tls_identity.hpp"
#include "vidq/ops/log.hpp"
#include "vidq/sim/config.hpp"
#include "vidq/sim/server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/json/serialize.hpp>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>

namespace vidq::cli {
namespace {

struct sim_options {
  std::string config_file;
  std::optional<std::string> listen;
  std::optional<std::string> tls_dir;
  std::optional<double> time_scale;
  std::optional<std::uint64_t> seed;
  bool no_faults = false;
};

int run_sim(const sim_options& opt) {
  sim::sim_config cfg = sim::default_sim_config();
  if (!opt.config_file.empty()) {
    std::string why;
    auto loaded = sim::load_sim_config(opt.config_file, &why);
    if (!loaded) {
      std::fprintf(stderr, "vidq sim: %s\n", why.c_str());
      return exit_usage;
    }
    cfg = std::move(*loaded);
  }
  if (opt.listen) cfg.listen = *opt.listen;
  if (opt.tls_dir) cfg.tls_dir = *opt.tls_dir;
  if (opt.time_scale) cfg.time_scale = *opt.time_scale;
  if (opt.seed) cfg.seed = *opt.seed;
  if (opt.no_faults) cfg.faults = sim::fault_rates::none();
  if (cfg.time_scale < 0) {
    std::fputs("vidq sim: --time-scale must be >= 0\n", stderr);
    return exit_usage;
  }
  auto where = sim::parse_listen(cfg.listen);
  if (!where) {
    std::fprintf(stderr, "vidq sim: --listen: expected HOST:PORT, got '%s'\n", cfg.listen.c_str());
    return exit_usage;
  }
  auto identity = net::ensure_tls_identity(cfg.tls_dir);
  if (!identity) {
    std::fprintf(stderr, "vidq sim: cannot create the TLS identity in %s: %s\n", cfg.tls_dir.c_str(),
                 identity.error().message().c_str());
    return exit_failure;
  }
  auto tls = sim::make_server_tls(*identity);
  if (!tls) {
    std::fprintf(stderr, "vidq sim: cannot load the TLS identity: %s\n", tls.error().message().c_str());
    return exit_failure;
  }

  system_clock clock;
  boost::asio::io_context ioc(1);
  sim::simulator simulator(cfg, clock);
  auto srv = sim::server::listen(ioc, simulator, *tls, *where);
  if (!srv) {
    std::fprintf(stderr, "vidq sim: cannot listen on %s\n", cfg.listen.c_str());
    return exit_failure;
  }
  (*srv)->start();
  boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    log::info("sim.stopping", {{"signal", sig}});
    (*srv)->stop();
  });

  const boost::json::object ready{{"event", "listening"},
                                  {"url", (*srv)->base_url()},
                                  {"port", (*srv)->port()},
                                  {"ca_file", std::filesystem::absolute(identity->ca_cert).string()}};
  std::printf("%s\n", boost::json::serialize(ready).c_str());
  std::fflush(stdout);
  log::info("sim.listening", {{"url", (*srv)->base_url()}, {"seed", cfg.seed}, {"time_scale", cfg.time_scale},
                              {"keys", cfg.keys.size()}});
  ioc.run();
  const auto stats = simulator.stats(false);
  log::info("sim.stopped", {{"submissions", stats.at("submissions")}, {"tasks_created", stats.at("tasks_created")}});
  return exit_ok;
}

}  // namespace

void register_sim(CLI::App& root, context& ctx) {
  auto opt = std::make_shared<sim_options>();
  auto* cmd = root.add_subcommand("sim", "Run the provider simulator (HTTPS, BigModel + GeekAI dialects)");
  cmd->add_option("--config", opt->config_file, "Simulator TOML file (see config/sim.example.toml)");
  cmd->add_option("--listen", opt->listen, "HOST:PORT to listen on (default 127.0.0.1:0, a free port)");
  cmd->add_option("--tls-dir", opt->tls_dir, "Directory of the CA and server certificate (default ./sim-tls)");
  cmd->add_option("--time-scale", opt->time_scale, "Multiplier of generation times and URL lifetimes (default 1)");
  cmd->add_option("--seed", opt->seed, "Seed of every random decision (default 1)");
  cmd->add_flag("--no-faults", opt->no_faults, "Set every fault probability to 0");
  cmd->callback([opt, &ctx] { ctx.exit_code = run_sim(*opt); });
}

}  // namespace vidq::cli
