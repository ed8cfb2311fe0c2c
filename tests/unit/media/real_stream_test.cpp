// The parsers against real encoder output, with ffprobe as the reference.
#include "media/aac_framer.h"
#include "media/annexb.h"
#include "media/h264.h"
#include "media/hevc.h"
#include "media/video_access_unit.h"
#include "unit/media/media_fixtures.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace mirror::media {
namespace {

using testing::Fixture;

#define SKIP_WITHOUT_FFMPEG() \
  if (!testing::have_ffmpeg()) GTEST_SKIP() << testing::kFfmpeg << " is not installed"

std::vector<MediaFrame> assemble(Codec codec, const Bytes& stream, std::size_t max_chunk,
                                 std::uint32_t seed, VideoAssemblerCounters* counters = nullptr) {
  std::vector<MediaFrame> frames;
  VideoAccessUnitAssembler assembler(codec, [&](MediaFrame f) { frames.push_back(std::move(f)); });
  std::mt19937 rng(seed);
  std::size_t pos = 0;
  while (pos < stream.size()) {
    const std::size_t n = max_chunk == 0
                              ? stream.size()
                              : std::min<std::size_t>(1 + rng() % max_chunk, stream.size() - pos);
    assembler.push(std::span(stream).subspan(pos, n), 0, kNoTimestamp, {});
    pos += n;
  }
  assembler.flush();
  if (counters != nullptr) *counters = assembler.counters();
  return frames;
}

void expect_same_frames(const std::vector<MediaFrame>& a, const std::vector<MediaFrame>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto pa = a[i].payload.bytes();
    const auto pb = b[i].payload.bytes();
    ASSERT_TRUE(std::equal(pa.begin(), pa.end(), pb.begin(), pb.end())) << "frame " << i;
    EXPECT_EQ(a[i].pts, b[i].pts) << i;
    EXPECT_EQ(a[i].keyframe, b[i].keyframe) << i;
    EXPECT_EQ(a[i].config_changed, b[i].config_changed) << i;
  }
}

// Keyframe flags of the packets, in decode order, as the assembler saw them.
std::vector<bool> keyframes(const std::vector<MediaFrame>& frames) {
  std::vector<bool> out;
  for (const auto& f : frames) out.push_back(f.keyframe);
  return out;
}

std::vector<bool> packet_keyframes(const std::string& path) {
  std::vector<bool> out;
  for (const auto& flags : testing::probe_packet_flags(path))
    out.push_back(flags.find('K') != std::string::npos);
  return out;
}

int count_key(const std::vector<int>& flags) {
  int n = 0;
  for (int f : flags) n += f;
  return n;
}

double parse_rate(const std::string& rate) {
  int num = 0;
  int den = 1;
  if (std::sscanf(rate.c_str(), "%d/%d", &num, &den) < 1 || den == 0) return 0;
  return static_cast<double>(num) / den;
}

int h264_profile_idc(const std::string& name) {
  if (name == "Baseline" || name == "Constrained Baseline") return 66;
  if (name == "Main") return 77;
  if (name == "High") return 100;
  if (name == "High 10") return 110;
  if (name == "High 4:2:2") return 122;
  if (name == "High 4:4:4 Predictive") return 244;
  return -1;
}

void check_h264_stream(Fixture fixture, int width, int height, double fps) {
  const std::string path = testing::fixture_path(fixture);
  ASSERT_FALSE(path.empty());
  const Bytes stream = testing::read_bytes(path);
  ASSERT_GT(stream.size(), 1000u);
  auto probe = testing::probe_stream(path, true);

  VideoAssemblerCounters counters;
  const auto frames = assemble(Codec::kH264, stream, 0, 0, &counters);
  ASSERT_FALSE(frames.empty());
  const auto& config = *frames.front().config;
  EXPECT_EQ(config.width, width);
  EXPECT_EQ(config.height, height);
  EXPECT_EQ(std::to_string(config.width), probe["width"]);
  EXPECT_EQ(std::to_string(config.height), probe["height"]);
  EXPECT_DOUBLE_EQ(config.frame_rate, fps);
  EXPECT_DOUBLE_EQ(config.frame_rate, parse_rate(probe["r_frame_rate"]));
  EXPECT_EQ(config.profile, h264_profile_idc(probe["profile"])) << probe["profile"];
  EXPECT_EQ(std::to_string(config.level), probe["level"]);
  char expected_prefix[16];
  std::snprintf(expected_prefix, sizeof expected_prefix, "avc1.%02x", config.profile);
  char expected_level[8];
  std::snprintf(expected_level, sizeof expected_level, "%02x", std::stoi(probe["level"]));
  EXPECT_EQ(config.codec_string.size(), 11u);
  EXPECT_EQ(config.codec_string.substr(0, 7), expected_prefix) << config.codec_string;
  EXPECT_EQ(config.codec_string.substr(9), expected_level) << config.codec_string;

  EXPECT_EQ(std::to_string(frames.size()), probe["nb_read_frames"]);
  EXPECT_EQ(std::to_string(frames.size()), probe["nb_read_packets"]);
  EXPECT_EQ(keyframes(frames), packet_keyframes(path));
  EXPECT_EQ(static_cast<int>(counters.keyframes), count_key(testing::probe_frame_keyflags(path)));
  EXPECT_EQ(counters.bitstream_errors, 0u);
  EXPECT_EQ(counters.dropped_before_keyframe, 0u);
  EXPECT_TRUE(frames.front().keyframe);

  // Every parameter set went into the configuration, none into a payload.
  for (const auto& f : frames) {
    EXPECT_TRUE(for_each_length_prefixed(f.payload.bytes(), [](std::span<const std::uint8_t> nal) {
      const int type = nal[0] & 0x1f;
      EXPECT_TRUE(type != h264::kNalSps && type != h264::kNalPps && type != h264::kNalAud) << type;
    }));
    EXPECT_EQ(f.config, frames.front().config);
  }
  auto avcc = build_avcc(config.sps, config.pps);
  ASSERT_TRUE(avcc) << avcc.error().message;
  EXPECT_EQ((*avcc)[1], config.profile);

  for (std::uint32_t seed = 1; seed <= 3; ++seed) {
    SCOPED_TRACE(seed);
    expect_same_frames(assemble(Codec::kH264, stream, 4096, seed), frames);
  }
  expect_same_frames(assemble(Codec::kH264, stream, 7, 9), frames);
}

TEST(RealStreamTest, H264StreamMatchesFfprobe) {
  SKIP_WITHOUT_FFMPEG();
  check_h264_stream(Fixture::kH264, 1280, 720, 30.0);
}

TEST(RealStreamTest, H264WithSlicesAndDelimitersMatchesFfprobe) {
  SKIP_WITHOUT_FFMPEG();
  check_h264_stream(Fixture::kH264Slices, 640, 360, 25.0);
}

TEST(RealStreamTest, H264ParameterSetsParseDirectly) {
  SKIP_WITHOUT_FFMPEG();
  const std::string path = testing::fixture_path(Fixture::kH264);
  ASSERT_FALSE(path.empty());
  const Bytes stream = testing::read_bytes(path);
  int sps_count = 0;
  int pps_count = 0;
  for_each_nal_unit(stream, [&](std::span<const std::uint8_t> nal) {
    const int type = nal[0] & 0x1f;
    if (type == h264::kNalSps) {
      auto sps = parse_h264_sps(nal);
      ASSERT_TRUE(sps) << sps.error().message;
      EXPECT_EQ(avc1_codec_string(*sps).substr(5), [&] {
        char hex[8];
        std::snprintf(hex, sizeof hex, "%02x%02x%02x", nal[1], nal[2], nal[3]);
        return std::string(hex);
      }());
      ++sps_count;
    } else if (type == h264::kNalPps) {
      EXPECT_TRUE(parse_h264_pps(nal));
      ++pps_count;
    }
  });
  EXPECT_GE(sps_count, 1);
  EXPECT_EQ(sps_count, pps_count);
}

TEST(RealStreamTest, HevcStreamMatchesFfprobe) {
  SKIP_WITHOUT_FFMPEG();
  const std::string path = testing::fixture_path(Fixture::kHevc);
  ASSERT_FALSE(path.empty());
  const Bytes stream = testing::read_bytes(path);
  auto probe = testing::probe_stream(path, true);

  VideoAssemblerCounters counters;
  const auto frames = assemble(Codec::kHevc, stream, 0, 0, &counters);
  ASSERT_FALSE(frames.empty());
  const auto& config = *frames.front().config;
  EXPECT_EQ(config.codec, Codec::kHevc);
  EXPECT_EQ(config.width, 1920);
  EXPECT_EQ(config.height, 1080);
  EXPECT_EQ(probe["width"], "1920");
  EXPECT_EQ(probe["height"], "1080");
  EXPECT_DOUBLE_EQ(config.frame_rate, 50.0);
  EXPECT_DOUBLE_EQ(config.frame_rate, parse_rate(probe["r_frame_rate"]));
  EXPECT_EQ(probe["profile"], "Main");
  EXPECT_EQ(config.profile, 1);
  EXPECT_EQ(config.bit_depth, 8);
  EXPECT_EQ(std::to_string(config.level), probe["level"]);
  const std::string prefix = "hvc1.1.6.L" + probe["level"];
  EXPECT_EQ(config.codec_string.substr(0, prefix.size()), prefix) << config.codec_string;
  EXPECT_TRUE(config.codec_string.size() == prefix.size() ||
              config.codec_string[prefix.size()] == '.')
      << config.codec_string;
  EXPECT_EQ(config.vps.size(), 1u);
  EXPECT_EQ(config.sps.size(), 1u);
  EXPECT_EQ(config.pps.size(), 1u);
  EXPECT_TRUE(build_hvcc(config.vps, config.sps, config.pps));

  EXPECT_EQ(std::to_string(frames.size()), probe["nb_read_frames"]);
  EXPECT_EQ(std::to_string(frames.size()), probe["nb_read_packets"]);
  EXPECT_EQ(keyframes(frames), packet_keyframes(path));
  EXPECT_EQ(static_cast<int>(counters.keyframes), count_key(testing::probe_frame_keyflags(path)));
  EXPECT_GE(counters.keyframes, 2u);
  EXPECT_EQ(counters.bitstream_errors, 0u);

  for (const auto& f : frames) {
    EXPECT_TRUE(for_each_length_prefixed(f.payload.bytes(), [](std::span<const std::uint8_t> nal) {
      const int type = (nal[0] >> 1) & 0x3f;
      EXPECT_TRUE(type < hevc::kNalVps || type > hevc::kNalAud) << type;
    }));
  }
  for (std::uint32_t seed = 1; seed <= 3; ++seed) {
    SCOPED_TRACE(seed);
    expect_same_frames(assemble(Codec::kHevc, stream, 4096, seed), frames);
  }
}

TEST(RealStreamTest, AacStreamMatchesFfprobe) {
  SKIP_WITHOUT_FFMPEG();
  const std::string path = testing::fixture_path(Fixture::kAac);
  ASSERT_FALSE(path.empty());
  const Bytes stream = testing::read_bytes(path);
  auto probe = testing::probe_stream(path, true);

  std::vector<MediaFrame> frames;
  AacFramer framer([&](MediaFrame f) { frames.push_back(std::move(f)); });
  framer.push(stream, 0, {});
  framer.flush();
  ASSERT_FALSE(frames.empty());
  EXPECT_EQ(std::to_string(frames.size()), probe["nb_read_packets"]);
  EXPECT_EQ(std::to_string(frames.size()), probe["nb_read_frames"]);
  const auto& config = *frames.front().config;
  EXPECT_EQ(probe["profile"], "LC");
  EXPECT_EQ(config.codec_string, "mp4a.40.2");
  EXPECT_EQ(std::to_string(config.sample_rate), probe["sample_rate"]);
  EXPECT_EQ(std::to_string(config.channels), probe["channels"]);
  EXPECT_EQ(config.audio_specific_config, (Bytes{0x11, 0x90}));
  EXPECT_EQ(framer.counters().sync_errors, 0u);
  EXPECT_EQ(framer.counters().dropped_frames, 0u);
  for (std::size_t i = 0; i < frames.size(); ++i)
    EXPECT_EQ(frames[i].pts, static_cast<std::int64_t>(i) * 1024);

  // The same frames from PES-sized pieces.
  std::vector<MediaFrame> chunked;
  AacFramer again([&](MediaFrame f) { chunked.push_back(std::move(f)); });
  std::mt19937 rng(5);
  std::size_t pos = 0;
  while (pos < stream.size()) {
    const std::size_t n = std::min<std::size_t>(1 + rng() % 700, stream.size() - pos);
    again.push(std::span(stream).subspan(pos, n), pos == 0 ? 0 : kNoTimestamp, {});
    pos += n;
  }
  expect_same_frames(chunked, frames);
}

}  // namespace
}  // namespace mirror::media
