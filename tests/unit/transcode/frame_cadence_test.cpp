#include "transcode/frame_cadence.h"

#include <gtest/gtest.h>

#include <vector>

namespace mirror::transcode {
namespace {

TEST(FrameCadenceTest, RateFromFpsFindsNtscFractions) {
  EXPECT_EQ(rate_from_fps(29.97002997), (Rate{30000, 1001}));
  EXPECT_EQ(rate_from_fps(59.94005994), (Rate{60000, 1001}));
  EXPECT_EQ(rate_from_fps(50), (Rate{50, 1}));
  EXPECT_FALSE(rate_from_fps(0).valid());
  EXPECT_FALSE(rate_from_fps(-1).valid());
}

TEST(FrameCadenceTest, SourceAtOrBelowTheCapKeepsItsRate) {
  EXPECT_EQ(FrameCadence({30000, 1001}, 30).output_rate(), (Rate{30000, 1001}));
  EXPECT_EQ(FrameCadence({25, 1}, 30).output_rate(), (Rate{25, 1}));
  EXPECT_EQ(FrameCadence({30, 1}, 30).output_rate(), (Rate{30, 1}));
}

TEST(FrameCadenceTest, FasterSourceIsBroughtDownToTheCap) {
  EXPECT_EQ(FrameCadence({50, 1}, 30).output_rate(), (Rate{30, 1}));
  EXPECT_EQ(FrameCadence({60000, 1001}, 30).output_rate(), (Rate{30, 1}));
  // Unknown source rate: the cap.
  EXPECT_EQ(FrameCadence({}, 25).output_rate(), (Rate{25, 1}));
}

TEST(FrameCadenceTest, FiftyToThirtyFillsThreeSlotsOfEveryFiveFrames) {
  FrameCadence c({50, 1}, 30);
  c.restart(900000);
  std::vector<std::int64_t> filled;
  std::int64_t last = -1;
  for (int i = 0; i < 50; ++i) {
    const std::int64_t slot = c.slot_of(900000 + i * 1800);
    if (slot > last) {
      filled.push_back(slot);
      last = slot;
    }
  }
  // One second of source: every slot of the 30 fps grid, once.
  ASSERT_EQ(filled.size(), 30u);
  for (std::size_t i = 0; i < filled.size(); ++i) EXPECT_EQ(filled[i], static_cast<std::int64_t>(i));
  EXPECT_EQ(c.time_of(3), 900000 + 9000);
}

TEST(FrameCadenceTest, JitteredTimestampsLandOnTheirOwnSlots) {
  FrameCadence c({30, 1}, 30);
  c.restart(0);
  for (int i = 0; i < 100; ++i) {
    const int jitter = (i % 3) - 1;  // +-1 tick, as a 90 kHz rounding gives
    EXPECT_EQ(c.slot_of(i * 3000 + jitter), i);
  }
}

TEST(FrameCadenceTest, NtscGridHasExactTimes) {
  FrameCadence c({30000, 1001}, 30);
  c.restart(1000);
  EXPECT_EQ(c.time_of(1), 1000 + 3003);
  EXPECT_EQ(c.time_of(1000), 1000 + 3003000);
  EXPECT_EQ(c.frames_per_keyframe(std::chrono::milliseconds(500)), 15);
}

TEST(FrameCadenceTest, KeyframeIntervalIsAWholeNumberOfFrames) {
  EXPECT_EQ(FrameCadence({25, 1}, 30).frames_per_keyframe(std::chrono::milliseconds(500)), 13);
  EXPECT_EQ(FrameCadence({50, 1}, 30).frames_per_keyframe(std::chrono::milliseconds(500)), 15);
  EXPECT_EQ(FrameCadence({50, 1}, 30).frames_per_keyframe(std::chrono::milliseconds(1)), 1);
}

TEST(SlotClaimsTest, ASlotIsClaimedOnceAndForgottenOnceOutput) {
  SlotClaims claims;
  EXPECT_TRUE(claims.free(4));
  claims.claim(4);
  claims.claim(4);
  EXPECT_FALSE(claims.free(4));
  claims.claim(5);
  claims.output(4);
  EXPECT_TRUE(claims.free(4));
  EXPECT_FALSE(claims.free(5));
}

TEST(SlotClaimsTest, StaysBoundedWhateverItIsFed) {
  SlotClaims claims;
  for (int i = 0; i < 10000; ++i) claims.claim(i * 7919 % 100003);
  // Old claims are dropped first; the newest is still there.
  EXPECT_FALSE(claims.free(9999 * 7919 % 100003));
  EXPECT_TRUE(claims.free(0 * 7919 % 100003 + 1));
}

}  // namespace
}  // namespace mirror::transcode
