#include "vidq/provider/jwt.hpp"
#include "vidq/sim/jwt_auth.hpp"

#include <gtest/gtest.h>

namespace vidq::sim {
namespace {

std::optional<std::string> secrets(std::string_view id) {
  if (id == "abc123") return std::string("topsecretvalue");
  return std::nullopt;
}

// The vector of tests/unit/jwt_test.cpp (computed with python3 and openssl dgst).
constexpr const char* token =
    "eyJhbGciOiJIUzI1NiIsInNpZ25fdHlwZSI6IlNJR04ifQ."
    "eyJhcGlfa2V5IjoiYWJjMTIzIiwiZXhwIjoxNzAwMDAwMjEwMDAwLCJ0aW1lc3RhbXAiOjE3MDAwMDAwMDAwMDB9."
    "LEUeBo81nBmoB66UDvYzMjKKedUdfe7-cjZvlmzd-SI";

TEST(verify_jwt, accepts_a_valid_token_until_its_expiry) {
  auto c = verify_jwt(token, secrets, 1'700'000'100'000);
  EXPECT_EQ(c.verdict, jwt_verdict::valid);
  EXPECT_EQ(c.key_id, "abc123");
  EXPECT_EQ(verify_jwt(token, secrets, 1'700'000'210'000).verdict, jwt_verdict::expired);
}

TEST(verify_jwt, refuses_a_wrong_signature_and_an_unknown_id) {
  const std::string forged = provider::make_jwt("abc123", "not-the-secret", 1'700'000'000'000, 210'000);
  EXPECT_EQ(verify_jwt(forged, secrets, 1'700'000'100'000).verdict, jwt_verdict::bad_signature);
  std::string tampered = token;
  tampered.back() = tampered.back() == 'I' ? 'J' : 'I';
  EXPECT_EQ(verify_jwt(tampered, secrets, 1'700'000'100'000).verdict, jwt_verdict::bad_signature);
  const std::string stranger = provider::make_jwt("nobody", "topsecretvalue", 1'700'000'000'000, 210'000);
  EXPECT_EQ(verify_jwt(stranger, secrets, 1'700'000'100'000).verdict, jwt_verdict::unknown_key);
}

TEST(verify_jwt, plain_keys_are_not_jwts) {
  EXPECT_EQ(verify_jwt("sim-key-v0-0000000000000000", secrets, 0).verdict, jwt_verdict::not_a_jwt);
  EXPECT_EQ(verify_jwt("sim-jwt-id.sim-jwt-secret-66666666", secrets, 0).verdict, jwt_verdict::not_a_jwt);
  EXPECT_EQ(verify_jwt("a.b.c", secrets, 0).verdict, jwt_verdict::not_a_jwt);
  // A JSON header without alg HS256 is a token we refuse, not a key.
  const std::string none = provider::base64url_encode(R"({"alg":"none"})") + "." +
                           provider::base64url_encode(R"({"api_key":"abc123","exp":9999999999999})") + ".";
  EXPECT_EQ(verify_jwt(none, secrets, 0).verdict, jwt_verdict::malformed);
}

}  // namespace
}  // namespace vidq::sim
