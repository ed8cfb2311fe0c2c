// TsDemuxer on streams from three independent muxers (FFmpeg with H.264 and
// HEVC, GStreamer's mpegtsmux), made at test time and cached; ffprobe is the
// reference for what the streams hold. Skipped when a tool is missing.
#include "ingest/mpegts/stream_type.h"
#include "ingest/mpegts/ts_demuxer.h"
#include "support/fixtures.h"
#include "support/process.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

namespace mirror::ingest {
namespace {

namespace fs = std::filesystem;

struct Demuxed {
  int video_pes = 0;
  int audio_pes = 0;
  int adts_frames = 0;
  int random_access = 0;
  std::vector<std::int64_t> video_pts;
  std::vector<ProgramInfo> programs;
  TsDemuxerStats stats;
};

// ADTS frames in one PES payload, found by walking frame_length from sync to sync.
int count_adts_frames(std::span<const std::uint8_t> b) {
  int frames = 0;
  std::size_t at = 0;
  while (at + 7 <= b.size() && b[at] == 0xFF && (b[at + 1] & 0xF0) == 0xF0) {
    const std::size_t length =
        (std::size_t{b[at + 3] & 0x03u} << 11) | (std::size_t{b[at + 4]} << 3) | (b[at + 5] >> 5);
    if (length < 7 || at + length > b.size()) break;
    ++frames;
    at += length;
  }
  EXPECT_EQ(at, b.size()) << "ADTS frames do not fill the PES payload";
  return frames;
}

Demuxed demux_file(const std::string& path) {
  Demuxed d;
  TsDemuxerCallbacks cb;
  cb.on_pes = [&d](const PesPacket& p) {
    if (is_video_stream_type(p.stream_type)) {
      ++d.video_pes;
      if (p.random_access) ++d.random_access;
      EXPECT_TRUE(p.pts.has_value());
      d.video_pts.push_back(p.pts.value_or(-1));
    } else if (p.stream_type == kStreamTypeAacAdts) {
      ++d.audio_pes;
      d.adts_frames += count_adts_frames(p.payload.bytes());
    }
  };
  cb.on_program = [&d](const ProgramInfo& info) { d.programs.push_back(info); };
  TsDemuxer demuxer(cb);
  const std::string bytes = testing::read_file(path);
  const std::span<const std::uint8_t> all(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                          bytes.size());
  for (std::size_t at = 0; at < all.size(); at += 1316) {  // SRT-sized chunks
    demuxer.push(all.subspan(at, std::min<std::size_t>(1316, all.size() - at)),
                 std::chrono::system_clock::now());
  }
  demuxer.flush();
  d.stats = demuxer.stats();
  return d;
}

std::vector<std::string> ffprobe_lines(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/usr/bin/ffprobe", "-v", "error"};
  argv.insert(argv.end(), args.begin(), args.end());
  const testing::RunResult r = testing::run(argv, {}, {}, std::chrono::seconds(60));
  EXPECT_EQ(r.status, 0) << r.err;
  std::vector<std::string> lines;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == ',') line.pop_back();
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

int ffprobe_packet_count(const std::string& file, const std::string& stream) {
  const auto lines = ffprobe_lines({"-select_streams", stream, "-count_packets", "-show_entries",
                                    "stream=nb_read_packets", "-of", "csv=p=0", file});
  return lines.empty() ? -1 : std::stoi(lines[0]);
}

std::vector<std::int64_t> ffprobe_video_pts(const std::string& file) {
  std::vector<std::int64_t> pts;
  for (const std::string& line : ffprobe_lines(
           {"-select_streams", "v", "-show_entries", "packet=pts", "-of", "csv=p=0", file})) {
    pts.push_back(line == "N/A" ? -1 : std::stoll(line));
  }
  return pts;
}

void expect_clean(const TsDemuxerStats& s) {
  EXPECT_EQ(s.bytes, s.packets * kTsPacketSize);
  EXPECT_EQ(s.bytes_skipped, 0u);
  EXPECT_EQ(s.continuity_errors, 0u);
  EXPECT_EQ(s.psi_errors, 0u);
  EXPECT_EQ(s.pes_errors, 0u);
  EXPECT_EQ(s.pes_truncated, 0u);
  EXPECT_EQ(s.pes_oversized, 0u);
  EXPECT_EQ(s.malformed_packets, 0u);
  EXPECT_EQ(s.timestamp_marker_errors, 0u);
}

bool have(const char* tool) {
  return fs::exists(std::string("/usr/bin/") + tool);
}

void check_against_ffprobe(const std::string& file, bool with_audio) {
  const Demuxed d = demux_file(file);
  expect_clean(d.stats);
  ASSERT_EQ(d.programs.size(), 1u);
  EXPECT_EQ(d.programs[0].streams.size(), with_audio ? 2u : 1u);

  const int video_packets = ffprobe_packet_count(file, "v");
  ASSERT_GT(video_packets, 0);
  EXPECT_EQ(d.video_pes, video_packets);
  EXPECT_EQ(d.video_pts, ffprobe_video_pts(file));
  EXPECT_GE(d.random_access, 1);
  if (with_audio) {
    const int audio_packets = ffprobe_packet_count(file, "a");
    ASSERT_GT(audio_packets, 0);
    EXPECT_GT(d.audio_pes, 0);
    EXPECT_EQ(d.adts_frames, audio_packets);
  }
  EXPECT_EQ(d.stats.pes_delivered, static_cast<std::uint64_t>(d.video_pes + d.audio_pes));
}

TEST(TsDemuxerRealStreamTest, FfmpegH264AndAacMatchFfprobe) {
  if (!have("ffmpeg") || !have("ffprobe")) GTEST_SKIP() << "ffmpeg/ffprobe not installed";
  const std::string file = testing::fixture(
      "mpegts_demuxer_h264_aac_2s.ts",
      "-f lavfi -i testsrc2=size=640x360:rate=25 -f lavfi -i sine -t 2 -c:v libx264 -g 25 "
      "-c:a aac -f mpegts");
  ASSERT_FALSE(file.empty()) << "ffmpeg could not make the fixture";
  check_against_ffprobe(file, true);
}

TEST(TsDemuxerRealStreamTest, FfmpegHevcMatchesFfprobe) {
  if (!have("ffmpeg") || !have("ffprobe")) GTEST_SKIP() << "ffmpeg/ffprobe not installed";
  const std::string file = testing::fixture(
      "mpegts_demuxer_hevc_1s.ts",
      "-f lavfi -i testsrc2=size=640x360:rate=25 -t 1 -c:v libx265 -preset ultrafast "
      "-x265-params log-level=error -f mpegts");
  ASSERT_FALSE(file.empty()) << "ffmpeg could not make the fixture";
  const Demuxed d = demux_file(file);
  ASSERT_EQ(d.programs.size(), 1u);
  EXPECT_EQ(d.programs[0].streams[0].stream_type, kStreamTypeHevc);
  check_against_ffprobe(file, false);
}

TEST(TsDemuxerRealStreamTest, GstreamerMpegtsmuxMatchesFfprobe) {
  if (!have("gst-launch-1.0") || !have("ffprobe"))
    GTEST_SKIP() << "GStreamer/ffprobe not installed";
  const std::string file = testing::fixture_dir() + "/mpegts_demuxer_gst_h264.ts";
  if (!fs::exists(file)) {
    const std::string tmp = file + ".tmp" + std::to_string(getpid());
    const testing::RunResult r = testing::run(
        {"/usr/bin/gst-launch-1.0", "-q", "videotestsrc", "num-buffers=50", "!", "x264enc", "!",
         "h264parse", "!", "mpegtsmux", "!", "filesink", "location=" + tmp},
        {}, {}, std::chrono::minutes(2));
    if (r.status != 0) {
      fs::remove(tmp);
      GTEST_SKIP() << "gst-launch-1.0 failed (missing plugins?): " << r.err;
    }
    fs::rename(tmp, file);
  }
  check_against_ffprobe(file, false);
}

}  // namespace
}  // namespace mirror::ingest
