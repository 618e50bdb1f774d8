#include "vidq/engine/db_lock.hpp"

#include <gtest/gtest.h>

namespace vidq::engine {
namespace {

TEST(DbLockWatch, FreeLockLetsEveryWriteThrough) {
  db_lock_watch w(100);
  EXPECT_TRUE(w.may_try(0));
  EXPECT_TRUE(w.may_try(0));
  EXPECT_FALSE(w.locked());
}

TEST(DbLockWatch, HeldLockLetsOneAttemptThroughPerPeriod) {
  db_lock_watch w(100);
  w.on_busy(1'000);
  EXPECT_TRUE(w.locked());
  EXPECT_EQ(w.locked_since(), 1'000);
  EXPECT_FALSE(w.may_try(1'050));
  EXPECT_TRUE(w.may_try(1'100));   // this one is let through ...
  EXPECT_FALSE(w.may_try(1'100));  // ... and no other in the same period
  EXPECT_EQ(w.next_try(), 1'200);
  w.on_busy(1'125);  // still held: since stays where the lock began
  EXPECT_EQ(w.locked_since(), 1'000);
  EXPECT_EQ(w.next_try(), 1'225);
  w.on_ok();
  EXPECT_FALSE(w.locked());
  EXPECT_TRUE(w.may_try(1'130));
}

}  // namespace
}  // namespace vidq::engine
