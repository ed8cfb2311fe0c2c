// Helpers for the packaging tests: synthetic frames with real parameter sets,
// and a small ISO BMFF box walker to check what the writer produced.
#pragma once

#include "core/buffer_pool.h"
#include "core/shared_bytes.h"
#include "media/media_frame.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mirror::package::testing {

// x264's SPS/PPS for 1280x720 High@3.1 (as in the media tests).
inline const media::Bytes kSps = {0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0x50, 0x05,
                                  0xbb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00,
                                  0x00, 0x03, 0x03, 0xc0, 0xf1, 0x83, 0x19, 0x60};
inline const media::Bytes kPps = {0x68, 0xef, 0x82, 0x5c, 0xb0};

inline media::CodecConfigPtr video_config(double frame_rate = 30) {
  auto c = std::make_shared<media::CodecConfig>();
  c->codec = media::Codec::kH264;
  c->kind = media::TrackKind::kVideo;
  c->timescale = 90000;
  c->codec_string = "avc1.64001f";
  c->sps = {kSps};
  c->pps = {kPps};
  c->width = 1280;
  c->height = 720;
  c->frame_rate = frame_rate;
  c->profile = 100;
  c->level = 31;
  return c;
}

inline media::CodecConfigPtr audio_config(int sample_rate = 48000) {
  auto c = std::make_shared<media::CodecConfig>();
  c->codec = media::Codec::kAac;
  c->kind = media::TrackKind::kAudio;
  c->timescale = static_cast<std::uint32_t>(sample_rate);
  c->codec_string = "mp4a.40.2";
  c->audio_specific_config = {0x11, 0x90};  // AAC-LC, 48 kHz, stereo
  c->sample_rate = sample_rate;
  c->channels = 2;
  c->audio_object_type = 2;
  return c;
}

inline core::BufferRef payload(std::size_t size, std::uint8_t fill) {
  core::Buffer b = core::BufferPool::global().acquire_owned(size);
  for (auto& byte : b.writable()) byte = fill;
  return std::move(b).share();
}

inline media::MediaFrame video_frame(const media::CodecConfigPtr& config, std::int64_t dts,
                                     bool keyframe, std::size_t size = 1000) {
  media::MediaFrame f;
  f.track = 0;
  f.kind = media::TrackKind::kVideo;
  f.codec = media::Codec::kH264;
  f.dts = dts;
  f.pts = dts;
  f.keyframe = keyframe;
  f.config = config;
  f.arrival = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000)) +
              std::chrono::microseconds(dts * 100 / 9);
  f.payload = payload(size, keyframe ? 0x65 : 0x41);
  return f;
}

inline media::MediaFrame audio_frame(const media::CodecConfigPtr& config, std::int64_t pts,
                                     std::size_t size = 300) {
  media::MediaFrame f;
  f.track = 1;
  f.kind = media::TrackKind::kAudio;
  f.codec = media::Codec::kAac;
  f.dts = pts;
  f.pts = pts;
  f.keyframe = true;
  f.config = config;
  f.arrival = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000)) +
              std::chrono::microseconds(pts * 1'000'000 / config->timescale);
  f.payload = payload(size, 0x21);
  return f;
}

struct Box {
  std::string type;
  std::size_t offset = 0;  // of the header
  std::size_t size = 0;    // whole box
  std::size_t header = 8;
};

// The boxes directly inside [begin, end); nullopt when a size does not fit.
inline std::optional<std::vector<Box>> boxes(std::string_view data, std::size_t begin, std::size_t end) {
  std::vector<Box> out;
  std::size_t at = begin;
  while (at < end) {
    if (end - at < 8) return std::nullopt;
    auto u8 = [&](std::size_t i) { return static_cast<std::uint8_t>(data[at + i]); };
    const std::size_t size = (std::size_t{u8(0)} << 24) | (std::size_t{u8(1)} << 16) |
                             (std::size_t{u8(2)} << 8) | u8(3);
    if (size < 8 || size > end - at) return std::nullopt;
    out.push_back({std::string(data.substr(at + 4, 4)), at, size, 8});
    at += size;
  }
  return out;
}

inline std::string joined(const std::vector<core::SharedBytes>& pieces) {
  std::string out;
  for (const auto& p : pieces) out.append(p.view());
  return out;
}

}  // namespace mirror::package::testing
