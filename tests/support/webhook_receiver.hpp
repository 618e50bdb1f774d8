#pragma once
// A loopback webhook receiver for e2e tests: the scriptable test server (plain http on
// 127.0.0.1) on its own thread, so a daemon child process can post to it while the test
// waits. Every request is recorded; `reply` decides each answer (default 200).
#include "support/net_test_server.hpp"

#include <boost/asio/io_context.hpp>

#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace vidq::test {

class webhook_receiver {
 public:
  // `reply(request, index)`: index counts every request received so far, from 0.
  using policy = std::function<net_test::scripted_reply(const net_test::received_request&, std::size_t index)>;
  explicit webhook_receiver(policy reply = {});
  ~webhook_receiver();
  webhook_receiver(const webhook_receiver&) = delete;
  webhook_receiver& operator=(const webhook_receiver&) = delete;

  std::string url(const std::string& target = "/hook") const;
  // A copy of everything received so far (thread-safe).
  std::vector<net_test::received_request> received() const;
  void set_policy(policy reply);

 private:
  boost::asio::io_context ioc_;
  std::unique_ptr<net_test::test_server> server_;
  mutable std::mutex mutex_;
  std::vector<net_test::received_request> received_;
  policy reply_;
  std::thread thread_;
};

}  // namespace vidq::test
