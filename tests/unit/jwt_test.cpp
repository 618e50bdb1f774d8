#include "vidq/provider/jwt.hpp"

#include <gtest/gtest.h>

namespace vidq::provider {
namespace {

// Computed independently when this test was written (python3 hmac/base64, and the signature
// cross-checked with OpenSSL's command line):
//   printf '%s' "$h.$p" | openssl dgst -sha256 -hmac topsecretvalue -binary | base64 | tr '+/' '-_' | tr -d '='
// where h = base64url('{"alg":"HS256","sign_type":"SIGN"}')
//       p = base64url('{"api_key":"abc123","exp":1700000210000,"timestamp":1700000000000}')
constexpr const char* expected_token =
    "eyJhbGciOiJIUzI1NiIsInNpZ25fdHlwZSI6IlNJR04ifQ."
    "eyJhcGlfa2V5IjoiYWJjMTIzIiwiZXhwIjoxNzAwMDAwMjEwMDAwLCJ0aW1lc3RhbXAiOjE3MDAwMDAwMDAwMDB9."
    "LEUeBo81nBmoB66UDvYzMjKKedUdfe7-cjZvlmzd-SI";

TEST(jwt, matches_an_independently_computed_vector) {
  EXPECT_EQ(make_jwt("abc123", "topsecretvalue", 1'700'000'000'000, 210'000), expected_token);
}

TEST(jwt, a_different_secret_changes_only_the_signature) {
  const std::string a = make_jwt("abc123", "topsecretvalue", 1'700'000'000'000, 210'000);
  const std::string b = make_jwt("abc123", "topsecretvaluf", 1'700'000'000'000, 210'000);
  EXPECT_EQ(a.substr(0, a.rfind('.')), b.substr(0, b.rfind('.')));
  EXPECT_NE(a, b);
}

TEST(jwt, payload_decodes_to_milliseconds) {
  const std::string t = make_jwt("id-1", "s", 5'000, 1'000);
  const auto first = t.find('.');
  const auto second = t.find('.', first + 1);
  const auto payload = base64url_decode(t.substr(first + 1, second - first - 1));
  ASSERT_TRUE(payload);
  EXPECT_EQ(*payload, R"({"api_key":"id-1","exp":6000,"timestamp":5000})");
}

TEST(base64url, round_trips_every_remainder_without_padding) {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xff\xfe\xfd"}) {
    const std::string enc = base64url_encode(s);
    EXPECT_EQ(enc.find('='), std::string::npos);
    EXPECT_EQ(enc.find('+'), std::string::npos);
    EXPECT_EQ(enc.find('/'), std::string::npos);
    EXPECT_EQ(base64url_decode(enc), s) << enc;
  }
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");  // RFC 4648 alphabet: 62 '-', 63 '_'
  EXPECT_FALSE(base64url_decode("ab+c"));
  EXPECT_FALSE(base64url_decode("a"));
}

TEST(hmac_sha256, rfc_4231_test_case_2) {
  const std::string mac = hmac_sha256("Jefe", "what do ya want for nothing?");
  static constexpr unsigned char expected[] = {0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24,
                                               0x26, 0x08, 0x95, 0x75, 0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27,
                                               0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43};
  EXPECT_EQ(mac, std::string(reinterpret_cast<const char*>(expected), sizeof expected));
}

TEST(split_api_key, needs_both_halves) {
  auto p = split_api_key("abc.def.ghi");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->id, "abc");
  EXPECT_EQ(p->secret, "def.ghi");
  EXPECT_FALSE(split_api_key("nodot"));
  EXPECT_FALSE(split_api_key(".secret"));
  EXPECT_FALSE(split_api_key("id."));
}

TEST(jwt_cache, reuses_the_token_until_shortly_before_expiry) {
  jwt_cache cache({"id", "secret"}, 210'000, 30'000);
  const std::string first = cache.token(1'000'000);
  EXPECT_EQ(first, make_jwt("id", "secret", 1'000'000, 210'000));
  EXPECT_EQ(cache.token(1'000'000 + 179'999), first);
  EXPECT_EQ(cache.signed_count(), 1u);
  const std::string second = cache.token(1'000'000 + 180'000);
  EXPECT_NE(second, first);
  EXPECT_EQ(second, make_jwt("id", "secret", 1'180'000, 210'000));
  EXPECT_EQ(cache.signed_count(), 2u);
}

TEST(jwt_cache, a_clock_that_went_backwards_signs_anew) {
  jwt_cache cache({"id", "secret"});
  const std::string first = cache.token(1'000'000);
  EXPECT_NE(cache.token(999'000), first);
  EXPECT_EQ(cache.signed_count(), 2u);
}

}  // namespace
}  // namespace vidq::provider
