// The pool is sans-io: these tests drive it with hand-made time points and plain ints as
// "connections", no socket and no sleeping.
#include "vidq/net/connection_pool.hpp"

#include <gtest/gtest.h>

#include <memory>

namespace vidq::net {
namespace {

using pool = basic_connection_pool<int>;
using std::chrono::seconds;
const pool::time_point t0{};

pool_limits limits(std::size_t per_host, std::size_t total, milliseconds idle) {
  pool_limits l;
  l.max_idle_per_host = per_host;
  l.max_idle_total = total;
  l.idle_timeout = idle;
  return l;
}

TEST(NetConnectionPool, TakesTheNewestConnectionOfTheRightHostFirst) {
  pool p(limits(4, 16, seconds(30)));
  p.put("https://a:443", 1, t0);
  p.put("https://b:443", 2, t0 + seconds(1));
  p.put("https://a:443", 3, t0 + seconds(2));
  EXPECT_EQ(p.take("https://a:443", t0 + seconds(3), seconds(30)), 3);
  EXPECT_EQ(p.take("https://a:443", t0 + seconds(3), seconds(30)), 1);
  EXPECT_EQ(p.take("https://a:443", t0 + seconds(3), seconds(30)), std::nullopt);
  EXPECT_EQ(p.idle(), 1u);
  EXPECT_EQ(p.idle("https://b:443"), 1u);
}

TEST(NetConnectionPool, IdleTimeoutDropsConnections) {
  pool p(limits(4, 16, seconds(10)));
  p.put("k", 1, t0);
  p.put("k", 2, t0 + seconds(5));
  EXPECT_EQ(p.sweep(t0 + seconds(10)), 1u);  // the first expired exactly at 10 s
  EXPECT_EQ(p.take("k", t0 + seconds(14), seconds(60)), 2);
  p.put("k", 3, t0);
  EXPECT_EQ(p.take("k", t0 + seconds(11), seconds(60)), std::nullopt);
  EXPECT_EQ(p.idle(), 0u);
}

TEST(NetConnectionPool, MaxIdleOfTheCallerLeavesOlderConnectionsForOthers) {
  // What an unsafe method (POST) asks: nothing idle for more than 2 s; a GET still gets it.
  pool p(limits(4, 16, seconds(30)));
  p.put("k", 1, t0);
  EXPECT_EQ(p.take("k", t0 + seconds(5), seconds(2)), std::nullopt);
  EXPECT_EQ(p.idle("k"), 1u);
  EXPECT_EQ(p.take("k", t0 + seconds(5), seconds(30)), 1);
}

TEST(NetConnectionPool, PerHostLimitEvictsTheOldestOfThatHost) {
  pool p(limits(2, 16, seconds(30)));
  p.put("b", 10, t0);
  p.put("a", 1, t0 + seconds(1));
  p.put("a", 2, t0 + seconds(2));
  p.put("a", 3, t0 + seconds(3));
  EXPECT_EQ(p.idle("a"), 2u);
  EXPECT_EQ(p.idle("b"), 1u);
  EXPECT_EQ(p.take("a", t0 + seconds(4), seconds(30)), 3);
  EXPECT_EQ(p.take("a", t0 + seconds(4), seconds(30)), 2);
}

TEST(NetConnectionPool, TotalLimitEvictsTheOldestOfAnyHost) {
  pool p(limits(4, 2, seconds(30)));
  p.put("a", 1, t0);
  p.put("b", 2, t0 + seconds(1));
  p.put("c", 3, t0 + seconds(2));
  EXPECT_EQ(p.idle(), 2u);
  EXPECT_EQ(p.idle("a"), 0u);
}

TEST(NetConnectionPool, KeepAliveHintShortensTheLifetime) {
  pool p(limits(4, 16, seconds(30)));
  p.put("k", 1, t0, pool::duration(seconds(4)));
  EXPECT_EQ(p.take("k", t0 + seconds(5), seconds(30)), std::nullopt);
  p.put("k", 2, t0, pool::duration(seconds(0)));  // "timeout=1" minus the margin: not kept
  EXPECT_EQ(p.idle(), 0u);
}

TEST(NetConnectionPool, ZeroLimitsDisablePoolingAndDestroyTheConnection) {
  basic_connection_pool<std::unique_ptr<int>> p(limits(0, 16, seconds(30)));
  auto c = std::make_unique<int>(7);
  p.put("k", std::move(c), t0);
  EXPECT_EQ(p.idle(), 0u);
}

}  // namespace
}  // namespace vidq::net
