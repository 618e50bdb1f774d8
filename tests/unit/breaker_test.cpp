#include "vidq/engine/breaker.hpp"

#include <gtest/gtest.h>

namespace vidq::engine {
namespace {

using provider::account_fault;

TEST(Breaker, UnreachableOrMissingEndpointOpensAtOnce) {
  account_breakers b;
  EXPECT_FALSE(b.is_open("a"));
  EXPECT_TRUE(b.on_fault("a", account_fault::unreachable, "connect refused", 1'000));
  EXPECT_TRUE(b.is_open("a"));
  EXPECT_FALSE(b.is_open("b"));
  ASSERT_NE(b.reason("a"), nullptr);
  EXPECT_EQ(*b.reason("a"), "connect refused");
  // Already open: not "opened now" again (one pause, one log line).
  EXPECT_FALSE(b.on_fault("a", account_fault::unreachable, "again", 1'100));
  EXPECT_TRUE(b.on_fault("b", account_fault::endpoint_missing, "404", 1'000));
  EXPECT_FALSE(b.on_fault("c", account_fault::none, "", 1'000));
  EXPECT_FALSE(b.is_open("c"));
}

TEST(Breaker, ServerErrorsOpenOnlyAsAnUnbrokenRun) {
  breaker_config cfg;
  cfg.server_errors_to_open = 3;
  account_breakers b(cfg);
  EXPECT_FALSE(b.on_fault("a", account_fault::server_error, "500", 0));
  EXPECT_FALSE(b.on_fault("a", account_fault::server_error, "500", 0));
  b.on_healthy_reply("a");  // a good reply between them: the run starts over
  EXPECT_FALSE(b.on_fault("a", account_fault::server_error, "500", 0));
  EXPECT_FALSE(b.on_fault("a", account_fault::server_error, "500", 0));
  EXPECT_TRUE(b.on_fault("a", account_fault::server_error, "500", 0));
  EXPECT_TRUE(b.is_open("a"));
}

TEST(Breaker, ProbesBackOffThenCloseOnAnAnswer) {
  breaker_config cfg;
  cfg.first_probe = 2'000;
  cfg.probe_growth = 2.0;
  cfg.max_probe_interval = 10'000;
  account_breakers b(cfg);
  ASSERT_TRUE(b.on_fault("a", account_fault::unreachable, "refused", 0));
  EXPECT_EQ(b.next_probe(), 2'000);
  EXPECT_TRUE(b.take_due_probes(1'999).empty());
  EXPECT_EQ(b.take_due_probes(2'000), std::vector<std::string>{"a"});
  // One probe at a time.
  EXPECT_TRUE(b.take_due_probes(50'000).empty());
  EXPECT_FALSE(b.next_probe());
  b.on_probe_result("a", false, "still refused", 2'100);
  EXPECT_EQ(b.next_probe(), 2'100 + 4'000);
  EXPECT_EQ(*b.reason("a"), "still refused");
  EXPECT_EQ(b.failed_probes("a"), 1);
  (void)b.take_due_probes(6'100);
  b.on_probe_result("a", false, "", 6'100);
  EXPECT_EQ(b.next_probe(), 6'100 + 8'000);
  (void)b.take_due_probes(14'100);
  b.on_probe_result("a", false, "", 14'100);
  EXPECT_EQ(b.next_probe(), 14'100 + 10'000);  // capped
  (void)b.take_due_probes(24'100);
  b.on_probe_result("a", true, "", 24'200);
  EXPECT_FALSE(b.is_open("a"));
  EXPECT_FALSE(b.next_probe());
  EXPECT_EQ(b.failed_probes("a"), 0);
}

TEST(Breaker, RestoredPausesProbeAndOperatorsClose) {
  account_breakers b;
  b.restore_open("a", "from the database", 5'000);
  EXPECT_TRUE(b.is_open("a"));
  EXPECT_EQ(b.next_probe(), 7'000);
  EXPECT_EQ(b.take_due_probes(7'000).size(), 1u);
  b.close("a");  // `vidq account resume` meanwhile
  EXPECT_FALSE(b.is_open("a"));
  b.on_probe_result("a", false, "late answer of the old probe", 7'500);
  EXPECT_FALSE(b.is_open("a"));  // ignored: the breaker is closed
}

}  // namespace
}  // namespace vidq::engine
