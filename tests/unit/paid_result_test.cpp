#include "vidq/engine/paid_result.hpp"

#include <gtest/gtest.h>

namespace vidq::engine {
namespace {

using provider::action;

provider::verdict verdict_of(action what, std::string code) {
  provider::verdict v;
  v.what = what;
  v.error_code = std::move(code);
  return v;
}

TEST(PaidResult, LocalAndTransientDownloadFailuresAreFetchedAgainABoundedNumberOfTimes) {
  for (const char* code : {"download_io", "download_truncated", "download_network", "download_http_503"}) {
    const auto v = verdict_of(action::retry, code);
    EXPECT_EQ(after_download_gave_up(v, 0, 2), download_give_up::refetch) << code;
    EXPECT_EQ(after_download_gave_up(v, 1, 2), download_give_up::refetch) << code;
    EXPECT_EQ(after_download_gave_up(v, 2, 2), download_give_up::fail) << code << ": the bound is per job";
    EXPECT_EQ(after_download_gave_up(v, 0, 0), download_give_up::fail) << code << ": 0 turns it off";
  }
}

TEST(PaidResult, FinalVerdictsAndCancellationAreNotFetchedAgain) {
  for (const char* code : {"url_expired", "download_refused", "download_too_large", "download_http_400"}) {
    EXPECT_EQ(after_download_gave_up(verdict_of(action::fail_job, code), 0, 2), download_give_up::fail) << code;
  }
  EXPECT_EQ(after_download_gave_up(verdict_of(action::retry, "cancelled"), 0, 2), download_give_up::fail);
}

}  // namespace
}  // namespace vidq::engine
