#pragma once
// The official Zhipu SDKs' optional token auth (API.md §6): an `id.secret` API key signs a
// short-lived HS256 JWT, sent as `Authorization: Bearer <jwt>` instead of the key itself.
// Pure functions plus a cache driven by the caller's clock (STYLE.md §4): no I/O, no clock.

#include "vidq/core/clock.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace vidq::provider {

// RFC 4648 §5 base64url without '=' padding (what JWT uses).
std::string base64url_encode(std::string_view bytes);
// Decodes base64url with or without padding; nullopt on any character outside the alphabet.
std::optional<std::string> base64url_decode(std::string_view text);
// HMAC-SHA256(key, message), 32 raw bytes (OpenSSL EVP_MAC).
std::string hmac_sha256(std::string_view key, std::string_view message);

// "id.secret" split at the first '.'; nullopt when either side is empty or there is no '.'.
struct api_key_parts {
  std::string id;
  std::string secret;
};
std::optional<api_key_parts> split_api_key(std::string_view key);

// header {"alg":"HS256","sign_type":"SIGN"}, payload {"api_key":id,"exp":now+ttl,"timestamp":now}
// (milliseconds since the epoch), signed with HMAC-SHA256(secret). Member order is the SDK's.
std::string make_jwt(std::string_view id, std::string_view secret, millis now_ms, millis ttl_ms);

// Reuses one token until `refresh_before` ms before its expiry, then signs a new one. The SDK
// values (API.md §6): lifetime 210 s, reused for 180 s (refresh 30 s before expiry).
class jwt_cache {
 public:
  jwt_cache(api_key_parts key, millis ttl_ms = 210'000, millis refresh_before_ms = 30'000);
  // The current token, signed anew when none is cached or the cached one expires within
  // refresh_before at `now_ms`. A clock that went backwards also re-signs (timestamp > now).
  const std::string& token(millis now_ms);
  std::size_t signed_count() const noexcept { return signed_; }

 private:
  api_key_parts key_;
  millis ttl_;
  millis refresh_before_;
  std::string token_;
  millis issued_at_ = 0;
  std::size_t signed_ = 0;
};

}  // namespace vidq::provider
