#include "media/aac_framer.h"

#include "unit/media/bit_writer.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace mirror::media {
namespace {

using Clock = std::chrono::system_clock;

// One ADTS frame: header, then `payload_size` bytes of `fill`.
Bytes adts_frame(std::size_t payload_size, std::uint8_t fill, int sr_index = 3, int channels = 2,
                 bool crc = false, int raw_blocks = 0, int object_type = 2) {
  const std::size_t header = crc ? 9 : 7;
  testing::BitWriter w;
  w.bits(0xfff, 12).bit(false).bits(0, 2).bit(!crc);
  w.bits(static_cast<std::uint64_t>(object_type - 1), 2)
      .bits(static_cast<std::uint64_t>(sr_index), 4);
  w.bit(false).bits(static_cast<std::uint64_t>(channels), 3).bits(0, 4);
  w.bits(header + payload_size, 13).bits(0x7ff, 11).bits(static_cast<std::uint64_t>(raw_blocks), 2);
  if (crc) w.bits(0x1234, 16);
  Bytes out = w.bytes();
  out.insert(out.end(), payload_size, fill);
  return out;
}

Bytes join(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

Bytes payload(const MediaFrame& frame) {
  return Bytes(frame.payload.bytes().begin(), frame.payload.bytes().end());
}

struct Harness {
  Harness() : framer([this](MediaFrame f) { frames.push_back(std::move(f)); }) {}
  void push(const Bytes& data, std::int64_t pts, Clock::time_point arrival = Clock::time_point{}) {
    framer.push(data, pts, arrival);
  }
  std::vector<MediaFrame> frames;
  AacFramer framer;
};

TEST(AacFramerTest, SplitsSeveralFramesOfOnePesAndStripsHeaders) {
  Harness h;
  h.push(join({adts_frame(10, 0xa1), adts_frame(20, 0xa2), adts_frame(30, 0xa3)}), 90000);
  ASSERT_EQ(h.frames.size(), 3u);
  EXPECT_EQ(payload(h.frames[0]), Bytes(10, 0xa1));
  EXPECT_EQ(payload(h.frames[2]), Bytes(30, 0xa3));
  EXPECT_EQ(h.frames[0].pts, 48000) << "one second at 90 kHz is 48000 samples";
  EXPECT_EQ(h.frames[1].pts, 49024);
  EXPECT_EQ(h.frames[2].pts, 50048);
  EXPECT_EQ(h.frames[2].dts, 50048);
  EXPECT_EQ(h.frames[0].duration, 1024);
  EXPECT_TRUE(h.frames[0].keyframe);
  EXPECT_EQ(h.frames[0].kind, TrackKind::kAudio);
  EXPECT_EQ(h.frames[0].codec, Codec::kAac);
  EXPECT_EQ(h.frames[0].track, 1u);
  EXPECT_TRUE(h.frames[0].config_changed);
  EXPECT_FALSE(h.frames[1].config_changed);
  const auto& config = h.frames[0].config;
  ASSERT_TRUE(config);
  EXPECT_EQ(config->codec_string, "mp4a.40.2");
  EXPECT_EQ(config->timescale, 48000u);
  EXPECT_EQ(config->sample_rate, 48000);
  EXPECT_EQ(config->channels, 2);
  EXPECT_EQ(config->audio_object_type, 2);
  EXPECT_EQ(config->samples_per_frame, 1024);
  EXPECT_EQ(config->audio_specific_config, (Bytes{0x11, 0x90}));
  EXPECT_EQ(h.frames[1].config, config);
  EXPECT_EQ(h.framer.counters().frames, 3u);
  EXPECT_EQ(h.framer.counters().sync_errors, 0u);
}

TEST(AacFramerTest, CarriesAFrameThatStraddlesTwoPes) {
  Harness h;
  const Bytes stream = join({adts_frame(10, 1), adts_frame(100, 2), adts_frame(10, 3)});
  const std::size_t cut = 17 + 40;  // inside the second frame
  h.push(Bytes(stream.begin(), stream.begin() + cut), 0,
         Clock::time_point{} + std::chrono::seconds(1));
  ASSERT_EQ(h.frames.size(), 1u);
  // The second PES's timestamp belongs to the first frame that starts in it.
  h.push(Bytes(stream.begin() + cut, stream.end()), 2 * 1920,
         Clock::time_point{} + std::chrono::seconds(2));
  ASSERT_EQ(h.frames.size(), 3u);
  EXPECT_EQ(payload(h.frames[1]), Bytes(100, 2));
  EXPECT_EQ(h.frames[1].pts, 1024);
  EXPECT_EQ(h.frames[1].arrival, Clock::time_point{} + std::chrono::seconds(1));
  EXPECT_EQ(h.frames[2].pts, 2048);
  EXPECT_EQ(h.frames[2].arrival, Clock::time_point{} + std::chrono::seconds(2));
}

TEST(AacFramerTest, CarriesASplitHeader) {
  for (std::size_t cut = 1; cut < 9; ++cut) {
    Harness h;
    const Bytes stream = join({adts_frame(10, 1, 3, 2, true), adts_frame(12, 2)});
    h.push(Bytes(stream.begin(), stream.begin() + cut), 0);
    EXPECT_TRUE(h.frames.empty());
    h.push(Bytes(stream.begin() + cut, stream.end()), kNoTimestamp);
    ASSERT_EQ(h.frames.size(), 2u) << cut;
    EXPECT_EQ(payload(h.frames[0]), Bytes(10, 1)) << "the 9-byte CRC header is stripped";
    EXPECT_EQ(payload(h.frames[1]), Bytes(12, 2));
    EXPECT_EQ(h.frames[1].pts, 1024);
  }
}

TEST(AacFramerTest, ByteByByteEqualsWhole) {
  Bytes stream;
  for (int i = 0; i < 20; ++i)
    stream = join(
        {stream, adts_frame(static_cast<std::size_t>(5 + i * 7), static_cast<std::uint8_t>(i))});
  Harness whole;
  whole.push(stream, 900);
  Harness bytes;
  for (std::size_t i = 0; i < stream.size(); ++i)
    bytes.push(Bytes{stream[i]}, i == 0 ? 900 : kNoTimestamp);
  ASSERT_EQ(whole.frames.size(), 20u);
  ASSERT_EQ(bytes.frames.size(), 20u);
  for (std::size_t i = 0; i < 20; ++i) {
    EXPECT_EQ(payload(bytes.frames[i]), payload(whole.frames[i]));
    EXPECT_EQ(bytes.frames[i].pts, whole.frames[i].pts);
  }
  EXPECT_EQ(whole.frames[0].pts, 480);
}

TEST(AacFramerTest, RoundingOfPesTimestampsKeepsDurationsExact) {
  Harness h;
  // 44.1 kHz: 1024 samples are 2089.795... ticks of 90 kHz; muxers round.
  for (int i = 0; i < 50; ++i) {
    const auto pts = static_cast<std::int64_t>(std::llround(1000000 + i * 1024 * 90000.0 / 44100));
    h.push(adts_frame(8, 0, 4, 2), pts);
  }
  ASSERT_EQ(h.frames.size(), 50u);
  for (std::size_t i = 1; i < h.frames.size(); ++i) {
    EXPECT_EQ(h.frames[i].pts - h.frames[i - 1].pts, 1024) << i;
  }
  EXPECT_EQ(h.frames[0].config->timescale, 44100u);
}

TEST(AacFramerTest, FollowsATimestampJump) {
  Harness h;
  h.push(adts_frame(8, 0), 90000);
  h.push(adts_frame(8, 0), 90000 + 1920);
  h.push(adts_frame(8, 0), 900000);
  ASSERT_EQ(h.frames.size(), 3u);
  EXPECT_EQ(h.frames[1].pts, 49024);
  EXPECT_EQ(h.frames[2].pts, 480000);
}

TEST(AacFramerTest, StartsAtZeroWithoutTimestamps) {
  Harness h;
  h.push(join({adts_frame(8, 0), adts_frame(8, 0)}), kNoTimestamp);
  ASSERT_EQ(h.frames.size(), 2u);
  EXPECT_EQ(h.frames[0].pts, 0);
  EXPECT_EQ(h.frames[1].pts, 1024);
}

TEST(AacFramerTest, ResyncsAfterGarbageAndCountsOnce) {
  Harness h;
  const Bytes garbage = {0x00, 0x12, 0xff, 0x00, 0xff, 0xf1, 0xff, 0x34, 0x56};
  h.push(join({adts_frame(10, 1), garbage, adts_frame(10, 2), adts_frame(10, 3)}), 0);
  ASSERT_EQ(h.frames.size(), 3u);
  EXPECT_EQ(payload(h.frames[1]), Bytes(10, 2));
  EXPECT_EQ(h.framer.counters().sync_errors, 1u);
  EXPECT_EQ(h.framer.counters().skipped_bytes, garbage.size());
  EXPECT_EQ(h.frames[1].pts, 1024) << "timing continues";
}

TEST(AacFramerTest, RejectsFalseSyncWordsWithInvalidHeaders) {
  Harness h;
  Bytes fake = adts_frame(10, 9);
  fake[2] = static_cast<std::uint8_t>((fake[2] & ~0x3c) | (14 << 2));  // sampling index 14
  h.push(join({fake, adts_frame(10, 1)}), 0);
  ASSERT_EQ(h.frames.size(), 1u);
  EXPECT_EQ(payload(h.frames[0]), Bytes(10, 1));
  EXPECT_EQ(h.framer.counters().sync_errors, 1u);
}

TEST(AacFramerTest, SkipsACarriedHeaderThatTurnsOutInvalid) {
  Harness h;
  h.push(Bytes{0x55, 0xff, 0xf1}, 0);           // looks like the start of a header
  Bytes rest = {0xfc, 0x80, 0x02, 0x1f, 0xfc};  // index 15: not a header after all
  const Bytes good = adts_frame(10, 7);
  rest.insert(rest.end(), good.begin(), good.end());
  h.push(rest, 90000);
  ASSERT_EQ(h.frames.size(), 1u);
  EXPECT_EQ(payload(h.frames[0]), Bytes(10, 7));
  EXPECT_EQ(h.frames[0].pts, 48000);
  EXPECT_EQ(h.framer.counters().sync_errors, 1u);
}

TEST(AacFramerTest, GarbageInRandomPiecesFramesLikeWhole) {
  std::mt19937 rng(99);
  Bytes stream;
  for (int i = 0; i < 60; ++i) {
    if (i % 4 == 1) {
      // Garbage rich in near-sync words: 0xFF, 0xF1, 0xF0.
      const std::uint8_t pool[] = {0xff, 0xf1, 0xf0, 0x00, 0x4c, 0x80};
      for (int n = 0; n < 1 + static_cast<int>(rng() % 12); ++n) stream.push_back(pool[rng() % 6]);
    }
    const Bytes frame = adts_frame(rng() % 40, static_cast<std::uint8_t>(i), 3, 2, i % 5 == 0);
    stream.insert(stream.end(), frame.begin(), frame.end());
  }
  stream.push_back(0xff);  // a trailing byte that may or may not begin a header
  Harness whole;
  whole.push(stream, 0);
  whole.framer.flush();
  ASSERT_GT(whole.frames.size(), 40u);
  for (int round = 0; round < 50; ++round) {
    Harness pieces;
    std::size_t pos = 0;
    while (pos < stream.size()) {
      const std::size_t n = std::min<std::size_t>(1 + rng() % 13, stream.size() - pos);
      pieces.push(Bytes(stream.begin() + static_cast<std::ptrdiff_t>(pos),
                        stream.begin() + static_cast<std::ptrdiff_t>(pos + n)),
                  pos == 0 ? 0 : kNoTimestamp);
      pos += n;
    }
    pieces.framer.flush();
    ASSERT_EQ(pieces.frames.size(), whole.frames.size()) << round;
    for (std::size_t i = 0; i < whole.frames.size(); ++i) {
      EXPECT_EQ(payload(pieces.frames[i]), payload(whole.frames[i])) << round << " " << i;
      EXPECT_EQ(pieces.frames[i].pts, whole.frames[i].pts) << round << " " << i;
    }
    EXPECT_EQ(pieces.framer.counters().skipped_bytes, whole.framer.counters().skipped_bytes);
    EXPECT_EQ(pieces.framer.counters().sync_errors, whole.framer.counters().sync_errors);
    EXPECT_EQ(pieces.framer.counters().dropped_frames, whole.framer.counters().dropped_frames);
  }
}

TEST(AacFramerTest, FlushDropsAnIncompleteFrame) {
  Harness h;
  Bytes frame = adts_frame(4000, 1);
  frame.resize(100);  // frame_length says 4007, far beyond this buffer
  h.push(frame, 0);
  EXPECT_TRUE(h.frames.empty());
  h.framer.flush();
  EXPECT_EQ(h.framer.counters().dropped_frames, 1u);
  h.push(adts_frame(10, 2), kNoTimestamp);
  ASSERT_EQ(h.frames.size(), 1u) << "the next push starts clean";
}

TEST(AacFramerTest, ConfigChangesWithTheStream) {
  Harness h;
  h.push(join({adts_frame(8, 0), adts_frame(8, 0, 3, 1), adts_frame(8, 0, 3, 1)}), 0);
  ASSERT_EQ(h.frames.size(), 3u);
  EXPECT_TRUE(h.frames[1].config_changed);
  EXPECT_EQ(h.frames[1].config->channels, 1);
  EXPECT_EQ(h.frames[1].config->audio_specific_config, (Bytes{0x11, 0x88}));
  EXPECT_FALSE(h.frames[2].config_changed);
  EXPECT_EQ(h.framer.counters().config_changes, 1u);
  EXPECT_EQ(h.framer.config(), h.frames[2].config);
}

TEST(AacFramerTest, SampleRateChangeKeepsTheTimelineContinuous) {
  Harness h;
  h.push(join({adts_frame(8, 0, 3), adts_frame(8, 0, 6)}), 90000);  // 48 kHz, then 24 kHz
  ASSERT_EQ(h.frames.size(), 2u);
  EXPECT_EQ(h.frames[0].pts, 48000);
  EXPECT_EQ(h.frames[1].config->timescale, 24000u);
  EXPECT_EQ(h.frames[1].pts, (48000 + 1024) / 2);
}

TEST(AacFramerTest, DropsFramesWithSeveralRawDataBlocks) {
  Harness h;
  h.push(join({adts_frame(8, 0), adts_frame(16, 0, 3, 2, false, 1), adts_frame(8, 5)}), 0);
  ASSERT_EQ(h.frames.size(), 2u);
  EXPECT_EQ(h.framer.counters().dropped_frames, 1u);
  EXPECT_EQ(h.frames[1].pts, 1024 + 2048) << "the dropped frame's samples still pass";
}

TEST(AacFramerTest, ResetForgetsTheTimeline) {
  Harness h;
  h.push(adts_frame(8, 0), 90000);
  h.framer.reset();
  h.push(adts_frame(8, 0), kNoTimestamp);
  ASSERT_EQ(h.frames.size(), 2u);
  EXPECT_EQ(h.frames[1].pts, 0);
}

TEST(AacFramerTest, RescalesFrom90kHzWithRounding) {
  EXPECT_EQ(rescale_from_90k(90000, 48000), 48000);
  EXPECT_EQ(rescale_from_90k(1, 48000), 1);  // 0.53 rounds up
  EXPECT_EQ(rescale_from_90k(-1, 48000), -1);
  EXPECT_EQ(rescale_from_90k(-90000, 44100), -44100);
  EXPECT_EQ(rescale_from_90k(std::int64_t{1} << 40, 48000), 586406201481);
  EXPECT_EQ(rescale_from_90k(0, 44100), 0);
}

}  // namespace
}  // namespace mirror::media
