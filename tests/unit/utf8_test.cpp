#include "vidq/core/utf8.hpp"

#include <gtest/gtest.h>

namespace vidq {
namespace {

TEST(Utf8, CountsCodePoints) {
  EXPECT_EQ(utf8_length(""), 0u);
  EXPECT_EQ(utf8_length("sneaker"), 7u);
  EXPECT_EQ(utf8_length("红色运动鞋"), 5u);
  EXPECT_EQ(utf8_length("\xF0\x9F\x91\x9F"), 1u);  // U+1F45F athletic shoe
}

TEST(Utf8, RejectsMalformedSequences) {
  EXPECT_FALSE(utf8_length("\xFF"));
  EXPECT_FALSE(utf8_length("abc\xC3"));            // truncated
  EXPECT_FALSE(utf8_length("\xC0\xAF"));           // overlong '/'
  EXPECT_FALSE(utf8_length("\xED\xA0\x80"));       // surrogate
  EXPECT_FALSE(utf8_length("\xF4\x90\x80\x80"));   // above U+10FFFF
  EXPECT_FALSE(utf8_length("\xE4\xB8"));           // truncated 3-byte
  EXPECT_FALSE(utf8_length("\x80"));               // lone continuation
}

}  // namespace
}  // namespace vidq
