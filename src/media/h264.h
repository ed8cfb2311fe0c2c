// H.264 / AVC syntax that a live packager needs (ITU-T H.264 §7.3, ISO/IEC
// 14496-15 §5.3): NAL unit headers, the sequence parameter set up to the VUI
// timing info, the picture parameter set ids, the start of a slice header, the
// RFC 6381 codec string and the AVCDecoderConfigurationRecord (avcC).
//
// Every function takes a NAL unit as it appears in the stream (header byte
// first, emulation prevention bytes still in) and checks every length and
// value against the range the standard allows; hostile input gives an error,
// never a read past the span.
//
// Threads: pure functions, callable from any thread.
#pragma once

#include "core/errors.h"
#include "media/media_frame.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace mirror::media {

namespace h264 {
inline constexpr int kNalSlice = 1;
inline constexpr int kNalSlicePartitionA = 2;
inline constexpr int kNalSlicePartitionB = 3;
inline constexpr int kNalSlicePartitionC = 4;
inline constexpr int kNalIdr = 5;
inline constexpr int kNalSei = 6;
inline constexpr int kNalSps = 7;
inline constexpr int kNalPps = 8;
inline constexpr int kNalAud = 9;
inline constexpr int kNalEndOfSequence = 10;
inline constexpr int kNalEndOfStream = 11;
inline constexpr int kNalFiller = 12;
inline constexpr int kNalSpsExtension = 13;
inline constexpr int kNalPrefix = 14;
inline constexpr int kNalSubsetSps = 15;
}  // namespace h264

struct H264NalHeader {
  int type = 0;         // nal_unit_type, 0..31
  int nal_ref_idc = 0;  // 0..3
};

// The header byte; nullopt for an empty span or a set forbidden_zero_bit.
std::optional<H264NalHeader> parse_h264_nal_header(std::span<const std::uint8_t> nal) noexcept;

// Slices of a coded picture (types 1..5).
inline bool is_h264_vcl(int type) noexcept {
  return type >= 1 && type <= 5;
}

struct H264Sps {
  int profile_idc = 0;
  int constraint_flags = 0;  // constraint_set0..5 flags and the two reserved bits, as one byte
  int level_idc = 0;
  int sps_id = 0;
  int chroma_format_idc = 1;  // 0 = monochrome, 1 = 4:2:0, 2 = 4:2:2, 3 = 4:4:4
  bool separate_colour_plane = false;
  int bit_depth_luma = 8;
  int bit_depth_chroma = 8;
  int log2_max_frame_num = 4;
  int pic_order_cnt_type = 0;
  int log2_max_pic_order_cnt_lsb = 0;        // pic_order_cnt_type 0 only
  bool delta_pic_order_always_zero = false;  // pic_order_cnt_type 1 only
  int max_num_ref_frames = 0;
  bool frame_mbs_only = true;
  int width = 0;  // luma samples after frame cropping
  int height = 0;
  // VUI timing info; frame_rate = time_scale / (2 * num_units_in_tick), 0 when absent.
  bool timing_info_present = false;
  std::uint32_t num_units_in_tick = 0;
  std::uint32_t time_scale = 0;
  bool fixed_frame_rate = false;
  double frame_rate = 0;
};

struct H264Pps {
  int pps_id = 0;
  int sps_id = 0;
};

// The first fields of a slice header, enough to find picture boundaries and
// the parameter sets a slice uses.
struct H264SliceStart {
  std::uint32_t first_mb_in_slice = 0;
  int slice_type = 0;  // 0..9
  int pps_id = 0;
};

core::Result<H264Sps> parse_h264_sps(std::span<const std::uint8_t> nal);
core::Result<H264Pps> parse_h264_pps(std::span<const std::uint8_t> nal);
// For slice NAL units of type 1, 2 or 5.
std::optional<H264SliceStart> parse_h264_slice_start(std::span<const std::uint8_t> nal) noexcept;
std::optional<std::uint32_t> first_mb_in_slice(std::span<const std::uint8_t> nal) noexcept;

// The recovery_frame_cnt of a recovery point SEI message (payload type 6)
// carried in an SEI NAL unit, or nothing when the unit holds none (or is
// malformed). A picture with a recovery point is where a decoder may start:
// with a count of 0 it is clean at once; above 0 (gradual decoding refresh,
// as cameras with intra refresh send) it is clean after that many frames.
std::optional<std::uint32_t> parse_h264_recovery_point(std::span<const std::uint8_t> nal) noexcept;

// "avc1.PPCCLL": profile_idc, constraint flags and level_idc in lower-case hex.
std::string avc1_codec_string(const H264Sps& sps);

// AVCDecoderConfigurationRecord (ISO/IEC 14496-15 §5.3.3.1) with 4-byte NAL
// lengths; profiles 100, 110, 122 and 144 get the chroma format and bit depth
// extension. Profile, compatibility and level come from the first SPS.
core::Result<Bytes> build_avcc(std::span<const Bytes> sps_list, std::span<const Bytes> pps_list);

}  // namespace mirror::media
