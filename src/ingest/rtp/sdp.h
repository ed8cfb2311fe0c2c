// SDP session descriptions (RFC 4566) as they announce an RTP ingest: the
// session and media lines, rtpmap/fmtp/control/direction attributes, and the
// payload format Mirror will depacketize for each media section. Hostile
// text: bounded size, every field checked, errors name the line.
//
// Threads: stateless; call from any thread.
#pragma once

#include "core/errors.h"

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace mirror::ingest {

inline constexpr std::size_t kMaxSdpSize = 64 * 1024;

enum class MediaDirection : std::uint8_t { kSendRecv, kSendOnly, kRecvOnly, kInactive };

// The payload formats Mirror depacketizes.
enum class RtpEncoding : std::uint8_t {
  kH264,          // RFC 6184
  kHevc,          // RFC 7798 ("H265")
  kMpeg4Generic,  // RFC 3640 (AAC)
  kMp2t,          // RFC 2250 (MPEG-TS, static payload type 33)
};

struct SdpOrigin {
  std::string username;
  std::string session_id;
  std::string session_version;
  std::string network_type;  // "IN"
  std::string address_type;  // "IP4" / "IP6"
  std::string address;
};

struct RtpMapEntry {
  int payload_type = 0;
  std::string encoding_name;  // as written
  std::uint32_t clock_rate = 0;
  int channels = 0;  // 0 when not given
  int line = 0;
};

struct MediaDescription {
  std::string media;  // "video", "audio", ...
  std::uint16_t port = 0;
  std::uint16_t port_count = 1;      // m=video 5004/2 ...
  std::string protocol;              // "RTP/AVP" or "RTP/AVPF"
  std::vector<int> payload_types;    // in m= line order
  std::vector<RtpMapEntry> rtpmaps;  // every a=rtpmap of the section
  std::string connection_address;    // the section's c= (without /ttl), else the session's
  std::string control;               // a=control, empty when absent
  MediaDirection direction = MediaDirection::kSendRecv;  // inherits the session's

  // The payload format chosen: the first listed one Mirror supports.
  int payload_type = -1;
  RtpEncoding encoding = RtpEncoding::kH264;
  std::string encoding_name;  // upper case: "H264", "H265", "MPEG4-GENERIC", "MP2T"
  std::uint32_t clock_rate = 0;
  int channels = 0;
  std::map<std::string, std::string> fmtp;  // of the chosen type; keys lower case
  int line = 0;                             // of the m= line
  int fmtp_line = 0;                        // of the chosen type's a=fmtp, 0 without one

  // The fmtp value of `key` (lower case), empty when absent.
  std::string_view fmtp_value(std::string_view key) const;
  bool has_fmtp(std::string_view key) const;
};

struct SessionDescription {
  int version = 0;
  SdpOrigin origin;
  std::string session_name;
  std::string connection_address;  // session-level c=, without /ttl
  std::uint64_t start_time = 0;
  std::uint64_t stop_time = 0;
  std::string control;
  MediaDirection direction = MediaDirection::kSendRecv;
  std::vector<MediaDescription> media;
};

// INVALID_INPUT with "sdp line N: ..." when the text breaks a rule: larger than
// kMaxSdpSize, first line not v=0, a line without '=', a malformed o=/c=/t=/m=
// or a=rtpmap/fmtp, a port out of range, an m= line without payload types or
// not RTP/AVP(F), or a media section whose encodings are all unsupported (the
// message names the encoding). Lines may end in \r\n or \n.
core::Result<SessionDescription> parse_sdp(std::string_view text);

}  // namespace mirror::ingest
