#include "vidq/engine/routing.hpp"

#include <gtest/gtest.h>

namespace vidq::engine {
namespace {

ops::config with_accounts(std::initializer_list<const char*> names) {
  ops::config cfg;
  for (const char* n : names) {
    ops::account_config a;
    a.name = n;
    a.api_key_env = "K";
    cfg.accounts.push_back(a);
  }
  return cfg;
}

TEST(Routing, EmptyStarAndAnUnconfiguredDefaultAskForThePool) {
  const auto cfg = with_accounts({"main"});
  EXPECT_TRUE(asks_for_pool("", cfg));
  EXPECT_TRUE(asks_for_pool("*", cfg));
  EXPECT_TRUE(asks_for_pool("default", cfg));  // the column default, with no account of that name
  EXPECT_FALSE(asks_for_pool("main", cfg));
  EXPECT_FALSE(asks_for_pool("other", cfg));
  // Once an account is called "default", the column default pins to it.
  const auto named_default = with_accounts({"default", "main"});
  EXPECT_FALSE(asks_for_pool("default", named_default));
}

TEST(Routing, AccountProblemNamesTheConfiguredAccounts) {
  const auto cfg = with_accounts({"main", "sub"});
  EXPECT_FALSE(account_problem("main", cfg));
  EXPECT_FALSE(account_problem("*", cfg));
  EXPECT_FALSE(account_problem("default", cfg));
  const auto why = account_problem("other", cfg);
  ASSERT_TRUE(why);
  EXPECT_EQ(why->rfind("account: ", 0), 0u);
  EXPECT_NE(why->find("'other'"), std::string::npos);
  EXPECT_NE(why->find("main, sub"), std::string::npos);
}

TEST(Routing, ModelsListRestrictsAnAccountAndUnknownNamesAreRefused) {
  auto cfg = with_accounts({"main", "flash-only"});
  cfg.source = "vidq.toml";
  cfg.accounts[1].models = {"cogvideox-flash"};
  EXPECT_TRUE(cfg.accounts[0].serves("vidu2-image"));
  EXPECT_TRUE(cfg.accounts[1].serves("cogvideox-flash"));
  EXPECT_FALSE(cfg.accounts[1].serves("cogvideox-3"));
  EXPECT_FALSE(check_account_models(cfg));
  cfg.accounts[1].models.push_back("cogvideox-9");
  const auto bad = check_account_models(cfg);
  ASSERT_TRUE(bad);
  EXPECT_EQ(*bad, "vidq.toml:accounts[1].models: 'cogvideox-9' is not a model vidq knows");
}

TEST(Routing, SpreadGivesEachJobToTheMostFreeAccount) {
  std::size_t turn = 0;
  const std::vector<route_candidate> c = {{"v0", 5}, {"v1", 10}};
  // The first five go to v1 until both have five free, then they alternate.
  const auto got = spread(c, 9, turn);
  EXPECT_EQ(got, (std::vector<int>{2, 7}));
  // Never more than the free slots.
  const auto all = spread(c, 100, turn);
  EXPECT_EQ(all, (std::vector<int>{5, 10}));
  EXPECT_EQ(spread({}, 3, turn), std::vector<int>{});
}

TEST(Routing, TiesTakeTurnsAcrossPasses) {
  std::size_t turn = 0;
  const std::vector<route_candidate> c = {{"a", 3}, {"b", 3}, {"c", 3}};
  // One job per pass (a slot freed at a time): the equals share the work in turn.
  std::vector<int> total(3, 0);
  for (int pass = 0; pass < 6; ++pass) {
    const auto got = spread(c, 1, turn);
    for (std::size_t i = 0; i < 3; ++i) total[i] += got[i];
  }
  EXPECT_EQ(total, (std::vector<int>{2, 2, 2}));
}

TEST(Routing, FullAccountsGetNothing) {
  std::size_t turn = 0;
  const std::vector<route_candidate> c = {{"a", 0}, {"b", 2}, {"c", -1}};
  EXPECT_EQ(spread(c, 5, turn), (std::vector<int>{0, 2, 0}));
}

}  // namespace
}  // namespace vidq::engine
