#pragma once
// An in-process simulator on 127.0.0.1:0 with its io_context on a background thread.

#include "support/sim_https_client.hpp"
#include "support/temp_dir.hpp"
#include "vidq/sim/server.hpp"

#include <boost/asio/io_context.hpp>

#include <functional>
#include <memory>
#include <thread>

namespace vidq::test {

inline constexpr const char* sim_v0 = "sim-key-v0-0000000000000000";
inline constexpr const char* sim_poor = "sim-key-poor-444444444444444";

class sim_fixture {
 public:
  // `clock` must outlive the fixture. Faults default to none: tests enable what they test.
  explicit sim_fixture(const vidq::clock& clock, sim::sim_config cfg = quiet_config());
  ~sim_fixture();

  static sim::sim_config quiet_config();
  sim_https_client client() const { return sim_https_client(port(), ca_file()); }
  unsigned short port() const { return port_; }
  std::filesystem::path ca_file() const { return ca_; }
  sim::simulator& sim() { return *sim_; }
  // The provider's port goes dark (connections refused) and comes back on the same port,
  // with the same tasks: an outage as a client sees it.
  void close_port();
  void reopen_port();
  // The server books a download once its last write has completed, which can be after the
  // client has read every byte: waits (up to 2 s) until `ready` holds, then returns the stats.
  boost::json::object stats_when(const std::function<bool(const boost::json::object&)>& ready);

 private:
  temp_dir dir_;
  std::filesystem::path ca_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  unsigned short port_ = 0;
  boost::asio::io_context ioc_;
  std::unique_ptr<sim::simulator> sim_;
  std::unique_ptr<sim::server> server_;
  std::thread thread_;
};

}  // namespace vidq::test
