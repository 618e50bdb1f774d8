#include "vidq/net/listen_address.hpp"

#include <boost/asio/ip/address.hpp>

#include <charconv>
#include <string>

namespace vidq::net {

result<boost::asio::ip::tcp::endpoint> parse_listen(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return make_error_code(errc::invalid_argument);
  std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned port = 0;
  const auto [p, pec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || pec != std::errc() || p != port_text.data() + port_text.size() || port > 65535) {
    return make_error_code(errc::invalid_argument);
  }
  boost::system::error_code ec;
  const auto addr = boost::asio::ip::make_address(std::string(host == "localhost" ? "127.0.0.1" : host), ec);
  if (ec) return make_error_code(errc::invalid_argument);
  return boost::asio::ip::tcp::endpoint(addr, static_cast<unsigned short>(port));
}

}  // namespace vidq::net
