#include "vidq/core/latency_histogram.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace vidq {
namespace {

TEST(LatencyHistogram, EmptyAnswersZero) {
  const latency_histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.quantile(0.99), 0);
  EXPECT_EQ(h.max(), 0);
  EXPECT_EQ(h.sum_ms(), 0);
  EXPECT_EQ(h.cumulative(latency_histogram::bounds_ms.size()), 0u);
}

TEST(LatencyHistogram, BucketsAreInclusiveUpperBounds) {
  latency_histogram h;
  h.record(0.1);   // ≤ 0.1
  h.record(0.11);  // ≤ 0.25
  h.record(20);    // ≤ 20
  h.record(20.5);  // ≤ 50
  h.record(5000);  // +Inf
  EXPECT_EQ(h.count(), 5u);
  EXPECT_EQ(h.cumulative(0), 1u);
  EXPECT_EQ(h.cumulative(1), 2u);
  EXPECT_EQ(h.cumulative(6), 2u);   // ≤ 10
  EXPECT_EQ(h.cumulative(7), 3u);   // ≤ 20
  EXPECT_EQ(h.cumulative(8), 4u);   // ≤ 50
  EXPECT_EQ(h.cumulative(11), 4u);  // ≤ 1000
  EXPECT_EQ(h.cumulative(12), 5u);  // +Inf
  EXPECT_EQ(h.cumulative(99), 5u);  // past the end: all of them
  EXPECT_DOUBLE_EQ(h.sum_ms(), 0.1 + 0.11 + 20 + 20.5 + 5000);
  EXPECT_EQ(h.max(), 5000);
}

TEST(LatencyHistogram, QuantileIsTheUpperBoundOfItsBucket) {
  latency_histogram h;
  for (int i = 0; i < 990; ++i) h.record(0.3);  // ≤ 0.5
  for (int i = 0; i < 9; ++i) h.record(15);     // ≤ 20
  h.record(70);                                 // ≤ 100
  EXPECT_EQ(h.quantile(0.5), 0.5);
  EXPECT_EQ(h.quantile(0.99), 0.5);  // rank 990 is the last 0.3
  EXPECT_EQ(h.quantile(0.995), 20);  // rank 995
  EXPECT_EQ(h.quantile(0.999), 20);  // rank 999
  EXPECT_EQ(h.quantile(1.0), 100);   // the largest
  EXPECT_EQ(h.quantile(0.0), 0.5);   // the smallest
  EXPECT_EQ(h.quantile(-1), 0.5);    // clamped
  EXPECT_EQ(h.quantile(7), 100);     // clamped
  EXPECT_EQ(h.max(), 70);
}

TEST(LatencyHistogram, OverflowBucketAnswersTheMaximum) {
  latency_histogram h;
  h.record(1);
  h.record(1500);
  h.record(2500);
  EXPECT_EQ(h.quantile(0.99), 2500);
  EXPECT_EQ(h.quantile(0.3), 1);
}

TEST(LatencyHistogram, NegativeAndNanCountAsZero) {
  latency_histogram h;
  h.record(-4);
  h.record(std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(h.count(), 2u);
  EXPECT_EQ(h.cumulative(0), 2u);
  EXPECT_EQ(h.sum_ms(), 0);
  EXPECT_EQ(h.max(), 0);
  EXPECT_EQ(h.quantile(0.99), 0.1);
}

}  // namespace
}  // namespace vidq
