#include "support/sim_fixture.hpp"

#include <chrono>
#include <stdexcept>

namespace vidq::test {

sim::sim_config sim_fixture::quiet_config() {
  sim::sim_config cfg = sim::default_sim_config();
  cfg.faults = sim::fault_rates::none();
  cfg.time_scale = 0.001;
  return cfg;
}

sim_fixture::sim_fixture(const vidq::clock& clock, sim::sim_config cfg) {
  auto id = net::ensure_tls_identity(dir_.path() / "tls");
  if (!id) throw std::runtime_error("tls identity: " + id.error().message());
  ca_ = id->ca_cert;
  auto tls = sim::make_server_tls(*id);
  if (!tls) throw std::runtime_error("server tls");
  tls_ = *tls;
  sim_ = std::make_unique<sim::simulator>(std::move(cfg), clock);
  auto srv = sim::server::listen(ioc_, *sim_, *tls, *sim::parse_listen("127.0.0.1:0"));
  if (!srv) throw std::runtime_error("listen");
  server_ = std::move(*srv);
  port_ = server_->port();
  server_->start();
  thread_ = std::thread([this] { ioc_.run(); });
}

sim_fixture::~sim_fixture() { close_port(); }

void sim_fixture::close_port() {
  if (!server_) return;
  server_->stop();
  thread_.join();
  server_.reset();
}

void sim_fixture::reopen_port() {
  if (server_) return;
  ioc_.restart();
  auto srv = sim::server::listen(ioc_, *sim_, tls_, *sim::parse_listen("127.0.0.1:" + std::to_string(port_)));
  if (!srv) throw std::runtime_error("listen again on port " + std::to_string(port_));
  server_ = std::move(*srv);
  server_->start();
  thread_ = std::thread([this] { ioc_.run(); });
}

boost::json::object sim_fixture::stats_when(const std::function<bool(const boost::json::object&)>& ready) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  auto stats = sim_->stats();
  while (!ready(stats) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    stats = sim_->stats();
  }
  return stats;
}

}  // namespace vidq::test
