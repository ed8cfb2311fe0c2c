// MediaFrame: one access unit of one track, the unit every stage after ingest
// works on. Its payload is a pooled, reference-counted buffer: stages pass
// frames by value (a few reference counts), never copying media bytes.
// Video payloads are length-prefixed NAL units (4-byte big-endian lengths, as
// in AVCC/HVCC samples), audio payloads are raw AAC frames (no ADTS header).
// A MediaFrame is immutable once published; any thread may read it.
#pragma once

#include "core/buffer_pool.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mirror::media {

enum class Codec : std::uint8_t { kUnknown, kH264, kHevc, kAac };
enum class TrackKind : std::uint8_t { kVideo, kAudio };

const char* codec_name(Codec codec);  // "h264", "hevc", "aac", "unknown"

using Bytes = std::vector<std::uint8_t>;

// Everything a decoder or a packager needs to know about a track before its
// first frame. Shared and immutable: a change makes a new CodecConfig.
struct CodecConfig {
  Codec codec = Codec::kUnknown;
  TrackKind kind = TrackKind::kVideo;
  std::uint32_t timescale = 90000;  // 90 kHz for video, the sample rate for audio
  std::string codec_string;         // RFC 6381: avc1.64001f, hvc1.1.6.L120.B0, mp4a.40.2

  // Video: parameter sets as NAL units without start codes (emulation
  // prevention bytes kept, exactly as they go into avcC/hvcC).
  std::vector<Bytes> vps;
  std::vector<Bytes> sps;
  std::vector<Bytes> pps;
  int width = 0;   // after cropping
  int height = 0;
  double frame_rate = 0;  // from the VUI timing info; 0 when the stream does not say
  int profile = 0;        // profile_idc / general_profile_idc
  int level = 0;          // level_idc / general_level_idc
  int bit_depth = 8;
  int chroma_format = 1;  // 4:2:0

  // Audio.
  Bytes audio_specific_config;  // ISO 14496-3 AudioSpecificConfig
  int sample_rate = 0;
  int channels = 0;
  int audio_object_type = 0;    // 2 = AAC-LC
  int samples_per_frame = 1024;

  // Same decoder set-up: parameter sets / AudioSpecificConfig equal.
  bool same_setup(const CodecConfig& other) const;
};

using CodecConfigPtr = std::shared_ptr<const CodecConfig>;

struct MediaFrame {
  std::uint32_t track = 0;  // 0 video, 1 audio for a single-program source
  TrackKind kind = TrackKind::kVideo;
  Codec codec = Codec::kUnknown;
  std::int64_t pts = 0;  // in config->timescale units, unwrapped to 64 bits
  std::int64_t dts = 0;
  std::int64_t duration = 0;  // 0 when unknown (the next frame tells)
  bool keyframe = false;      // IDR, recovery point or IRAP for video; every AAC frame is one
  // A keyframe only by a recovery point whose picture is complete some frames
  // later (intra refresh): decoders that start only on intra pictures, as
  // browsers' do, cannot start here.
  bool gradual_refresh = false;
  // HEVC: a RASL picture, which refers to pictures before the CRA it follows
  // and cannot be decoded by a player that starts at that CRA.
  bool rasl = false;
  // A keyframe of a transcoded rendition: the source keyframe it stands for,
  // its decode time and the step from the frame before it (the source's
  // clock and timescale). The packager decides the rendition's segment
  // starts on these, as it does the source's on its own keyframes, so that
  // every variant has the same segments with the same numbers.
  struct SourceKeyframe {
    std::int64_t dts = 0;
    std::int64_t step = 0;
  };
  std::optional<SourceKeyframe> source_keyframe;
  bool discontinuity = false;  // timeline break before this frame (reconnect, SSRC change)
  bool config_changed = false;  // `config` differs from the previous frame's
  CodecConfigPtr config;
  std::chrono::system_clock::time_point arrival{};  // wall clock when its first byte arrived
  // When the ingest had all of it and published it (a big picture takes a
  // while to arrive at 50 Mbit/s): what later stages time themselves from.
  std::chrono::steady_clock::time_point received{};
  core::BufferRef payload;
};

}  // namespace mirror::media
