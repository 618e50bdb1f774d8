#include "vidq/net/errors.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/throw_exception.hpp>

#include <stdexcept>

namespace vidq::net {
namespace {

class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "vidq.net"; }
  std::string message(int value) const override {
    switch (static_cast<net_errc>(value)) {
      case net_errc::ok: return "success";
      case net_errc::bad_url: return "bad url";
      case net_errc::scheme_refused: return "url scheme refused (https only)";
      case net_errc::redirect_refused: return "redirect to a refused scheme";
      case net_errc::too_many_redirects: return "too many redirects";
      case net_errc::body_too_large: return "response body exceeds the limit";
      case net_errc::truncated: return "response body truncated";
      case net_errc::http_status: return "unexpected http status";
      case net_errc::bad_proxy_url: return "bad proxy url (expected http://host:port)";
      case net_errc::proxy_auth_required:
        return "proxy refused the tunnel: proxy authentication required (check proxy_auth_env/proxy_auth_file)";
      case net_errc::proxy_refused: return "proxy refused the tunnel";
      case net_errc::proxy_protocol: return "proxy sent an unreadable reply to CONNECT";
    }
    return "unknown vidq.net error";
  }
};

}  // namespace

const boost::system::error_category& net_category() noexcept {
  static const category instance;
  return instance;
}

std::string_view to_string(delivery d) noexcept {
  return d == delivery::not_sent ? "not_sent" : "maybe_delivered";
}

std::string_view to_string(step s) noexcept {
  switch (s) {
    case step::prepare: return "prepare";
    case step::resolve: return "resolve";
    case step::connect: return "connect";
    case step::handshake: return "handshake";
    case step::write: return "write";
    case step::read_header: return "read_header";
    case step::read_body: return "read_body";
    case step::file: return "file";
  }
  return "unknown";
}

std::string request_error::message() const {
  std::string out{to_string(step)};
  out += ": ";
  out += ec.message();
  if (status != 0) out += " (status " + std::to_string(status) + ")";
  out += " (";
  out += to_string(delivery);
  out += ")";
  if (!proxy.empty()) out += " via proxy " + proxy;
  return out;
}

void throw_exception_from_error(const request_error& e, const boost::source_location& loc) {
  boost::throw_exception(std::runtime_error("vidq.net: " + e.message()), loc);
}

error_code normalize(error_code ec, step where) noexcept {
  namespace http = boost::beast::http;
  if (ec == boost::beast::error::timeout) return vidq::errc::timeout;
  if (ec == http::error::body_limit) return net_errc::body_too_large;
  if (where == step::read_body &&
      (ec == http::error::partial_message || ec == boost::asio::ssl::error::stream_truncated ||
       ec == boost::asio::error::eof || ec == http::error::end_of_stream)) {
    return net_errc::truncated;
  }
  return ec;
}

bool is_tls_error(const error_code& ec) noexcept {
  return ec.category() == boost::asio::error::get_ssl_category() ||
         ec.category() == boost::asio::ssl::error::get_stream_category();
}

}  // namespace vidq::net
