#include "media/timestamp.h"

#include <gtest/gtest.h>

namespace mirror::media {
namespace {

constexpr std::int64_t k33 = std::int64_t{1} << 33;
constexpr std::int64_t k32 = std::int64_t{1} << 32;

TEST(TimestampUnwrapperTest, FirstValuePassesThrough) {
  TimestampUnwrapper u(33);
  EXPECT_FALSE(u.has_last());
  EXPECT_EQ(u.unwrap(123456), 123456);
  EXPECT_TRUE(u.has_last());
  EXPECT_EQ(u.last(), 123456);
  EXPECT_EQ(u.bits(), 33);
}

TEST(TimestampUnwrapperTest, FollowsThePtsWrapForward) {
  TimestampUnwrapper u(33);
  EXPECT_EQ(u.unwrap(k33 - 3000), k33 - 3000);
  EXPECT_EQ(u.unwrap(k33 - 1), k33 - 1);
  EXPECT_EQ(u.unwrap(0), k33);
  EXPECT_EQ(u.unwrap(3000), k33 + 3000);
  // And through a second wrap, going forward in steps of less than half.
  EXPECT_EQ(u.unwrap(k33 / 2), k33 + k33 / 2);
  EXPECT_EQ(u.unwrap(k33 - 10), 2 * k33 - 10);
  EXPECT_EQ(u.unwrap(5), 2 * k33 + 5);
}

TEST(TimestampUnwrapperTest, SmallBackwardStepsStayBackward) {
  // B-frame PTS in decode order: 3003, 9009, 6006 ...
  TimestampUnwrapper u(33);
  EXPECT_EQ(u.unwrap(3003), 3003);
  EXPECT_EQ(u.unwrap(9009), 9009);
  EXPECT_EQ(u.unwrap(6006), 6006);
  EXPECT_EQ(u.unwrap(15015), 15015);
  // Across the wrap: a B-frame just before it after a P-frame just after it.
  TimestampUnwrapper w(33);
  EXPECT_EQ(w.unwrap(k33 - 6000), k33 - 6000);
  EXPECT_EQ(w.unwrap(3000), k33 + 3000);
  EXPECT_EQ(w.unwrap(k33 - 3000), k33 - 3000);
  EXPECT_EQ(w.unwrap(6000), k33 + 6000);
}

TEST(TimestampUnwrapperTest, WrapsBackwardWhenTheStreamStartsJustAfterAWrap) {
  TimestampUnwrapper u(33);
  EXPECT_EQ(u.unwrap(1000), 1000);
  EXPECT_EQ(u.unwrap(k33 - 2000), -2000);
  EXPECT_EQ(u.unwrap(4000), 4000);
}

TEST(TimestampUnwrapperTest, HalfTheRangeIsTheWrapThreshold) {
  TimestampUnwrapper u(32);
  EXPECT_EQ(u.unwrap(0), 0);
  EXPECT_EQ(u.unwrap(k32 / 2), k32 / 2) << "exactly half: a step forward";
  EXPECT_EQ(u.unwrap(1), 1) << "back by less than half: a step back";
  TimestampUnwrapper v(32);
  EXPECT_EQ(v.unwrap(100), 100);
  EXPECT_EQ(v.unwrap(100 + k32 / 2 + 1), 100 + k32 / 2 + 1 - k32) << "more than half: a wrap back";
}

TEST(TimestampUnwrapperTest, UsesOnlyTheLowBits) {
  TimestampUnwrapper u(32);
  EXPECT_EQ(u.unwrap(0xffffffff00000005ULL), 5);
  EXPECT_EQ(u.unwrap(0x0000000100000007ULL), 7);
}

TEST(TimestampUnwrapperTest, RtpThirtyTwoBitWrapFromRandomStart) {
  TimestampUnwrapper u(32);
  std::uint32_t rtp = 0xfffff000u;
  std::int64_t expected = rtp;
  EXPECT_EQ(u.unwrap(rtp), expected);
  for (int i = 0; i < 10; ++i) {
    rtp += 3000;  // wraps on the second step
    expected += 3000;
    EXPECT_EQ(u.unwrap(rtp), expected);
  }
}

TEST(TimestampUnwrapperTest, ResetStartsANewTimeline) {
  TimestampUnwrapper u(33);
  u.unwrap(k33 - 10);
  EXPECT_EQ(u.unwrap(10), k33 + 10);
  u.reset();
  EXPECT_FALSE(u.has_last());
  EXPECT_EQ(u.unwrap(10), 10);
}

TEST(TimestampUnwrapperTest, ClampsBitWidth) {
  TimestampUnwrapper tiny(0);
  EXPECT_EQ(tiny.bits(), 1);
  TimestampUnwrapper huge(64);
  EXPECT_EQ(huge.bits(), 62);
  EXPECT_EQ(huge.unwrap(12345), 12345);
}

}  // namespace
}  // namespace mirror::media
