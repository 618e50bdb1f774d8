#pragma once
// Configuration of the HTTPS transport. Plain structs with production defaults; the daemon
// fills them from the config file, tests shrink the timeouts to a few hundred milliseconds.

#include "vidq/net/proxy.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>

namespace vidq::net {

using std::chrono::milliseconds;

struct tls_options {
  // PEM file of extra trust anchors, added to the system default paths (never replacing
  // them). Empty: system trust only. Peer and host name verification cannot be turned off.
  std::string ca_file;
};

// One deadline per step (STYLE.md §5). Each is measured from the start of its step.
struct timeouts {
  milliseconds resolve{10'000};
  milliseconds connect{10'000};
  milliseconds handshake{10'000};
  milliseconds write{30'000};
  milliseconds read_header{30'000};  // time to the first response header (server think time)
  milliseconds read_body{60'000};    // request(): whole body; download(): per read (inactivity)
};

struct pool_limits {
  std::size_t max_idle_per_host = 8;   // 0 disables keep-alive reuse
  std::size_t max_idle_total = 64;     // across hosts; the oldest idle connection goes first
  milliseconds idle_timeout{30'000};   // idle connections older than this are closed
  // Non-idempotent requests (POST, PATCH, ...) reuse an idle connection only when it has been
  // idle at most this long, so that a server closing it for idleness cannot race our request
  // (docs/HTTP_CLIENT.md "stale connections"). 0: always a fresh connection.
  milliseconds unsafe_reuse_max_idle{2'000};
};

struct client_options {
  tls_options tls;
  timeouts deadlines;
  pool_limits pool;
  bool allow_plain_http = false;               // http:// URLs and redirects to them
  std::size_t max_response_body = 1u << 20;    // request(): response body limit
  std::size_t max_header_bytes = 16u << 10;    // every parser: response header limit
  std::string user_agent = "vidq";
  // host -> IP literal, consulted before DNS (like curl --resolve). SNI and certificate
  // verification still use the URL's host. For tests and operators pinning an address.
  // Also applied to a proxy's host name; with a proxy, the origin's name is the proxy's to resolve.
  std::map<std::string, std::string, std::less<>> resolve_overrides;
  // The CONNECT proxy for every request that does not name its own (request_options::proxy,
  // download_options::proxy). Default: direct. The daemon fills it from HTTPS_PROXY/NO_PROXY.
  proxy_settings proxy;
};

struct request_options {
  std::optional<timeouts> deadlines{};    // replaces client_options::deadlines for this call
  std::optional<std::size_t> max_body{};  // replaces client_options::max_response_body
  bool fresh_connection = false;          // never reuse a pooled connection for this call
  std::optional<proxy_settings> proxy{};  // replaces client_options::proxy (an account's own)
};

}  // namespace vidq::net
