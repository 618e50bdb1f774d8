#include "vidq/engine/disk_pressure.hpp"
#include "vidq/engine/fetch.hpp"

#include <gtest/gtest.h>

#include <cerrno>

namespace vidq::engine {
namespace {

error_code sys(int e) { return {e, boost::system::system_category()}; }

TEST(DiskPressure, FullDiskQuotaAndIoErrorsAreTheHostsNotTheJobs) {
  EXPECT_TRUE(is_disk_pressure(sys(ENOSPC)));
  EXPECT_TRUE(is_disk_pressure(sys(EDQUOT)));
  EXPECT_TRUE(is_disk_pressure(sys(EIO)));
  EXPECT_TRUE(is_disk_pressure(error_code(ENOSPC, boost::system::generic_category())));
  EXPECT_FALSE(is_disk_pressure(sys(EACCES)));
  EXPECT_FALSE(is_disk_pressure(sys(ENOENT)));
  EXPECT_FALSE(is_disk_pressure(error_code()));
  // The same number in another category is not an errno.
  EXPECT_FALSE(is_disk_pressure(make_error_code(errc::io_error)));
}

TEST(DiskPressure, ClassifiedAsALocalPauseThatKeepsTheAttempt) {
  net::request_error e{sys(ENOSPC), net::delivery::maybe_delivered, net::step::file, 200, false, {}};
  const auto v = classify_download_error(e, false);
  EXPECT_EQ(v.what, provider::action::retry);
  EXPECT_EQ(v.hint, provider::retry_hint::local_disk);
  EXPECT_EQ(v.error_code, "disk_full");
  EXPECT_FALSE(v.consumes_attempt);
  // Another file error stays a retried download_io; a network error stays what it was.
  e.ec = sys(EACCES);
  EXPECT_EQ(classify_download_error(e, false).error_code, "download_io");
  EXPECT_EQ(classify_download_error(e, false).hint, provider::retry_hint::normal);
  e.ec = sys(ENOSPC);
  e.step = net::step::read_body;  // ENOSPC from a socket step cannot be the output disk
  EXPECT_NE(classify_download_error(e, false).hint, provider::retry_hint::local_disk);
}

TEST(DiskPressure, LowSpaceHoldsAdmissionOnlyBelowTheFloor) {
  EXPECT_FALSE(low_space_block(0, 0));  // a floor of 0 never holds
  EXPECT_FALSE(low_space_block(100u << 20, 100u << 20));
  const auto why = low_space_block(10u << 20, 100u << 20);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("10 MiB free"), std::string::npos) << *why;
  EXPECT_NE(why->find("min_free_mb (100 MiB)"), std::string::npos) << *why;
}

TEST(DiskPause, AWriteFailurePausesAndALookWithSpaceResumes) {
  disk_pause p(0);
  EXPECT_FALSE(p.downloads_paused());
  p.on_write_failed("disk_full: No space left on device", 10'000);
  EXPECT_TRUE(p.downloads_paused());
  EXPECT_FALSE(p.admission_paused());  // floor 0
  EXPECT_EQ(p.next_check(), 11'000);   // first look after a second
  auto v = p.view();
  EXPECT_TRUE(v.downloads_paused);
  EXPECT_EQ(v.since, 10'000);
  EXPECT_NE(v.reason.find("No space left"), std::string::npos);
  // Still full: looks grow apart (1 s, 2 s, 4 s ...).
  EXPECT_FALSE(p.on_free_space(0, 11'000));
  EXPECT_EQ(p.next_check(), 13'000);
  EXPECT_FALSE(p.on_free_space(0, 13'000));
  EXPECT_EQ(p.next_check(), 17'000);
  // Space returned.
  EXPECT_TRUE(p.on_free_space(5u << 20, 17'000));
  EXPECT_FALSE(p.downloads_paused());
  EXPECT_TRUE(p.view().reason.empty());
  EXPECT_FALSE(p.view().since);
  EXPECT_EQ(p.view().free_bytes, 5u << 20);
}

TEST(DiskPause, AWriteFailingAgainRightAfterAResumeBacksOffFurther) {
  disk_pause p(0);
  p.on_write_failed("full", 0);
  EXPECT_EQ(p.next_check(), 1'000);
  EXPECT_TRUE(p.on_free_space(1, 1'000));  // one byte free: worth a try
  p.on_write_failed("full", 1'100);        // not enough after all
  EXPECT_EQ(p.next_check(), 1'100 + 2'000);
  for (int i = 0; i < 10; ++i) p.on_write_failed("full", 50'000);
  EXPECT_EQ(p.next_check(), 50'000 + 30'000);  // capped
  // A good write starts the next pause from the short wait again.
  EXPECT_TRUE(p.on_free_space(1u << 30, 80'000));
  p.on_write_ok();
  p.on_write_failed("full", 90'000);
  EXPECT_EQ(p.next_check(), 91'000);
}

TEST(DiskPause, BelowTheFloorAdmissionHoldsAndDownloadsWaitForTheFloor) {
  const std::uint64_t floor = 100u << 20;
  disk_pause p(floor);
  EXPECT_FALSE(p.on_free_space(50u << 20, 0));
  EXPECT_TRUE(p.admission_paused());
  EXPECT_FALSE(p.downloads_paused());
  EXPECT_EQ(p.view().since, 0);
  EXPECT_EQ(p.next_check(), 1'000);  // looked at often while admission waits
  p.on_write_failed("full", 500);
  EXPECT_FALSE(p.on_free_space(60u << 20, 1'500));  // under the floor: still paused
  EXPECT_TRUE(p.downloads_paused());
  EXPECT_TRUE(p.on_free_space(200u << 20, 4'000));
  EXPECT_FALSE(p.admission_paused());
  EXPECT_FALSE(p.downloads_paused());
  p.on_write_ok();
  EXPECT_FALSE(p.on_free_space(200u << 20, 5'000));
  EXPECT_EQ(p.next_check(), 15'000);  // steady look when all is well
  EXPECT_TRUE(p.view().reason.empty());
}

TEST(DiskPause, AFailedLookKeepsThePause) {
  disk_pause p(0);
  p.on_write_failed("full", 0);
  p.on_check_failed(1'000);
  EXPECT_TRUE(p.downloads_paused());
  EXPECT_EQ(p.next_check(), 3'000);
}

}  // namespace
}  // namespace vidq::engine
