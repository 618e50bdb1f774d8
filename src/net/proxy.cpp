#include "vidq/net/proxy.hpp"

#include "vidq/net/connection.hpp"
#include "vidq/net/errors.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <vector>

namespace vidq::net {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string base64(std::string_view bytes) {
  static constexpr std::string_view abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) |
                       (static_cast<unsigned char>(bytes[i + 1]) << 8) | static_cast<unsigned char>(bytes[i + 2]);
    out += {abc[(v >> 18) & 63], abc[(v >> 12) & 63], abc[(v >> 6) & 63], abc[v & 63]};
  }
  if (bytes.size() - i == 1) {
    const unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    out += {abc[(v >> 18) & 63], abc[(v >> 12) & 63], '=', '='};
  } else if (bytes.size() - i == 2) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8);
    out += {abc[(v >> 18) & 63], abc[(v >> 12) & 63], abc[(v >> 6) & 63], '='};
  }
  return out;
}

// "10.0.0.0/8" or "fd00::/8" containing `addr`.
bool in_cidr(std::string_view entry, const boost::asio::ip::address& addr) {
  const auto slash = entry.find('/');
  if (slash == std::string_view::npos) return false;
  boost::system::error_code ec;
  const auto net = boost::asio::ip::make_address(std::string(entry.substr(0, slash)), ec);
  if (ec || net.is_v4() != addr.is_v4()) return false;
  unsigned bits = 0;
  const auto tail = entry.substr(slash + 1);
  auto [ptr, fec] = std::from_chars(tail.data(), tail.data() + tail.size(), bits);
  if (fec != std::errc{} || ptr != tail.data() + tail.size()) return false;
  const auto bytes_of = [](const boost::asio::ip::address& x) {
    std::vector<unsigned char> out;
    if (x.is_v4()) {
      const auto b = x.to_v4().to_bytes();
      out.assign(b.begin(), b.end());
    } else {
      const auto b = x.to_v6().to_bytes();
      out.assign(b.begin(), b.end());
    }
    return out;
  };
  const auto a = bytes_of(addr);
  const auto n = bytes_of(net);
  if (bits > a.size() * 8) return false;
  for (std::size_t i = 0; i < a.size() && bits > 0; ++i) {
    const unsigned take = std::min(bits, 8u);
    const auto mask = static_cast<unsigned char>(0xff << (8 - take));
    if ((a[i] & mask) != (n[i] & mask)) return false;
    bits -= take;
  }
  return true;
}

bool entry_matches(std::string_view entry, const std::string& host, std::string_view port) {
  if (entry == "*") return true;
  // An optional ":port" (IPv6 entries must be bracketed to carry one: "[::1]:8443").
  std::string_view want_port;
  if (entry.starts_with('[')) {
    const auto close = entry.find(']');
    if (close == std::string_view::npos) return false;
    if (close + 1 < entry.size() && entry[close + 1] == ':') want_port = entry.substr(close + 2);
    entry = entry.substr(1, close - 1);
  } else if (std::count(entry.begin(), entry.end(), ':') == 1) {
    const auto colon = entry.find(':');
    want_port = entry.substr(colon + 1);
    entry = entry.substr(0, colon);
  }
  if (!want_port.empty() && want_port != port) return false;

  boost::system::error_code ec;
  const auto addr = boost::asio::ip::make_address(host, ec);
  if (!ec) {
    if (entry.find('/') != std::string_view::npos) return in_cidr(entry, addr);
    boost::system::error_code eec;
    const auto e = boost::asio::ip::make_address(std::string(entry), eec);
    return !eec && e == addr;
  }
  if (entry.starts_with("*.")) entry.remove_prefix(2);
  else if (entry.starts_with('.')) entry.remove_prefix(1);
  if (entry.empty()) return false;
  if (host == entry) return true;
  return host.size() > entry.size() && host.ends_with(entry) && host[host.size() - entry.size() - 1] == '.';
}

}  // namespace

std::string proxy_endpoint::display() const {
  const bool v6 = host.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + host + "]" : host) + ":" + port;
}

std::string proxy_endpoint::pool_key() const {
  // Tunnels opened with different proxy credentials are not interchangeable; the key tells
  // them apart without holding the credential (a hash; the key itself is never logged).
  if (authorization.empty()) return display();
  return display() + "#" + std::to_string(std::hash<std::string>{}(authorization));
}

result<proxy_endpoint> parse_proxy_url(std::string_view url) {
  namespace urls = boost::urls;
  url = trim(url);
  std::string text(url);
  if (text.find("://") == std::string::npos) text = "http://" + text;
  auto u = urls::parse_uri(text);
  if (!u || u->scheme_id() != urls::scheme::http) return error_code(net_errc::bad_proxy_url);
  if (u->has_query() || u->has_fragment() || (!u->encoded_path().empty() && u->encoded_path() != "/")) {
    return error_code(net_errc::bad_proxy_url);
  }
  proxy_endpoint p;
  p.host = u->host_address();
  if (p.host.empty()) return error_code(net_errc::bad_proxy_url);
  if (u->has_port()) {
    // port_number() wraps values above 65535 (99999 -> 34463): check the text instead.
    const auto digits = u->port();
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec != std::errc{} || ptr != digits.data() + digits.size() || value == 0 || value > 65535) {
      return error_code(net_errc::bad_proxy_url);
    }
    p.port = std::to_string(value);
  } else {
    p.port = "80";
  }
  if (u->has_userinfo()) p.authorization = basic_authorization(u->user() + ":" + u->password());
  return p;
}

std::string basic_authorization(std::string_view user_colon_password) {
  return "Basic " + base64(trim(user_colon_password));
}

bool bypasses_proxy(std::string_view no_proxy, std::string_view host, std::string_view port) {
  const std::string h = lower(host);
  std::size_t pos = 0;
  while (pos <= no_proxy.size()) {
    auto end = no_proxy.find_first_of(", \t", pos);
    if (end == std::string_view::npos) end = no_proxy.size();
    const std::string entry = lower(trim(no_proxy.substr(pos, end - pos)));
    if (!entry.empty() && entry_matches(entry, h, port)) return true;
    pos = end + 1;
  }
  return false;
}

const proxy_endpoint* route(const proxy_settings& s, const origin& o) {
  if (!s.proxy || bypasses_proxy(s.no_proxy, o.host, o.port)) return nullptr;
  return &*s.proxy;
}

result<proxy_settings> proxy_settings_from_env(const std::function<const char*(const char*)>& getenv) {
  const auto read = [&](const char* upper, const char* lower_name) -> std::string {
    if (const char* v = getenv(upper); v && *v) return v;
    if (const char* v = getenv(lower_name); v && *v) return v;
    return {};
  };
  proxy_settings s;
  s.no_proxy = read("NO_PROXY", "no_proxy");
  const std::string url = read("HTTPS_PROXY", "https_proxy");
  if (url.empty()) return s;
  auto p = parse_proxy_url(url);
  if (!p) return p.error();
  s.proxy = std::move(*p);
  return s;
}

std::string connect_request(const origin& target, std::string_view authorization, std::string_view user_agent) {
  const bool v6 = target.host.find(':') != std::string::npos;
  const std::string authority = (v6 ? "[" + target.host + "]" : target.host) + ":" + target.port;
  std::string out = "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n";
  if (!user_agent.empty()) out += "User-Agent: " + std::string(user_agent) + "\r\n";
  if (!authorization.empty()) out += "Proxy-Authorization: " + std::string(authorization) + "\r\n";
  out += "\r\n";
  return out;
}

result<unsigned> parse_connect_reply(std::string_view head) {
  namespace http = boost::beast::http;
  http::response_parser<http::empty_body> p;
  p.skip(true);  // a reply to CONNECT has no body we would read (RFC 9110 §9.3.6)
  p.eager(false);
  boost::system::error_code ec;
  const auto used = p.put(boost::asio::buffer(head.data(), head.size()), ec);
  if (ec || !p.is_header_done() || used != head.size()) return error_code(net_errc::proxy_protocol);
  return p.get().result_int();
}

error_code connect_verdict(unsigned status) noexcept {
  if (status >= 200 && status < 300) return {};
  if (status == 407) return net_errc::proxy_auth_required;
  return net_errc::proxy_refused;
}

}  // namespace vidq::net
