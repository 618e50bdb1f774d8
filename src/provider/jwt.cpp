#include "vidq/provider/jwt.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <stdexcept>

namespace vidq::provider {
namespace {

constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int value_of(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

// JSON string body for an id: the SDK passes it through json.dumps; ids are [A-Za-z0-9]
// in practice, but a quote or backslash must not break the token's JSON.
std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;  // control characters: never in an id
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) |
                       (static_cast<unsigned char>(bytes[i + 1]) << 8) | static_cast<unsigned char>(bytes[i + 2]);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    const unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
  } else if (rest == 2) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
  }
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  for (char c : text) {
    const int v = value_of(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

std::string hmac_sha256(std::string_view key, std::string_view message) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
            reinterpret_cast<const unsigned char*>(message.data()), message.size(), md.data(), &len)) {
    throw std::runtime_error("HMAC-SHA256 failed");  // only on allocation failure: a bug-level event
  }
  return std::string(reinterpret_cast<const char*>(md.data()), len);
}

std::optional<api_key_parts> split_api_key(std::string_view key) {
  const auto dot = key.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == key.size()) return std::nullopt;
  return api_key_parts{std::string(key.substr(0, dot)), std::string(key.substr(dot + 1))};
}

std::string make_jwt(std::string_view id, std::string_view secret, millis now_ms, millis ttl_ms) {
  const std::string header = R"({"alg":"HS256","sign_type":"SIGN"})";
  const std::string payload = "{\"api_key\":" + json_string(id) + ",\"exp\":" + std::to_string(now_ms + ttl_ms) +
                              ",\"timestamp\":" + std::to_string(now_ms) + "}";
  std::string signing_input = base64url_encode(header) + "." + base64url_encode(payload);
  const std::string signature = hmac_sha256(secret, signing_input);
  return signing_input + "." + base64url_encode(signature);
}

jwt_cache::jwt_cache(api_key_parts key, millis ttl_ms, millis refresh_before_ms)
    : key_(std::move(key)), ttl_(ttl_ms), refresh_before_(refresh_before_ms) {}

const std::string& jwt_cache::token(millis now_ms) {
  const bool stale = token_.empty() || now_ms < issued_at_ || now_ms >= issued_at_ + ttl_ - refresh_before_;
  if (stale) {
    token_ = make_jwt(key_.id, key_.secret, now_ms, ttl_);
    issued_at_ = now_ms;
    ++signed_;
  }
  return token_;
}

}  // namespace vidq::provider
