#pragma once
// "HOST:PORT" as the config files write a listen address: an IPv4 address, a bracketed
// IPv6 one ("[::1]:8788") or "localhost" (127.0.0.1); port 0 asks for any free port.

#include "vidq/core/error.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <string_view>

namespace vidq::net {

// errc::invalid_argument for anything else (a bare v6 address, a name, a bad port).
result<boost::asio::ip::tcp::endpoint> parse_listen(std::string_view text);

}  // namespace vidq::net
