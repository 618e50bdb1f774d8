#include "support/webhook_receiver.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include <future>

namespace vidq::test {

webhook_receiver::webhook_receiver(policy reply) : reply_(std::move(reply)) {
  server_ = std::make_unique<net_test::test_server>(
      ioc_, net_test::test_server_options{.tls = false, .on_request = [this](const net_test::received_request& r) {
                                            std::lock_guard lock(mutex_);
                                            received_.push_back(r);
                                            if (!reply_) return net_test::scripted_reply{};
                                            return reply_(r, received_.size() - 1);
                                          }});
  thread_ = std::thread([this] {
    auto work = boost::asio::make_work_guard(ioc_);
    ioc_.run();
  });
}

webhook_receiver::~webhook_receiver() {
  std::promise<void> stopped;
  boost::asio::post(ioc_, [&] {
    server_->stop();
    stopped.set_value();
  });
  stopped.get_future().wait();
  ioc_.stop();
  thread_.join();
}

std::string webhook_receiver::url(const std::string& target) const {
  return server_->url(target);
}

std::vector<net_test::received_request> webhook_receiver::received() const {
  std::lock_guard lock(mutex_);
  return received_;
}

void webhook_receiver::set_policy(policy reply) {
  std::lock_guard lock(mutex_);
  reply_ = std::move(reply);
}

}  // namespace vidq::test
