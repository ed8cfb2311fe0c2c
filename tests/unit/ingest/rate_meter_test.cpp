#include "ingest/rate_meter.h"

#include <gtest/gtest.h>

namespace mirror::ingest {
namespace {

using namespace std::chrono_literals;

TEST(RateMeter, AveragesCompleteSeconds) {
  RateMeter m;
  RateMeter::Clock::time_point t0{std::chrono::seconds(1000)};
  for (int s = 0; s < 10; ++s) m.add(1000 * (s + 1), t0 + std::chrono::seconds(s));
  auto now = t0 + 10s;
  EXPECT_DOUBLE_EQ(m.per_second(1, now), 10000);
  EXPECT_DOUBLE_EQ(m.per_second(10, now), 5500);
  EXPECT_EQ(m.total(), 55000u);
}

TEST(RateMeter, SilentSecondsCountAsZero) {
  RateMeter m;
  RateMeter::Clock::time_point t0{std::chrono::seconds(5000)};
  m.add(500, t0);
  EXPECT_DOUBLE_EQ(m.per_second(1, t0 + 1s), 500);
  EXPECT_DOUBLE_EQ(m.per_second(1, t0 + 30s), 0);
  // A bucket reused after wrapping around does not leak old amounts.
  m.add(7, t0 + 12s);
  EXPECT_DOUBLE_EQ(m.per_second(1, t0 + 13s), 7);
}

}  // namespace
}  // namespace mirror::ingest
