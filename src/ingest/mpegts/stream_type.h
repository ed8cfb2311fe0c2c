// MPEG-TS stream_type values (ISO/IEC 13818-1 Table 2-34 and common registered
// ones) and which of them Mirror ingests: H.264, HEVC and AAC in ADTS. Every
// other type is named for logs and otherwise ignored.
#pragma once

#include <cstdint>
#include <string_view>

namespace mirror::ingest {

inline constexpr std::uint8_t kStreamTypeMpeg2Video = 0x02;
inline constexpr std::uint8_t kStreamTypeMpeg1Audio = 0x03;
inline constexpr std::uint8_t kStreamTypeMpeg2Audio = 0x04;
inline constexpr std::uint8_t kStreamTypePrivateData = 0x06;
inline constexpr std::uint8_t kStreamTypeAacAdts = 0x0F;
inline constexpr std::uint8_t kStreamTypeH264 = 0x1B;
inline constexpr std::uint8_t kStreamTypeHevc = 0x24;
inline constexpr std::uint8_t kStreamTypeAc3 = 0x81;
inline constexpr std::uint8_t kStreamTypeScte35 = 0x86;
inline constexpr std::uint8_t kStreamTypeEac3 = 0x87;

constexpr bool is_supported_stream_type(std::uint8_t type) noexcept {
  return type == kStreamTypeH264 || type == kStreamTypeHevc || type == kStreamTypeAacAdts;
}

constexpr bool is_video_stream_type(std::uint8_t type) noexcept {
  return type == kStreamTypeH264 || type == kStreamTypeHevc || type == kStreamTypeMpeg2Video;
}

// "h264", "hevc", "aac-adts", "mpeg2-video", "ac3", ... or "unknown".
constexpr std::string_view stream_type_name(std::uint8_t type) noexcept {
  switch (type) {
    case kStreamTypeMpeg2Video:
      return "mpeg2-video";
    case kStreamTypeMpeg1Audio:
      return "mpeg1-audio";
    case kStreamTypeMpeg2Audio:
      return "mpeg2-audio";
    case kStreamTypePrivateData:
      return "private-data";
    case kStreamTypeAacAdts:
      return "aac-adts";
    case kStreamTypeH264:
      return "h264";
    case kStreamTypeHevc:
      return "hevc";
    case kStreamTypeAc3:
      return "ac3";
    case kStreamTypeScte35:
      return "scte35";
    case kStreamTypeEac3:
      return "eac3";
    default:
      return "unknown";
  }
}

}  // namespace mirror::ingest
