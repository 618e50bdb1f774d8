#pragma once
// Webhook signatures (docs/OPERATIONS.md "Verifying a notice"): HMAC-SHA256 (OpenSSL) keyed
// with the target's secret over "<timestamp>.<body>", sent as
//   X-Vidq-Timestamp: <unix seconds of this attempt>
//   X-Vidq-Signature: sha256=<64 lower-case hex digits>
// The timestamp lets a receiver refuse replays of an old request; the body is signed as
// sent, byte for byte.

#include <cstdint>
#include <string>
#include <string_view>

namespace vidq::notify {

// Lower-case hex HMAC-SHA256 of `data` keyed with `key`.
std::string hmac_sha256_hex(std::string_view key, std::string_view data);

// "sha256=" + hmac_sha256_hex(secret, timestamp + "." + body).
std::string signature_header(std::string_view secret, std::int64_t unix_seconds, std::string_view body);

}  // namespace vidq::notify
