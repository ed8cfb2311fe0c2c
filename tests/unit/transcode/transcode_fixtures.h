// Real media for the transcoder tests: sources made with ffmpeg at test time
// (cached in the build folder), demuxed by Mirror's own ingest into the
// MediaFrames a stream's hub would deliver.
#pragma once

#include "ingest/ts_ingest.h"
#include "media/media_frame.h"
#include "support/fixtures.h"

#include <chrono>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

namespace mirror::transcode::testing {

inline std::vector<media::MediaFrame> frames_of(const std::string& ts_path) {
  std::ifstream in(ts_path, std::ios::binary);
  const std::vector<std::uint8_t> data((std::istreambuf_iterator<char>(in)), {});
  return ingest::demux_ts(data);
}

// 3 s of 640x360 at 50 fps from x265's own GOP structure (open GOP, B-frames
// in a pyramid), AAC: what a broadcast HEVC encoder sends, at a small size.
inline std::string hevc_bframes_50fps_ts() {
  return mirror::testing::fixture(
      "hevc_bframes_360p50.ts",
      "-f lavfi -i testsrc2=size=640x360:rate=50 -f lavfi -i sine=frequency=440:sample_rate=48000 -t 3 "
      "-c:v libx265 -preset fast -x265-params keyint=50:log-level=error -pix_fmt yuv420p -c:a aac -ac 2 "
      "-f mpegts");
}

// 3 s of 29.97 fps H.264 with x264's default B-frames.
inline std::string h264_bframes_2997_ts() {
  return mirror::testing::fixture(
      "h264_bframes_360p2997.ts",
      "-f lavfi -i testsrc2=size=640x360:rate=30000/1001 -f lavfi -i sine=frequency=440:sample_rate=48000 "
      "-t 3 -c:v libx264 -preset fast -g 30 -pix_fmt yuv420p -threads 1 -c:a aac -ac 2 -f mpegts");
}

// 6 s of AAC alone: a -20 dBFS 1 kHz sine in both channels.
inline std::string aac_only_ts() {
  return mirror::testing::fixture(
      "aac_only_sine_minus20.ts",
      "-f lavfi -i 'aevalsrc=0.1*sin(2*PI*1000*t)|0.1*sin(2*PI*1000*t):s=48000' -t 6 -c:a aac -b:a 128k "
      "-f mpegts");
}

// 3 s of video alone.
inline std::string h264_video_only_ts() {
  return mirror::testing::fixture(
      "h264_video_only_360p30.ts",
      "-f lavfi -i testsrc2=size=640x360:rate=30 -t 3 -c:v libx264 -preset veryfast -g 30 -pix_fmt yuv420p "
      "-threads 1 -an -f mpegts");
}

// 2 s at 640x360, then 2 s at 1280x720 (an encoder reconfigured), on one
// continuous clock.
inline std::string h264_size_change_ts() {
  const std::string small = mirror::testing::fixture(
      "size_change_a.ts",
      "-f lavfi -i testsrc2=size=640x360:rate=30 -f lavfi -i sine=frequency=440:sample_rate=48000 -t 2 "
      "-c:v libx264 -preset veryfast -g 30 -pix_fmt yuv420p -threads 1 -c:a aac -ac 2 -f mpegts");
  const std::string large = mirror::testing::fixture(
      "size_change_b.ts",
      "-f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi -i sine=frequency=440:sample_rate=48000 -t 2 "
      "-c:v libx264 -preset veryfast -g 30 -pix_fmt yuv420p -threads 1 -c:a aac -ac 2 -output_ts_offset 2 "
      "-f mpegts");
  if (small.empty() || large.empty()) return {};
  return mirror::testing::fixture("size_change.ts",
                                  "-i 'concat:" + small + "|" + large + "' -c copy -f mpegts");
}

}  // namespace mirror::transcode::testing
