#include "media/video_access_unit.h"

#include "media/annexb.h"
#include "unit/media/bit_writer.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace mirror::media {
namespace {

using testing::BitWriter;
using Clock = std::chrono::system_clock;

// x264 1280x720 30 fps High profile parameter sets.
const Bytes kSps = {0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0x50, 0x05, 0xbb, 0x01, 0x10, 0x00,
                    0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0xc0, 0xf1, 0x83, 0x19, 0x60};
const Bytes kPps = {0x68, 0xef, 0x82, 0x5c, 0xb0};
const Bytes kAud = {0x09, 0xf0};
const Bytes kSei = {0x06, 0x05, 0x01, 0xaa, 0x80};
const Bytes kRecoveryPointSei = {0x06, 0x06, 0x01, 0x84, 0x80};
const Bytes kFiller = {0x0c, 0xff, 0xff, 0x80};

// x265 1920x1080 50 fps Main profile parameter sets.
const Bytes kVps = {0x40, 0x01, 0x0c, 0x01, 0xff, 0xff, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00,
                    0x90, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x00, 0x7b, 0x95, 0x94, 0x09};
const Bytes kHevcSps = {0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00,
                        0x00, 0x03, 0x00, 0x00, 0x03, 0x00, 0x7b, 0xa0, 0x03, 0xc0, 0x80,
                        0x11, 0x07, 0xcb, 0x96, 0x56, 0x54, 0xa4, 0xc2, 0xf0, 0x16, 0x80,
                        0x80, 0x00, 0x00, 0x03, 0x00, 0x80, 0x00, 0x00, 0x19, 0x04};
const Bytes kHevcPps = {0x44, 0x01, 0xc0, 0x73, 0xc1, 0x89};

// A baseline SPS of the given size in macroblocks (no VUI), id 0.
Bytes small_sps(int width_mbs, int height_mbs) {
  BitWriter w;
  w.bits(66, 8).bits(0xc0, 8).bits(30, 8).ue(0).ue(0).ue(0).ue(2).ue(1).bit(false);
  w.ue(static_cast<std::uint64_t>(width_mbs - 1)).ue(static_cast<std::uint64_t>(height_mbs - 1));
  w.bit(true).bit(true).bit(false).bit(false).trailing();
  return testing::make_nal({0x67}, w.bytes());
}

Bytes pps(int pps_id, int sps_id) {
  BitWriter w;
  w.ue(static_cast<std::uint64_t>(pps_id))
      .ue(static_cast<std::uint64_t>(sps_id))
      .bit(false)
      .trailing();
  return testing::make_nal({0x68}, w.bytes());
}

// A slice: NAL header byte, first_mb_in_slice, slice_type, pps id, some payload.
Bytes slice(std::uint8_t header, int first_mb, int slice_type = 0, int pps_id = 0, int tag = 0) {
  BitWriter w;
  w.ue(static_cast<std::uint64_t>(first_mb)).ue(static_cast<std::uint64_t>(slice_type));
  w.ue(static_cast<std::uint64_t>(pps_id))
      .bits(static_cast<std::uint64_t>(tag), 16)
      .bits(0xabcdef, 24);
  w.trailing();
  return testing::make_nal({header}, w.bytes());
}
Bytes idr(int first_mb = 0, int tag = 0) {
  return slice(0x65, first_mb, 7, 0, tag);
}
Bytes p_slice(int first_mb = 0, int tag = 0) {
  return slice(0x41, first_mb, 5, 0, tag);
}

Bytes hevc_slice(int type, bool first, int pps_id = 0, int tag = 0) {
  BitWriter w;
  w.bit(first);
  if (type >= 16 && type <= 23) w.bit(false);
  w.ue(static_cast<std::uint64_t>(pps_id))
      .bits(static_cast<std::uint64_t>(tag), 16)
      .bits(0x5a, 8)
      .trailing();
  return testing::make_nal({static_cast<std::uint8_t>(type << 1), 0x01}, w.bytes());
}

Bytes concat(std::initializer_list<Bytes> nals) {
  Bytes out;
  for (const auto& nal : nals) {
    out.insert(out.end(), {0, 0, 0, 1});
    out.insert(out.end(), nal.begin(), nal.end());
  }
  return out;
}

std::vector<Bytes> payload_nals(const MediaFrame& frame) {
  std::vector<Bytes> out;
  EXPECT_TRUE(for_each_length_prefixed(
      frame.payload.bytes(),
      [&](std::span<const std::uint8_t> nal) { out.emplace_back(nal.begin(), nal.end()); }));
  return out;
}

struct Harness {
  explicit Harness(Codec codec,
                   std::size_t max_au = VideoAccessUnitAssembler::kDefaultMaxAccessUnitBytes)
      : assembler(
            codec, [this](MediaFrame f) { frames.push_back(std::move(f)); }, 0, max_au) {}
  void push(const Bytes& data, std::int64_t pts, std::int64_t dts = kNoTimestamp,
            Clock::time_point arrival = Clock::time_point{}) {
    assembler.push(data, pts, dts, arrival);
  }
  std::vector<MediaFrame> frames;
  VideoAccessUnitAssembler assembler;
};

TEST(VideoAccessUnitTest, EmitsOneFramePerPesWithLengthPrefixedPayload) {
  Harness h(Codec::kH264);
  h.push(concat({kAud, kSps, kPps, kSei, idr()}), 9000, 6000);
  EXPECT_TRUE(h.frames.empty()) << "an access unit is complete only when the next one begins";
  h.push(concat({kAud, p_slice(0, 1)}), 18000, 9000);
  EXPECT_EQ(h.frames.size(), 1u) << "out as soon as the next access unit's first bytes arrive";
  h.push(concat({kAud, p_slice(0, 2)}), 12000, 12000);
  EXPECT_EQ(h.frames.size(), 2u);
  h.assembler.flush();
  ASSERT_EQ(h.frames.size(), 3u);

  const MediaFrame& key = h.frames[0];
  EXPECT_TRUE(key.keyframe);
  EXPECT_TRUE(key.config_changed);
  EXPECT_EQ(key.pts, 9000);
  EXPECT_EQ(key.dts, 6000);
  EXPECT_EQ(key.kind, TrackKind::kVideo);
  EXPECT_EQ(key.codec, Codec::kH264);
  EXPECT_EQ(payload_nals(key), (std::vector<Bytes>{kSei, idr()}))
      << "no AUD, no parameter sets in the payload";
  ASSERT_TRUE(key.config);
  EXPECT_EQ(key.config->codec_string, "avc1.64001f");
  EXPECT_EQ(key.config->width, 1280);
  EXPECT_EQ(key.config->height, 720);
  EXPECT_DOUBLE_EQ(key.config->frame_rate, 30.0);
  EXPECT_EQ(key.config->profile, 100);
  EXPECT_EQ(key.config->level, 31);
  EXPECT_EQ(key.config->bit_depth, 8);
  EXPECT_EQ(key.config->timescale, 90000u);
  EXPECT_EQ(key.config->sps, (std::vector<Bytes>{kSps}));
  EXPECT_EQ(key.config->pps, (std::vector<Bytes>{kPps}));
  EXPECT_TRUE(key.config->vps.empty());

  EXPECT_FALSE(h.frames[1].keyframe);
  EXPECT_FALSE(h.frames[1].config_changed);
  EXPECT_EQ(h.frames[1].config, key.config) << "unchanged parameter sets share the configuration";
  EXPECT_EQ(h.frames[1].pts, 18000);
  EXPECT_EQ(h.frames[2].pts, 12000) << "B-frame timestamps pass through as given";
  EXPECT_EQ(payload_nals(h.frames[2]), (std::vector<Bytes>{p_slice(0, 2)}));
  EXPECT_EQ(h.assembler.counters().frames, 3u);
  EXPECT_EQ(h.assembler.counters().keyframes, 1u);
  EXPECT_EQ(h.assembler.counters().bitstream_errors, 0u);
}

TEST(VideoAccessUnitTest, EmitsAPictureAsSoonAsTheNextOneBegins) {
  Harness h(Codec::kH264);
  h.push(concat({kSps, kPps, idr()}), 0);
  EXPECT_TRUE(h.frames.empty());
  const Bytes next = concat({p_slice(0, 1)});
  h.push(Bytes(next.begin(), next.begin() + 5), 3000);  // start code and NAL header only
  EXPECT_TRUE(h.frames.empty()) << "a slice header is needed to tell";
  h.push(Bytes(next.begin() + 5, next.begin() + 7), kNoTimestamp);
  ASSERT_EQ(h.frames.size(), 1u) << "the next picture's first bytes end this one";
  EXPECT_EQ(h.frames[0].pts, 0);
  h.push(Bytes(next.begin() + 7, next.end()), kNoTimestamp);
  h.assembler.flush();
  ASSERT_EQ(h.frames.size(), 2u);
  EXPECT_EQ(h.frames[1].pts, 3000);
  EXPECT_EQ(payload_nals(h.frames[1]), (std::vector<Bytes>{p_slice(0, 1)}));
}

TEST(VideoAccessUnitTest, FindsPicturesInOnePesWithoutDelimiters) {
  Harness h(Codec::kH264);
  h.push(concat({kSps, kPps, idr(0, 0), p_slice(0, 1), p_slice(0, 2)}), 90000);
  h.assembler.flush();
  ASSERT_EQ(h.frames.size(), 3u);
  EXPECT_EQ(h.frames[0].pts, 90000);
  EXPECT_EQ(h.frames[1].pts, 93000) << "later pictures in the PES: + one frame at 30 fps";
  EXPECT_EQ(h.frames[2].pts, 96000);
  EXPECT_EQ(h.frames[2].dts, 96000);
}

TEST(VideoAccessUnitTest, KeepsSlicesOfOnePictureTogether) {
  Harness h(Codec::kH264);
  h.push(concat({kSps, kPps, idr(0), idr(1800), p_slice(0), p_slice(1200), p_slice(2400)}), 0);
  h.assembler.flush();
  ASSERT_EQ(h.frames.size(), 2u);
  EXPECT_EQ(payload_nals(h.frames[0]).size(), 2u);
  EXPECT_EQ(payload_nals(h.frames[1]).size(), 3u);
}

TEST(VideoAccessUnitTest, ParameterSetsAndSeiAfterSlicesStartTheNextAccessUnit) {
  Harness h(Codec::kH264);
  h.push(concat({kSps, kPps, idr(0, 1), kSps, kPps, kSei, idr(0, 2), kSei, p_slice(0, 3)}), 0);
  h.assembler.flush();
  ASSERT_EQ(h.frames.size(), 3u);
  EXPECT_EQ(payload_nals(h.frames[1]), (std::vector<Bytes>{kSei, idr(0, 2)}));
  EXPECT_EQ(payload_nals(h.frames[2]), (std::vector<Bytes>{kSei, p_slice(0, 3)}));
  EXPECT_TRUE(h.frames[1].keyframe);
  EXPECT_FALSE(h.frames[1].config_changed) << "repeated identical parameter sets";
  EXPECT_EQ(h.assembler.counters().keyframes, 2u);
}

TEST(VideoAccessUnitTest, ANewPtsStartsAnAccessUnitAtTheLatest) {
  Harness h(Codec::kH264);
  h.push(concat({kSps, kPps, idr(0)}), 0);
  h.push(concat({p_slice(100)}), 3000);  // not first_mb 0, but a new PES timestamp
  h.assembler.flush();
  ASSERT_EQ(h.frames.size(), 2u);
  EXPECT_EQ(h.frames[1].pts, 3000);
}

TEST(VideoAccessUnitTest, SameTimestampOrNoneContinuesTheAccessUnit) {
  Harness h(Codec::kH264);
  h.push(concat({kSps, kPps, idr(0)}), 0);
  h.push(concat({idr(1800)}), 0);
  h.push(concat({idr(2700)}), kNoTimestamp);
  h.assembler.flush();
  ASSERT_EQ(h.frames.size(), 1u);
  EXPECT_EQ(payload_nals(h.frames[0]).size(), 3u);
}

TEST(VideoAccessUnitTest, AssemblesAPictureSplitMidNalAcrossPes) {
  const Bytes stream = concat({kAud, kSps, kPps, idr(0, 7)});
  Harness h(Codec::kH264);
  const auto cut = stream.size() - 4;
  h.push(Bytes(stream.begin(), stream.begin() + static_cast<std::ptrdiff_t>(cut)), 0, kNoTimestamp,
         Clock::time_point{} + std::chrono::seconds(5));
  h.push(Bytes(stream.begin() + static_cast<std::ptrdiff_t>(cut), stream.end()), kNoTimestamp,
         kNoTimestamp, Clock::time_point{} + std::chrono::seconds(6));
  h.push(concat({kAud, p_slice()}), 3000);
  h.assembler.flush();
  ASSERT_EQ(h.frames.size(), 2u);
  EXPECT_EQ(payload_nals(h.frames[0]), (std::vector<Bytes>{idr(0, 7)}));
  EXPECT_EQ(h.frames[0].arrival, Clock::time_point{} + std::chrono::seconds(5))
      << "arrival of the access unit's first byte";
}

TEST(VideoAccessUnitTest, WaitsForAKeyframeAndCountsWhatItDrops) {
  Harness h(Codec::kH264);
  h.push(concat({kAud, p_slice()}), 0);
  h.push(concat({kAud, kSps, kPps, p_slice()}), 3000);
  h.push(concat({kAud, kSps, kPps, idr()}), 6000);
  h.push(concat({kAud, p_slice()}), 9000);
  h.assembler.flush();
  ASSERT_EQ(h.frames.size(), 2u);
  EXPECT_TRUE(h.frames[0].keyframe);
  EXPECT_EQ(h.frames[0].pts, 6000);
  EXPECT_EQ(h.assembler.counters().dropped_before_keyframe, 2u);
}

TEST(VideoAccessUnitTest, NeedsParameterSetsBeforeTheFirstFrame) {
  Harness h(Codec::kH264);
  h.push(concat({idr()}), 0);
  h.push(concat({kPps, idr()}), 3000);
  h.push(concat({kSps, kPps, idr()}), 6000);
  h.assembler.flush();
  ASSERT_EQ(h.frames.size(), 1u);
  EXPECT_EQ(h.frames[0].pts, 6000);
  EXPECT_EQ(h.assembler.counters().dropped_before_keyframe, 2u);
}

TEST(VideoAccessUnitTest, RecoveryPointSeiMakesAKeyframe) {
  // An intra-refresh camera sends no IDR after the first: its recovery points
  // are the only places to join, so a stream can start there.
  Harness h(Codec::kH264);
  h.push(concat({kSps, kPps, kRecoveryPointSei, slice(0x21, 0, 7)}), 0);  // non-IDR I slice
  h.push(concat({p_slice()}), 3000);
  h.assembler.flush();
  ASSERT_EQ(h.frames.size(), 2u);
  EXPECT_TRUE(h.frames[0].keyframe);
  EXPECT_FALSE(h.frames[1].keyframe);
  EXPECT_EQ(h.assembler.counters().dropped_before_keyframe, 0u);
}

TEST(VideoAccessUnitTest, IntraRefreshRecoveryPointsAreGradual) {
  // x264 with intra-refresh: recovery_frame_cnt 32 on P pictures; the IDR at
  // the start is a whole picture whatever SEI it carries.
  const Bytes gradual_sei = {0x06, 0x06, 0x02, 0x04, 0x21, 0x80};
  Harness h(Codec::kH264);
  h.push(concat({kSps, kPps, gradual_sei, idr()}), 0);
  h.push(concat({p_slice()}), 3000);
  h.push(concat({gradual_sei, p_slice()}), 6000);
  h.push(concat({kRecoveryPointSei, slice(0x21, 0, 7)}), 9000);  // an exact recovery point
  h.assembler.flush();
  ASSERT_EQ(h.frames.size(), 4u);
  EXPECT_TRUE(h.frames[0].keyframe);
  EXPECT_FALSE(h.frames[0].gradual_refresh);
  EXPECT_FALSE(h.frames[1].keyframe);
  EXPECT_FALSE(h.frames[1].gradual_refresh);
  EXPECT_TRUE(h.frames[2].keyframe);
  EXPECT_TRUE(h.frames[2].gradual_refresh);
  EXPECT_TRUE(h.frames[3].keyframe);
  EXPECT_FALSE(h.frames[3].gradual_refresh);
}

TEST(VideoAccessUnitTest, PSliceWithoutRecoveryPointWaitsForOne) {
  Harness h(Codec::kH264);
  h.push(concat({kSps, kPps, p_slice()}), 0);
  h.push(concat({kRecoveryPointSei, p_slice()}), 3000);
  h.assembler.flush();
  ASSERT_EQ(h.frames.size(), 1u);
  EXPECT_TRUE(h.frames[0].keyframe);
  EXPECT_EQ(h.assembler.counters().dropped_before_keyframe, 1u);
}

TEST(VideoAccessUnitTest, DropsDelimitersAndFillerFromThePayload) {
  Harness h(Codec::kH264);
  h.push(concat({kAud, kSps, kPps, idr(), kFiller}), 0);
  h.assembler.flush();
  ASSERT_EQ(h.frames.size(), 1u);
  EXPECT_EQ(payload_nals(h.frames[0]), (std::vector<Bytes>{idr()}));
}

TEST(VideoAccessUnitTest, ConfigChangesWithTheParameterSets) {
  Harness h(Codec::kH264);
  const Bytes sd = small_sps(40, 30);
  const Bytes hd = small_sps(80, 45);
  h.push(concat({sd, kPps, idr()}), 0);
  h.push(concat({p_slice()}), 3000);
  h.push(concat({hd, kPps, idr()}), 6000);
  h.push(concat({p_slice()}), 9000);
  h.assembler.flush();
  ASSERT_EQ(h.frames.size(), 4u);
  EXPECT_TRUE(h.frames[0].config_changed);
  EXPECT_EQ(h.frames[0].config->width, 640);
  EXPECT_EQ(h.frames[0].config->codec_string, "avc1.42c01e");
  EXPECT_EQ(h.frames[0].config->frame_rate, 0) << "no VUI";
  EXPECT_FALSE(h.frames[1].config_changed);
  EXPECT_TRUE(h.frames[2].config_changed);
  EXPECT_EQ(h.frames[2].config->width, 1280);
  EXPECT_EQ(h.frames[2].config->height, 720);
  EXPECT_EQ(h.frames[2].config->sps, (std::vector<Bytes>{hd}));
  EXPECT_FALSE(h.frames[3].config_changed);
  EXPECT_EQ(h.frames[3].config, h.frames[2].config);
  EXPECT_EQ(h.assembler.config(), h.frames[3].config);
  EXPECT_EQ(h.frames[1].pts, 3000);
}

TEST(VideoAccessUnitTest, CorruptSpsDoesNotReplaceAGoodOne) {
  Harness h(Codec::kH264);
  h.push(concat({kSps, kPps, idr()}), 0);
  Bytes corrupt = kSps;
  corrupt.resize(8);  // truncated inside the SPS
  h.push(concat({corrupt, kPps, idr()}), 3000);
  h.push(concat({Bytes{0x67, 0x64, 0x00, 0x1f, 0x00, 0x00, 0x00, 0x00}, p_slice()}), 6000);
  h.assembler.flush();
  ASSERT_EQ(h.frames.size(), 3u);
  EXPECT_EQ(h.assembler.counters().bitstream_errors, 2u);
  EXPECT_FALSE(h.frames[1].config_changed);
  EXPECT_EQ(h.frames[2].config->sps, (std::vector<Bytes>{kSps}));
  EXPECT_EQ(h.frames[2].config->width, 1280);
}

TEST(VideoAccessUnitTest, ConfigHoldsEveryPpsOfTheActiveSps) {
  Harness h(Codec::kH264);
  const Bytes pps1 = pps(1, 0);
  h.push(concat({kSps, kPps, pps1, idr()}), 0);
  h.push(concat({slice(0x41, 0, 5, 1)}), 3000);
  h.assembler.flush();
  ASSERT_EQ(h.frames.size(), 2u);
  EXPECT_EQ(h.frames[0].config->pps, (std::vector<Bytes>{kPps, pps1}));
  EXPECT_FALSE(h.frames[1].config_changed) << "same sets, another PPS id in use";
}

TEST(VideoAccessUnitTest, AnotherPpsIdStartsANewPicture) {
  Harness h(Codec::kH264);
  h.push(concat({kSps, kPps, pps(1, 0), idr(0), slice(0x41, 5, 5, 1)}), 0);
  h.assembler.flush();
  EXPECT_EQ(h.frames.size(), 2u);
}

TEST(VideoAccessUnitTest, MissingPpsAfterStartIsABitstreamError) {
  Harness h(Codec::kH264);
  h.push(concat({kSps, kPps, idr()}), 0);
  h.push(concat({slice(0x41, 0, 5, 9)}), 3000);  // PPS 9 never sent
  h.push(concat({p_slice()}), 6000);
  h.assembler.flush();
  EXPECT_EQ(h.frames.size(), 2u);
  EXPECT_EQ(h.assembler.counters().bitstream_errors, 1u);
}

TEST(VideoAccessUnitTest, CountsMalformedNalUnits) {
  Harness h(Codec::kH264);
  h.push(concat({kSps, kPps, idr(), Bytes{0xe5, 0x00}, Bytes{0x41}}), 0);
  h.assembler.flush();
  EXPECT_EQ(h.frames.size(), 1u);
  EXPECT_EQ(h.assembler.counters().bitstream_errors, 2u) << "forbidden bit; slice without header";
}

TEST(VideoAccessUnitTest, DropsAccessUnitsBeyondTheSizeLimit) {
  Harness h(Codec::kH264, 200);
  Bytes big = idr();
  big.resize(190, 0x55);
  h.push(concat({kSps, kPps, idr(0, 1)}), 0);
  h.push(concat({p_slice(0, 1), p_slice(1, 2)}), 3000);  // fits
  h.push(concat({big, idr(5, 3)}), 6000);                // one picture: 4 + 190 + 4 + 8 > 200
  h.push(concat({p_slice()}), 9000);
  h.assembler.flush();
  ASSERT_EQ(h.frames.size(), 3u);
  EXPECT_EQ(h.frames[2].pts, 9000);
  EXPECT_EQ(h.assembler.counters().bitstream_errors, 1u);
}

TEST(VideoAccessUnitTest, DropsAnAccessUnitThatLostAnOversizedNal) {
  Harness h(Codec::kH264, 64);
  Bytes huge = p_slice();
  huge.resize(100, 0x77);
  h.push(concat({kSps, kPps, idr()}), 0);
  h.push(concat({huge}), 3000);
  h.push(concat({p_slice()}), 6000);
  h.assembler.flush();
  ASSERT_EQ(h.frames.size(), 2u);
  EXPECT_EQ(h.frames[1].pts, 6000);
  EXPECT_EQ(h.assembler.counters().bitstream_errors, 1u);
}

TEST(VideoAccessUnitTest, ResetWaitsForTheNextKeyframe) {
  Harness h(Codec::kH264);
  h.push(concat({kSps, kPps, idr()}), 0);
  h.push(concat({p_slice()}), 3000);
  h.push(concat({p_slice()}), 6000);
  ASSERT_EQ(h.frames.size(), 2u);
  h.assembler.reset();  // the pending picture (6000) goes
  h.push(concat({p_slice()}), 100000);
  h.push(concat({idr()}), 103000);
  h.assembler.flush();
  ASSERT_EQ(h.frames.size(), 3u) << "the P-frame after the reset waits for a keyframe";
  EXPECT_EQ(h.frames[2].pts, 103000);
  EXPECT_TRUE(h.frames[2].keyframe);
  EXPECT_FALSE(h.frames[2].config_changed) << "parameter sets survive a reset";
  EXPECT_EQ(h.assembler.counters().dropped_before_keyframe, 1u);
}

TEST(VideoAccessUnitTest, RandomChunkingGivesIdenticalFrames) {
  Bytes stream = concat({kAud, kSps, kPps, kSei, idr(0, 1), idr(900, 2)});
  for (int i = 0; i < 40; ++i) {
    const Bytes au = i % 10 == 9 ? concat({kAud, kSps, kPps, idr(0, 100 + i)})
                                 : concat({kAud, p_slice(0, i), p_slice(450, i), kFiller});
    stream.insert(stream.end(), au.begin(), au.end());
    stream.insert(stream.end(), static_cast<std::size_t>(i % 3), 0);  // trailing zeros
  }
  Harness whole(Codec::kH264);
  whole.push(stream, 0);
  whole.assembler.flush();
  ASSERT_EQ(whole.frames.size(), 41u);
  std::mt19937 rng(1234);
  for (int round = 0; round < 20; ++round) {
    Harness chunked(Codec::kH264);
    std::size_t pos = 0;
    while (pos < stream.size()) {
      const std::size_t n = std::min<std::size_t>(1 + rng() % 64, stream.size() - pos);
      chunked.push(Bytes(stream.begin() + static_cast<std::ptrdiff_t>(pos),
                         stream.begin() + static_cast<std::ptrdiff_t>(pos + n)),
                   0);
      pos += n;
    }
    chunked.assembler.flush();
    ASSERT_EQ(chunked.frames.size(), whole.frames.size());
    for (std::size_t i = 0; i < whole.frames.size(); ++i) {
      EXPECT_EQ(payload_nals(chunked.frames[i]), payload_nals(whole.frames[i])) << i;
      EXPECT_EQ(chunked.frames[i].pts, whole.frames[i].pts) << i;
      EXPECT_EQ(chunked.frames[i].keyframe, whole.frames[i].keyframe) << i;
    }
  }
}

TEST(HevcAccessUnitTest, AssemblesPicturesAndKeepsParameterSetsOutOfThePayload) {
  Harness h(Codec::kHevc);
  const Bytes aud = {0x46, 0x01, 0x50};
  const Bytes prefix_sei = {0x4e, 0x01, 0x05, 0x01, 0xaa, 0x80};
  const Bytes suffix_sei = {0x50, 0x01, 0x05, 0x01, 0xbb, 0x80};
  h.push(concat({aud, kVps, kHevcSps, kHevcPps, prefix_sei, hevc_slice(19, true, 0, 1),
                 hevc_slice(19, false, 0, 2), suffix_sei}),
         0);
  h.push(concat({aud, hevc_slice(1, true, 0, 3)}), 1800);
  h.push(concat({prefix_sei, hevc_slice(1, true, 0, 4)}), kNoTimestamp);
  h.assembler.flush();
  ASSERT_EQ(h.frames.size(), 3u);
  EXPECT_TRUE(h.frames[0].keyframe);
  EXPECT_EQ(h.frames[0].codec, Codec::kHevc);
  EXPECT_EQ(payload_nals(h.frames[0]),
            (std::vector<Bytes>{prefix_sei, hevc_slice(19, true, 0, 1), hevc_slice(19, false, 0, 2),
                                suffix_sei}));
  const auto& config = h.frames[0].config;
  ASSERT_TRUE(config);
  EXPECT_EQ(config->codec, Codec::kHevc);
  EXPECT_EQ(config->codec_string, "hvc1.1.6.L123.90");
  EXPECT_EQ(config->width, 1920);
  EXPECT_EQ(config->height, 1080);
  EXPECT_DOUBLE_EQ(config->frame_rate, 50.0);
  EXPECT_EQ(config->vps, (std::vector<Bytes>{kVps}));
  EXPECT_EQ(config->sps, (std::vector<Bytes>{kHevcSps}));
  EXPECT_EQ(config->pps, (std::vector<Bytes>{kHevcPps}));
  EXPECT_FALSE(h.frames[1].keyframe);
  EXPECT_EQ(h.frames[2].pts, 3600) << "1800 + one frame at 50 fps";
  EXPECT_EQ(payload_nals(h.frames[2]), (std::vector<Bytes>{prefix_sei, hevc_slice(1, true, 0, 4)}));
}

TEST(HevcAccessUnitTest, NeedsTheVpsToo) {
  Harness h(Codec::kHevc);
  h.push(concat({kHevcSps, kHevcPps, hevc_slice(19, true)}), 0);
  h.push(concat({kVps, kHevcSps, kHevcPps, hevc_slice(19, true)}), 1800);
  h.assembler.flush();
  ASSERT_EQ(h.frames.size(), 1u);
  EXPECT_EQ(h.frames[0].pts, 1800);
  EXPECT_EQ(h.assembler.counters().dropped_before_keyframe, 1u);
}

TEST(HevcAccessUnitTest, CraIsAKeyframeAndItsLeadingRaslPicturesAreSkipped) {
  Harness h(Codec::kHevc);
  h.push(concat({kVps, kHevcSps, kHevcPps, hevc_slice(21, true)}), 0);  // CRA
  h.push(concat({hevc_slice(8, true)}), 1800);                          // RASL_N
  h.push(concat({hevc_slice(6, true)}), 3600);                          // RADL_N
  h.push(concat({hevc_slice(1, true)}), 5400);
  h.push(concat({hevc_slice(21, true)}), 7200);  // a later CRA: its RASL pictures decode
  h.push(concat({hevc_slice(9, true)}), 9000);
  h.assembler.flush();
  ASSERT_EQ(h.frames.size(), 5u);
  EXPECT_TRUE(h.frames[0].keyframe);
  EXPECT_EQ(h.frames[1].pts, 3600);
  EXPECT_TRUE(h.frames[3].keyframe);
  EXPECT_EQ(h.frames[4].pts, 9000);
  // ... and are flagged, for a player that starts at that CRA to skip.
  EXPECT_TRUE(h.frames[4].rasl);
  EXPECT_FALSE(h.frames[1].rasl);  // RADL
  EXPECT_FALSE(h.frames[3].rasl);
  EXPECT_EQ(h.assembler.counters().dropped_before_keyframe, 1u);
  EXPECT_EQ(h.assembler.counters().keyframes, 2u);
}

TEST(HevcAccessUnitTest, IgnoresEnhancementLayersForBoundaries) {
  Harness h(Codec::kHevc);
  Bytes layer1 = hevc_slice(1, true, 0, 9);
  layer1[1] = 0x09;  // nuh_layer_id 1
  h.push(concat({kVps, kHevcSps, kHevcPps, hevc_slice(19, true), layer1}), 0);
  h.assembler.flush();
  ASSERT_EQ(h.frames.size(), 1u);
  EXPECT_EQ(payload_nals(h.frames[0]).size(), 2u);
}

}  // namespace
}  // namespace mirror::media
