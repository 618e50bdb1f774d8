#include "vidq/net/tls_context.hpp"

#include <openssl/ssl.h>

#include <filesystem>

namespace vidq::net {

namespace ssl = boost::asio::ssl;

result<std::unique_ptr<ssl::context>> make_client_tls_context(const tls_options& options) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
  // Old protocol versions are refused outright; the providers all speak TLS 1.2+.
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression);

  error_code ec;
  ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert, ec);
  if (ec) return ec;
  // Ignored on purpose: a container without a CA bundle can still trust `ca_file` alone.
  error_code ignored;
  ctx->set_default_verify_paths(ignored);

  if (!options.ca_file.empty()) {
    std::error_code fs_ec;
    if (!std::filesystem::exists(options.ca_file, fs_ec)) {
      return error_code(make_error_code(boost::system::errc::no_such_file_or_directory));
    }
    ctx->load_verify_file(options.ca_file, ec);
    if (ec) return ec;
  }
  return ctx;
}

}  // namespace vidq::net
