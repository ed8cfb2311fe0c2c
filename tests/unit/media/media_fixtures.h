// Test support: small real elementary streams made by ffmpeg at test time
// (H.264, HEVC, AAC ADTS), cached in a folder next to the test binary (or
// $MIRROR_FIXTURE_DIR) and reused; plus ffprobe's view of them, the reference
// the parsers are checked against.
#pragma once

#include "media/media_frame.h"

#include <map>
#include <string>
#include <vector>

namespace mirror::media::testing {

inline constexpr const char* kFfmpeg = "/usr/bin/ffmpeg";
inline constexpr const char* kFfprobe = "/usr/bin/ffprobe";

bool have_ffmpeg();

enum class Fixture {
  kH264,        // 1280x720, 30 fps, 1 s, libx264 High, B-frames, GOP 12
  kH264Slices,  // 640x360, 25 fps, 1 s, libx264, 4 slices per picture, AUDs
  kHevc,        // 1920x1080, 50 fps, 1 s, libx265 Main 8-bit, GOP 25
  kAac,         // 48 kHz stereo AAC-LC ADTS, 1 s
};

// The path of the fixture, generated on first use; "" (and a test failure) when
// ffmpeg fails.
std::string fixture_path(Fixture fixture);
Bytes read_bytes(const std::string& path);

// `ffprobe -show_entries stream=...` of the first stream, as key -> value.
std::map<std::string, std::string> probe_stream(const std::string& path, bool count_frames);
// Packet flags in decode order ("K_", "__").
std::vector<std::string> probe_packet_flags(const std::string& path);
// key_frame of every decoded frame.
std::vector<int> probe_frame_keyflags(const std::string& path);

}  // namespace mirror::media::testing
