#pragma once
// The transport's error vocabulary. Every failed request says *where* it failed (`step`) and
// whether it may have reached the server (`delivery`): the daemon's write-ahead submit rule
// (DESIGN.md §2) turns `maybe_delivered` on a POST into an ambiguous submit, and retries
// `not_sent` freely. docs/HTTP_CLIENT.md explains the rule.

#include "vidq/core/error.hpp"

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

#include <string>
#include <string_view>
#include <type_traits>

namespace vidq::net {

enum class net_errc {
  ok = 0,
  bad_url = 1,         // not an absolute URL with a host, or an unusable Location
  scheme_refused,      // http:// without allow_plain_http, or a scheme other than http(s)
  redirect_refused,    // a redirect to a refused scheme (https -> http by default)
  too_many_redirects,  // more redirects than download_options::max_redirects
  body_too_large,      // a response body exceeded its limit (API max_body, download max_bytes)
  truncated,           // the body ended before its declared end (EOF, no close_notify, short)
  http_status,         // download: the final response was not 200 (see request_error::status)
  // A CONNECT proxy (proxy.hpp). All fail at step::connect, delivery::not_sent: the request
  // never left for the provider, so the daemon treats them like an unreachable endpoint.
  bad_proxy_url,        // HTTPS_PROXY or [[accounts]] proxy is not http://host[:port]
  proxy_auth_required,  // the proxy answered CONNECT with 407 (credentials missing or wrong)
  proxy_refused,        // the proxy answered CONNECT with another non-2xx (403, 502 ...)
  proxy_protocol,       // the proxy's reply to CONNECT was not an HTTP response head
};

const boost::system::error_category& net_category() noexcept;

inline error_code make_error_code(net_errc e) noexcept {
  return {static_cast<int>(e), net_category()};
}

// Whether the server may have acted on the request.
enum class delivery {
  not_sent,         // failed before the request was completely written: the server cannot
                    // have acted on it (resolve, connect, TLS handshake, partial write)
  maybe_delivered,  // completely written, but no complete response was read
};

// Where a request failed.
enum class step { prepare, resolve, connect, handshake, write, read_header, read_body, file };

std::string_view to_string(delivery d) noexcept;
std::string_view to_string(step s) noexcept;

struct request_error {
  error_code ec;                        // normalized (see normalize()); operation_aborted
                                        // when the caller cancelled
  net::delivery delivery = delivery::not_sent;
  net::step step = step::prepare;
  unsigned status = 0;                  // HTTP status when a header was read (download), else 0
  bool reused_connection = false;       // the failed exchange ran on a pooled connection
  std::string detail;                   // short server text for http_status (≤ 512 bytes);
                                        // may contain anything the server sent
  std::string proxy;                    // "http://host:port" when the connection went through
                                        // a proxy (never its credentials), else empty
  std::string message() const;          // "read_header: timed out (maybe_delivered)",
                                        // "connect: proxy refused the tunnel (status 403)
                                        // (not_sent) via proxy http://p:3128"
};

template <class T>
using net_result = boost::system::result<T, request_error>;

// Lets net_result<T>::value() throw (exceptions are for bugs: callers check first).
[[noreturn]] void throw_exception_from_error(const request_error& e,
                                             const boost::source_location& loc);

// Maps transport codes to the vocabulary callers test against: Beast's timeout becomes
// vidq::errc::timeout, parser body_limit net_errc::body_too_large, and a body cut short
// (partial_message, TLS stream_truncated, EOF while reading the body) net_errc::truncated.
// Everything else (TLS verification, connection refused, reset) passes through unchanged.
error_code normalize(error_code ec, step where) noexcept;

// True for errors raised by OpenSSL (verification failure, protocol alert, bad record).
bool is_tls_error(const error_code& ec) noexcept;

}  // namespace vidq::net

template <>
struct boost::system::is_error_code_enum<vidq::net::net_errc> : std::true_type {};
