// H.265 / HEVC syntax that a live packager needs (ITU-T H.265 §7.3, ISO/IEC
// 14496-15 §8.3 and Annex E): NAL unit headers, profile_tier_level, the video
// and sequence parameter sets up to the VUI timing info, the ids of the picture
// parameter set, the start of a slice segment header, the RFC 6381 codec string
// and the HEVCDecoderConfigurationRecord (hvcC).
//
// Every function takes a NAL unit as it appears in the stream (two header bytes
// first, emulation prevention bytes still in) and checks every length and value;
// hostile input gives an error, never a read past the span.
//
// Threads: pure functions, callable from any thread.
#pragma once

#include "core/errors.h"
#include "media/bit_reader.h"
#include "media/media_frame.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace mirror::media {

namespace hevc {
inline constexpr int kNalRaslN = 8;
inline constexpr int kNalRaslR = 9;
inline constexpr int kNalBlaWLp = 16;
inline constexpr int kNalIdrWRadl = 19;
inline constexpr int kNalIdrNLp = 20;
inline constexpr int kNalCra = 21;
inline constexpr int kNalVps = 32;
inline constexpr int kNalSps = 33;
inline constexpr int kNalPps = 34;
inline constexpr int kNalAud = 35;
inline constexpr int kNalEndOfSequence = 36;
inline constexpr int kNalEndOfBitstream = 37;
inline constexpr int kNalFiller = 38;
inline constexpr int kNalPrefixSei = 39;
inline constexpr int kNalSuffixSei = 40;
}  // namespace hevc

struct HevcNalHeader {
  int type = 0;         // nal_unit_type, 0..63
  int layer_id = 0;     // nuh_layer_id, 0..63
  int temporal_id = 0;  // nuh_temporal_id_plus1 - 1, 0..6
};

// The two header bytes; nullopt when short, forbidden_zero_bit is set or
// nuh_temporal_id_plus1 is 0.
std::optional<HevcNalHeader> parse_hevc_nal_header(std::span<const std::uint8_t> nal) noexcept;

inline bool is_hevc_vcl(int type) noexcept {
  return type >= 0 && type <= 31;
}
// Intra random access point pictures: BLA, IDR, CRA and the reserved IRAP types 22, 23.
inline bool is_hevc_irap(int type) noexcept {
  return type >= 16 && type <= 23;
}

// The general part of profile_tier_level(); sub-layer fields are skipped.
struct HevcProfileTierLevel {
  int profile_space = 0;  // 0..3
  bool tier = false;      // false = Main, true = High
  int profile_idc = 0;    // 1 = Main, 2 = Main 10, 3 = Main Still Picture, 4 = RExt, ...
  std::uint32_t compatibility_flags = 0;  // general_profile_compatibility_flag[0] is the MSB
  std::uint64_t constraint_flags = 0;     // 48 bits from progressive_source_flag on, MSB first
  int level_idc = 0;                      // 30 x level: 93 = 3.1, 120 = 4, 153 = 5.1
};

struct HevcVps {
  int vps_id = 0;
  int max_sub_layers = 1;
  bool temporal_id_nesting = false;
  HevcProfileTierLevel ptl;
};

struct HevcSps {
  int vps_id = 0;
  int sps_id = 0;
  int max_sub_layers = 1;
  bool temporal_id_nesting = false;
  HevcProfileTierLevel ptl;
  int chroma_format_idc = 1;
  bool separate_colour_plane = false;
  int coded_width = 0;  // pic_width/height_in_luma_samples
  int coded_height = 0;
  int width = 0;  // after the conformance window
  int height = 0;
  int bit_depth_luma = 8;
  int bit_depth_chroma = 8;
  int log2_max_pic_order_cnt_lsb = 4;
  // VUI timing info; frame_rate = time_scale / num_units_in_tick, 0 when absent.
  bool timing_info_present = false;
  std::uint32_t num_units_in_tick = 0;
  std::uint32_t time_scale = 0;
  double frame_rate = 0;
};

struct HevcPps {
  int pps_id = 0;
  int sps_id = 0;
};

// The first fields of a slice segment header.
struct HevcSliceStart {
  bool first_slice_segment_in_pic = false;
  int pps_id = 0;
};

// profile_tier_level(1, max_sub_layers_minus1) over an RBSP bit reader; false
// when the data runs out.
bool parse_hevc_profile_tier_level(BitReader& br, int max_sub_layers_minus1,
                                   HevcProfileTierLevel& out);

core::Result<HevcVps> parse_hevc_vps(std::span<const std::uint8_t> nal);
core::Result<HevcSps> parse_hevc_sps(std::span<const std::uint8_t> nal);
core::Result<HevcPps> parse_hevc_pps(std::span<const std::uint8_t> nal);
// For VCL NAL units (types 0..31).
std::optional<HevcSliceStart> parse_hevc_slice_start(std::span<const std::uint8_t> nal) noexcept;
std::optional<bool> first_slice_segment_in_pic_flag(std::span<const std::uint8_t> nal) noexcept;

// ISO/IEC 14496-15 Annex E: "hvc1.1.6.L93.B0" — profile space letter and
// profile idc, compatibility flags bit-reversed in hex, tier letter and level,
// constraint bytes in hex with trailing zero bytes left out.
std::string hvc1_codec_string(const HevcProfileTierLevel& ptl);
inline std::string hvc1_codec_string(const HevcSps& sps) {
  return hvc1_codec_string(sps.ptl);
}

// HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 §8.3.3.1) with arrays of
// the VPS, SPS and PPS NAL units and lengthSizeMinusOne = 3. Profile, level,
// chroma format and bit depths come from the first SPS.
core::Result<Bytes> build_hvcc(std::span<const Bytes> vps_list, std::span<const Bytes> sps_list,
                               std::span<const Bytes> pps_list);

}  // namespace mirror::media
