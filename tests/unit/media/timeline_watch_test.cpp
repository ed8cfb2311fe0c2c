#include "media/timeline_watch.h"

#include <gtest/gtest.h>

#include <memory>

namespace mirror::media {
namespace {

CodecConfigPtr config(TrackKind kind, std::uint32_t timescale) {
  auto c = std::make_shared<CodecConfig>();
  c->kind = kind;
  c->timescale = timescale;
  return c;
}

MediaFrame video(std::int64_t dts) {
  MediaFrame f;
  f.kind = TrackKind::kVideo;
  f.dts = dts;
  f.pts = dts + 6000;  // B-frame reordering shows in pts only
  f.config = config(TrackKind::kVideo, 90000);
  return f;
}

MediaFrame audio(std::int64_t pts48k) {
  MediaFrame f;
  f.kind = TrackKind::kAudio;
  f.dts = f.pts = pts48k;
  f.config = config(TrackKind::kAudio, 48000);
  return f;
}

TEST(TimelineWatchTest, StepsWithinTheLimitsAreNoJump) {
  TimelineWatch w({90000, 90000});
  EXPECT_FALSE(w.jumped(video(1'000'000)));
  EXPECT_FALSE(w.jumped(video(1'003'000)));
  EXPECT_FALSE(w.jumped(video(1'003'000 + 89'000)));  // a hole under a second
  EXPECT_FALSE(w.jumped(video(1'003'000)));           // back under a second
  EXPECT_EQ(w.last(TrackKind::kVideo), 1'003'000);
  EXPECT_FALSE(w.last(TrackKind::kAudio).has_value());
}

TEST(TimelineWatchTest, BackOrFarForwardIsAJump) {
  TimelineWatch w({90000, 5 * 90000});
  EXPECT_FALSE(w.jumped(video(1'000'000)));
  EXPECT_TRUE(w.jumped(video(1'000'000 - 90'001)));
  w.restart(video(0));
  EXPECT_EQ(w.last(TrackKind::kVideo), 0);
  EXPECT_FALSE(w.jumped(video(4 * 90000)));  // a hole the transcoder fills
  EXPECT_TRUE(w.jumped(video(10 * 90000)));
}

TEST(TimelineWatchTest, ALeapToWhereTheOtherTrackIsIsAGap) {
  // The audio encoder falls silent for 3 s while the video goes on.
  TimelineWatch w({90000, 90000});
  EXPECT_FALSE(w.jumped(audio(48000)));  // 1 s
  EXPECT_FALSE(w.jumped(video(90000)));
  for (int i = 1; i <= 90; ++i) EXPECT_FALSE(w.jumped(video(90000 + i * 3000)));
  EXPECT_FALSE(w.jumped(audio(4 * 48000)));  // 4 s: where the video is
  EXPECT_EQ(w.last(TrackKind::kAudio), 4 * 90000);
  // The same leap with the video elsewhere is a break.
  EXPECT_TRUE(w.jumped(audio(20 * 48000)));
}

TEST(TimelineWatchTest, FramesWithoutAConfigurationAreIgnored) {
  TimelineWatch w({90000, 90000});
  MediaFrame f = video(1'000'000);
  f.config.reset();
  EXPECT_FALSE(w.jumped(f));
  EXPECT_FALSE(w.last(TrackKind::kVideo).has_value());
}

TEST(TimelineWatchTest, To90kRescalesWithoutOverflow) {
  EXPECT_EQ(to_90k(48000, 48000), 90000);
  EXPECT_EQ(to_90k(123, 90000), 123);
  EXPECT_EQ(to_90k(123, 0), 123);
  EXPECT_EQ(to_90k(std::int64_t{1} << 50, 48000), ((std::int64_t{1} << 50) / 48000) * 90000 +
                                                       ((std::int64_t{1} << 50) % 48000) * 90000 / 48000);
}

}  // namespace
}  // namespace mirror::media
