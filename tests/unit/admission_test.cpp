#include "vidq/engine/admission.hpp"

#include <gtest/gtest.h>

namespace vidq::engine {
namespace {

constexpr millis t0 = 1'700'000'000'000;

TEST(Admission, SeededCountsAndSlots) {
  admission a;
  a.set_account("acct", 5);
  const store::inflight_count rows[] = {{"acct", "cogvideox-3", 3}, {"acct", "vidu2-image", 5}};
  a.seed(rows);
  EXPECT_EQ(a.free_slots("acct", "cogvideox-3", t0), 2);
  EXPECT_EQ(a.free_slots("acct", "vidu2-image", t0), 0);
  EXPECT_EQ(a.free_slots("acct", "cogvideox-2", t0), 5);  // caps are per (account, model)
  a.on_claimed("acct", "cogvideox-3", 2);
  EXPECT_EQ(a.free_slots("acct", "cogvideox-3", t0), 0);
  a.on_released("acct", "cogvideox-3");
  EXPECT_EQ(a.free_slots("acct", "cogvideox-3", t0), 1);
  a.on_released("acct", "cogvideox-3", 99);  // never negative
  EXPECT_EQ(a.in_flight("acct", "cogvideox-3"), 0);
  // A reseed replaces the counts, including lanes the DB no longer lists.
  a.seed({});
  EXPECT_EQ(a.in_flight("acct", "vidu2-image"), 0);
  // An account the config does not know admits nothing.
  EXPECT_EQ(a.free_slots("ghost", "cogvideox-3", t0), 0);
}

TEST(Admission, AimdAfter1302) {
  admission a({.decrease_factor = 0.5, .quiet_period = 60'000, .decrease_holdoff = 5'000});
  a.set_account("acct", 10);
  a.on_claimed("acct", "m", 3);  // 2 accepted earlier + the one just rejected
  a.on_rate_limited("acct", "m", t0);
  // floor(10 × 0.5) = 5, more than the 2 others the provider accepted.
  EXPECT_EQ(a.effective_cap("acct", "m", t0), 5);
  a.on_released("acct", "m");
  // The freed slot is held back for the holdoff: a claim now would meet the same congestion.
  EXPECT_EQ(a.free_slots("acct", "m", t0), 0);
  EXPECT_EQ(a.free_slots("acct", "m", t0 + 5'000), 3);
  // A burst of 1302s from submits in flight together counts once...
  a.on_rate_limited("acct", "m", t0 + 1'000);
  EXPECT_EQ(a.effective_cap("acct", "m", t0 + 1'000), 5);
  // ...but restarts the quiet period: +1 per 60 s from t0 + 1 s.
  EXPECT_EQ(a.effective_cap("acct", "m", t0 + 60'500), 5);
  EXPECT_EQ(a.effective_cap("acct", "m", t0 + 61'000), 6);
  EXPECT_EQ(a.effective_cap("acct", "m", t0 + 1'000 + 4 * 60'000), 9);
  EXPECT_EQ(a.effective_cap("acct", "m", t0 + 1'000 + 60 * 60'000), 10);  // never above the cap
  EXPECT_EQ(a.next_change(t0 + 1'000), t0 + 6'000) << "the end of the holdoff";
  EXPECT_EQ(a.next_change(t0 + 6'000), t0 + 61'000);
}

TEST(Admission, DecreaseKeepsWhatTheProviderAccepted) {
  // A foreign client holds 1 of 5 slots: the 1302 comes with 4 of ours accepted, so the cap
  // settles at 4 instead of halving to 2 and wasting half the account.
  admission a;
  a.set_account("acct", 5);
  a.on_claimed("acct", "m", 5);
  a.on_rate_limited("acct", "m", t0);
  EXPECT_EQ(a.effective_cap("acct", "m", t0), 4);
  // Decreases always decrease, never below 1.
  admission b;
  b.set_account("acct", 1);
  b.on_claimed("acct", "m", 1);
  b.on_rate_limited("acct", "m", t0);
  EXPECT_EQ(b.effective_cap("acct", "m", t0), 1);
  // A second decrease after the holdoff compounds.
  a.on_released("acct", "m", 2);  // 3 in flight, the rejected one among them
  a.on_rate_limited("acct", "m", t0 + 10'000);
  EXPECT_EQ(a.effective_cap("acct", "m", t0 + 10'000), 2);
}

TEST(Admission, ConfigReloadLowersTheEffectiveCap) {
  admission a;
  a.set_account("acct", 10);
  a.on_claimed("acct", "m", 10);
  a.on_rate_limited("acct", "m", t0);
  EXPECT_EQ(a.effective_cap("acct", "m", t0), 9);
  a.set_account("acct", 3);
  EXPECT_EQ(a.effective_cap("acct", "m", t0), 3);
  EXPECT_EQ(a.free_slots("acct", "m", t0), 0);
}

TEST(Admission, PausesAndResumes) {
  admission a;
  a.set_account("acct", 5);
  a.pause("acct", "1308 usage cap", t0 + 60'000);
  EXPECT_TRUE(a.is_paused("acct", t0));
  EXPECT_EQ(a.free_slots("acct", "m", t0), 0);
  EXPECT_EQ(a.pause_state("acct", t0).status, account_status::paused_until);
  EXPECT_EQ(a.pause_state("acct", t0).reason, "1308 usage cap");
  EXPECT_EQ(a.next_change(t0), t0 + 60'000);
  // Timed pauses expire by themselves.
  EXPECT_FALSE(a.is_paused("acct", t0 + 60'000));
  EXPECT_EQ(a.free_slots("acct", "m", t0 + 60'000), 5);

  a.pause("acct", "1113 arrears", std::nullopt);
  EXPECT_TRUE(a.is_paused("acct", t0 + 365LL * 86'400'000));
  // A timed pause does not shorten an indefinite one.
  a.pause("acct", "1308", t0 + 1);
  EXPECT_EQ(a.pause_state("acct", t0).reason, "1113 arrears");
  a.resume("acct");
  EXPECT_FALSE(a.is_paused("acct", t0));
  EXPECT_EQ(a.pause_state("acct", t0).reason, "");
}

TEST(Admission, Budget) {
  ops::budget_config cfg;
  EXPECT_EQ(price_of("cogvideox-3", cfg), 1000);
  EXPECT_EQ(price_of("vidu2-reference", cfg), 2500);
  EXPECT_EQ(price_of("unknown", cfg), 0);
  cfg.prices["cogvideox-3"] = 800;
  EXPECT_EQ(price_of("cogvideox-3", cfg), 800);

  EXPECT_FALSE(budget_blocks(cfg, "b", {1'000'000, 1'000'000}, 1000));  // no limits set
  cfg.daily_limit = 10'000;
  EXPECT_FALSE(budget_blocks(cfg, "b", {9'000, 0}, 1000));  // exactly reaches the limit
  const auto daily = budget_blocks(cfg, "b", {9'500, 0}, 1000);
  ASSERT_TRUE(daily);
  EXPECT_EQ(*daily, "daily budget 10.00 CNY reached: spent 9.50 CNY today (UTC), next job costs 1.00 CNY");
  cfg.daily_limit.reset();
  cfg.batch_limit = 2'500;
  const auto batch = budget_blocks(cfg, "spring-sale", {0, 2'000}, 1250);
  ASSERT_TRUE(batch);
  EXPECT_NE(batch->find("spring-sale"), std::string::npos);
  EXPECT_FALSE(budget_blocks(cfg, "spring-sale", {0, 2'000}, 0));  // free models pass

  EXPECT_EQ(utc_day_start(t0), 1'699'920'000'000);  // 2023-11-14T00:00:00Z
}

}  // namespace
}  // namespace vidq::engine
