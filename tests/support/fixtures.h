// Test support: media fixtures made with ffmpeg at test time and cached in the
// build folder (nothing large is committed). Safe when tests run in parallel:
// each file is written under a temporary name and renamed into place.
#pragma once

#include <string>
#include <vector>

namespace mirror::testing {

// The fixture folder (created on first use).
std::string fixture_dir();

// Path of fixture `name`, made by running `ffmpeg_args` (everything after
// "ffmpeg -y -hide_banner -loglevel error", with the output path appended)
// when it does not exist yet. Empty string when ffmpeg fails or is missing.
std::string fixture(const std::string& name, const std::string& ffmpeg_args);

// The standard ones.
std::string h264_aac_720p30_ts();  // 4 s, 1280x720 30 fps, GOP 30, AAC 48 kHz stereo
std::string hevc_aac_360p25_ts();  // 3 s, 640x360 25 fps, GOP 25, AAC 48 kHz stereo

// ffmpeg arguments for a live source published to Mirror over SRT: generated
// 640x360 30 fps H.264 (GOP 1 s, no scene-cut keyframes) and AAC in one PES
// per frame, in real time until stopped.
std::vector<std::string> live_srt_sender(int srt_port, const std::string& stream);
// The same test pattern at `rate` ("30000/1001"), encoded with `video`'s
// arguments (B-frames, HEVC...), with the same audio.
std::vector<std::string> live_srt_sender(int srt_port, const std::string& stream,
                                         const std::string& rate,
                                         const std::vector<std::string>& video);

// Counts from ffprobe for one stream type ("v" or "a") of a file.
struct ProbeCounts {
  int packets = 0;
  int keyframes = 0;
  double first_pts = 0;  // seconds
};
ProbeCounts probe(const std::string& file, const std::string& stream);

}  // namespace mirror::testing
