// Codec parameters carried in SDP a=fmtp lines, decoded and validated for the
// depacketizers: H.264 sprop-parameter-sets and packetization-mode (RFC 6184
// §8.1), HEVC sprop-vps/sps/pps and sprop-max-don-diff (RFC 7798 §7.1), and
// the RFC 3640 AAC-hbr/lbr AU-header layout and AudioSpecificConfig.
// Errors are INVALID_INPUT naming the SDP line of the offending fmtp.
//
// Threads: stateless; call from any thread.
#pragma once

#include "core/errors.h"
#include "ingest/rtp/sdp.h"
#include "media/media_frame.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mirror::ingest {

struct H264RtpParameters {
  int packetization_mode = 0;                // 0 single NAL, 1 non-interleaved
  std::vector<media::Bytes> parameter_sets;  // SPS/PPS NAL units, no start codes
  std::string profile_level_id;              // hex as written, may be empty
};

struct HevcRtpParameters {
  std::vector<media::Bytes> vps;
  std::vector<media::Bytes> sps;
  std::vector<media::Bytes> pps;
};

struct AacRtpParameters {
  std::string mode = "AAC-hbr";
  int size_length = 13;                // bits of AU-size
  int index_length = 3;                // bits of AU-Index (first AU header)
  int index_delta_length = 3;          // bits of AU-Index-delta (following AU headers)
  media::Bytes audio_specific_config;  // from `config` (hex)
  std::uint32_t clock_rate = 0;        // from a=rtpmap, the sample rate
  int channels = 0;                    // from a=rtpmap, 0 when absent
  int samples_per_frame = 1024;        // RTP clock ticks between consecutive AUs
};

// Comma-separated base64 NAL units; empty entries or bad base64 are errors.
core::Result<std::vector<media::Bytes>> decode_sprop_nal_units(std::string_view value, int line,
                                                               std::string_view name);
// Hex digits, even count, at least one byte.
core::Result<media::Bytes> decode_hex(std::string_view value, int line, std::string_view name);

// Requires encoding H264; packetization-mode 0 or 1 (absent = 0).
core::Result<H264RtpParameters> h264_rtp_parameters(const MediaDescription& media);
// Requires encoding H265; sprop-max-don-diff absent or 0 (no DONL fields);
// each sprop NAL must have the matching HEVC NAL unit type (32, 33, 34).
core::Result<HevcRtpParameters> hevc_rtp_parameters(const MediaDescription& media);
// Requires MPEG4-GENERIC with mode AAC-hbr or AAC-lbr, sizelength 1-16,
// indexlength and indexdeltalength 0-8, a `config`, and none of the optional
// CTS/DTS/RAP/stream-state/auxiliary fields Mirror does not parse.
core::Result<AacRtpParameters> aac_rtp_parameters(const MediaDescription& media);

}  // namespace mirror::ingest
