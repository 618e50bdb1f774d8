#pragma once
// A small blocking HTTPS client for the simulator's tests, written with Beast on purpose
// separately from the daemon's client (src/net/): a shared bug would hide in both.
// Verifies the peer against the simulator's CA and 127.0.0.1; keeps the connection alive and
// reconnects after the server closed it.

#include <boost/json/value.hpp>
#include <boost/system/error_code.hpp>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace vidq::test {

struct sim_response {
  boost::system::error_code error;  // transport failure: no (complete) response
  int status = 0;
  std::map<std::string, std::string> headers;  // lowercase names
  std::string body;
  boost::json::value json() const;  // null when the body is not JSON
};

class sim_https_client {
 public:
  sim_https_client(unsigned short port, std::filesystem::path ca_file);
  ~sim_https_client();

  sim_response request(const std::string& method, const std::string& target, const std::string& body = {},
                       const std::vector<std::pair<std::string, std::string>>& headers = {});
  // POST JSON with "Authorization: Bearer <key>".
  sim_response post(const std::string& target, const std::string& key, const boost::json::value& body);
  sim_response get(const std::string& target, const std::string& key = {});

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace vidq::test
