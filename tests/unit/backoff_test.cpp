#include "vidq/engine/backoff.hpp"

#include <gtest/gtest.h>

namespace vidq::engine {
namespace {

ops::retry_config defaults() { return {};}  // base 2 s, cap 5 min

TEST(Backoff, GrowsExponentiallyWithinBaseAndCeiling) {
  const auto cfg = defaults();
  // The draw picks a point in [base, base × 2^attempt].
  EXPECT_EQ(backoff_delay(1, cfg, 0.0), 2'000);
  EXPECT_EQ(backoff_delay(1, cfg, 1.0), 4'000);
  EXPECT_EQ(backoff_delay(2, cfg, 1.0), 8'000);
  EXPECT_EQ(backoff_delay(3, cfg, 0.5), 9'000);  // 2 s + 0.5 × (16 − 2) s
  EXPECT_EQ(backoff_delay(4, cfg, 1.0), 32'000);
  // Capped at max_delay however many attempts.
  EXPECT_EQ(backoff_delay(20, cfg, 1.0), 300'000);
  EXPECT_EQ(backoff_delay(1000, cfg, 1.0), 300'000);
  EXPECT_EQ(backoff_delay(1000, cfg, 0.0), 2'000);
  // Out-of-range draws are clamped, never UB.
  EXPECT_EQ(backoff_delay(2, cfg, -3.0), 2'000);
  EXPECT_EQ(backoff_delay(2, cfg, 7.0), 8'000);
  EXPECT_EQ(backoff_delay(0, cfg, 1.0), 2'000);
  EXPECT_EQ(backoff_delay(-5, cfg, 1.0), 2'000);
}

TEST(Backoff, MonotoneCeilingForAFixedDraw) {
  const auto cfg = defaults();
  millis previous = 0;
  for (int attempt = 1; attempt < 30; ++attempt) {
    const millis d = backoff_delay(attempt, cfg, 0.7);
    EXPECT_GE(d, previous);
    EXPECT_LE(d, cfg.max_delay);
    previous = d;
  }
}

TEST(Backoff, LongScheduleForOverload) {
  const auto cfg = defaults();
  EXPECT_EQ(long_backoff_delay(1, cfg, 0.0), 30'000);
  EXPECT_EQ(long_backoff_delay(1, cfg, 1.0), 60'000);
  EXPECT_EQ(long_backoff_delay(3, cfg, 1.0), 240'000);
  EXPECT_EQ(long_backoff_delay(10, cfg, 1.0), 600'000);  // 2 × max_delay
  for (int a = 1; a < 10; ++a) EXPECT_GT(long_backoff_delay(a, cfg, 0.5), backoff_delay(a, cfg, 0.5));
}

TEST(Backoff, RetryAtPicksTheScheduleAndHonoursTheProvider) {
  const auto cfg = defaults();
  const millis now = 1'000'000;
  provider::verdict v;
  v.hint = provider::retry_hint::normal;
  EXPECT_EQ(retry_at(v, 2, cfg, now, 1.0), now + 8'000);
  v.hint = provider::retry_hint::long_backoff;
  EXPECT_EQ(retry_at(v, 1, cfg, now, 0.0), now + 30'000);
  v.hint = provider::retry_hint::rate_limited;
  EXPECT_EQ(retry_at(v, 9, cfg, now, 0.5), now + 3'000);  // attempts do not matter here
  v.hint = provider::retry_hint::refresh_urls;
  EXPECT_EQ(retry_at(v, 1, cfg, now, 0.5), now);
  // Retry-After wins when later, but a silly value is capped at the long schedule's cap.
  v.hint = provider::retry_hint::normal;
  v.not_before = now + 45'000;
  EXPECT_EQ(retry_at(v, 1, cfg, now, 0.0), now + 45'000);
  v.not_before = now + 86'400'000;
  EXPECT_EQ(retry_at(v, 1, cfg, now, 0.0), now + 600'000);
  v.not_before = now - 5;
  EXPECT_EQ(retry_at(v, 1, cfg, now, 0.0), now + 2'000);
}

}  // namespace
}  // namespace vidq::engine
