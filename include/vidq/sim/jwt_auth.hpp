#pragma once
// The simulator's check of the SDK's JWT credential (API.md §6): a key configured as
// "id.secret" also accepts an HS256 token whose payload names `id` in "api_key", signed with
// `secret`, whose "exp" (epoch ms) is still ahead of the simulated clock. Pure.

#include "vidq/core/clock.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace vidq::sim {

enum class jwt_verdict {
  not_a_jwt,      // not three base64url parts with a JSON header: treat as a plain key
  valid,
  malformed,      // a JWT shape, but the header/payload is not what the SDK sends
  unknown_key,    // api_key names no configured id.secret key
  bad_signature,
  expired,        // exp <= now
};

struct jwt_check {
  jwt_verdict verdict = jwt_verdict::not_a_jwt;
  std::string key_id;  // payload api_key, when readable
};

// `secret_of(id)`: the secret of the configured key "id.secret", or nullopt.
jwt_check verify_jwt(std::string_view token, const std::function<std::optional<std::string>(std::string_view)>& secret_of,
                     millis now);

}  // namespace vidq::sim
