#include "vidq/sim/jwt_auth.hpp"

#include "vidq/provider/jwt.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <openssl/crypto.h>

namespace vidq::sim {

namespace json = boost::json;

jwt_check verify_jwt(std::string_view token, const std::function<std::optional<std::string>(std::string_view)>& secret_of,
                     millis now) {
  jwt_check out;
  const auto first = token.find('.');
  const auto second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) return out;
  const auto header_text = provider::base64url_decode(token.substr(0, first));
  if (!header_text || !header_text->starts_with('{')) return out;  // e.g. a plain "id.secret" key

  out.verdict = jwt_verdict::malformed;
  boost::system::error_code ec;
  const json::value header = json::parse(*header_text, ec);
  if (ec || !header.is_object()) return out;
  const auto* alg = header.as_object().if_contains("alg");
  if (!alg || !alg->is_string() || alg->as_string() != "HS256") return out;
  const auto payload_text = provider::base64url_decode(token.substr(first + 1, second - first - 1));
  if (!payload_text) return out;
  const json::value payload = json::parse(*payload_text, ec);
  if (ec || !payload.is_object()) return out;
  const auto* id = payload.as_object().if_contains("api_key");
  const auto* exp = payload.as_object().if_contains("exp");
  if (!id || !id->is_string() || !exp || !exp->is_int64()) return out;
  out.key_id = std::string(id->as_string());

  const auto secret = secret_of(out.key_id);
  if (!secret) {
    out.verdict = jwt_verdict::unknown_key;
    return out;
  }
  // Compare the encoded forms: decoding first would accept a signature whose unused trailing
  // bits were changed (the last base64url character of 32 bytes carries 2 spare bits).
  const std::string expected = provider::base64url_encode(provider::hmac_sha256(*secret, token.substr(0, second)));
  const std::string_view given = token.substr(second + 1);
  if (given.size() != expected.size() || CRYPTO_memcmp(given.data(), expected.data(), expected.size()) != 0) {
    out.verdict = jwt_verdict::bad_signature;
    return out;
  }
  out.verdict = exp->as_int64() <= now ? jwt_verdict::expired : jwt_verdict::valid;
  return out;
}

}  // namespace vidq::sim
