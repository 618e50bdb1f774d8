#pragma once
// HTTP CONNECT proxies (docs/OPERATIONS.md "Proxies and token auth"). Everything a tunnel
// needs is decided here in pure functions: the proxy URL, whether NO_PROXY sends a host
// direct, the CONNECT request bytes and the verdict on the proxy's reply. connection.cpp only
// performs the exchange. TLS to the origin runs inside the tunnel, so the provider's
// certificate is verified end to end (SNI and host name are the origin's, never the proxy's).

#include "vidq/core/error.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace vidq::net {

struct origin;

struct proxy_endpoint {
  std::string host;           // without IPv6 brackets
  std::string port;           // decimal
  std::string authorization;  // Proxy-Authorization value ("Basic ..."), empty for none. A
                              // secret: never logged, never in a message, never in display()
  std::string display() const;  // "http://host:port": what logs and `vidq doctor` show
  std::string pool_key() const; // display() plus a credential discriminator (not the value)
};

// What a client (or one account) does: `proxy` for every origin except those NO_PROXY lists.
struct proxy_settings {
  std::optional<proxy_endpoint> proxy;  // nullopt: connect direct
  std::string no_proxy;                 // NO_PROXY syntax (see bypasses_proxy)
};

// "http://[user:password@]host[:port][/]" or "host:port" (scheme http assumed). Port default
// 80 (curl's default for http proxies). userinfo is percent-decoded into `authorization`.
// Errors: net_errc::bad_proxy_url (https:// proxies, paths, queries, no host, bad port). The
// message never repeats the URL (it may hold a password).
result<proxy_endpoint> parse_proxy_url(std::string_view url);

// "Basic " + base64("user:password") (RFC 7617). `user_colon_password` as read from the file
// or variable; surrounding whitespace is trimmed.
std::string basic_authorization(std::string_view user_colon_password);

// NO_PROXY as curl reads it: a comma (or space) separated list; "*" matches everything; an
// entry matches the host itself and its subdomains (a leading '.' or "*." is ignored, so
// ".corp.example" and "corp.example" both match "api.corp.example"); "host:port" matches
// only that port; an IP entry matches that address, and "10.0.0.0/8"-style CIDR its range
// (IPv4 and IPv6). Case-insensitive. `host` is as in the URL (no brackets).
bool bypasses_proxy(std::string_view no_proxy, std::string_view host, std::string_view port);

// The proxy to use for `o` under `s`, or nullptr for a direct connection.
const proxy_endpoint* route(const proxy_settings& s, const origin& o);

// HTTPS_PROXY (else https_proxy) and NO_PROXY (else no_proxy) through `getenv`. A malformed
// HTTPS_PROXY is an error rather than a silent direct connection (net_errc::bad_proxy_url).
// HTTP_PROXY is not consulted: every request vidq makes that a proxy could carry is https
// (http:// is tests only, and those go through the same CONNECT tunnel when configured).
result<proxy_settings> proxy_settings_from_env(const std::function<const char*(const char*)>& getenv);

// "CONNECT host:port HTTP/1.1\r\nHost: host:port\r\n[Proxy-Authorization: ...\r\n]\r\n".
std::string connect_request(const origin& target, std::string_view authorization, std::string_view user_agent);

// The proxy's reply head (status line and headers, up to and including the blank line).
// Success: the status code. Errors: net_errc::proxy_protocol (not an HTTP/1.x response head).
result<unsigned> parse_connect_reply(std::string_view head);

// 2xx: the tunnel is up ({}). 407: net_errc::proxy_auth_required. Anything else (403, 502,
// 503...): net_errc::proxy_refused.
error_code connect_verdict(unsigned status) noexcept;

}  // namespace vidq::net
