#pragma once
// The client-side TLS context: TLS >= 1.2, peer verification on, trust = the system default
// paths plus an optional extra CA file (the simulator's CA, a corporate CA). Host name
// verification and SNI are per connection (connection.cpp), because they depend on the host.

#include "vidq/core/error.hpp"
#include "vidq/net/options.hpp"

#include <boost/asio/ssl/context.hpp>

#include <memory>

namespace vidq::net {

// Errors: the OpenSSL error (asio ssl category) when the CA file cannot be read or parsed;
// std::errc::no_such_file_or_directory when `ca_file` is set but missing. A missing or empty
// system trust store is not an error (the extra CA may be all that is needed).
result<std::unique_ptr<boost::asio::ssl::context>> make_client_tls_context(
    const tls_options& options);

}  // namespace vidq::net
