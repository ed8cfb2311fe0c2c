#include "media/h264.h"

#include "media/bit_reader.h"

#include <array>
#include <cstdio>

namespace mirror::media {

namespace {

// Parameter sets are far smaller in practice; a larger one is cut here and fails
// to parse instead of costing an allocation.
constexpr std::size_t kMaxParameterSetRbsp = 4096;
// 32768 luma samples in each direction: well above level 6.2.
constexpr std::uint32_t kMaxMbs = 2048;

core::Error invalid(std::string message) {
  return core::Error(core::ErrorCode::kInvalidInput, std::move(message));
}

bool is_high_profile(int profile_idc) {
  switch (profile_idc) {
    case 100:
    case 110:
    case 122:
    case 244:
    case 44:
    case 83:
    case 86:
    case 118:
    case 128:
    case 138:
    case 139:
    case 134:
    case 135:
      return true;
    default:
      return false;
  }
}

// scaling_list(): only skipped, but every delta must be in range.
void skip_scaling_list(BitReader& br, int size) {
  int last = 8;
  int next = 8;
  for (int j = 0; j < size && !br.error(); ++j) {
    if (next != 0) {
      const std::int32_t delta = br.read_se();
      if (delta < -128 || delta > 127) {
        br.set_error();
        return;
      }
      next = (last + delta + 256) % 256;
    }
    last = next == 0 ? last : next;
  }
}

// vui_parameters() up to and including the timing info; the rest (HRD,
// bitstream restriction) is not needed.
void parse_vui_timing(BitReader& br, H264Sps& sps) {
  if (br.read_bit()) {                             // aspect_ratio_info_present_flag
    if (br.read_bits(8) == 255) br.skip_bits(32);  // Extended_SAR: sar_width, sar_height
  }
  if (br.read_bit()) br.skip_bits(1);     // overscan_info_present_flag, overscan_appropriate_flag
  if (br.read_bit()) {                    // video_signal_type_present_flag
    br.skip_bits(4);                      // video_format, video_full_range_flag
    if (br.read_bit()) br.skip_bits(24);  // colour primaries, transfer, matrix
  }
  if (br.read_bit()) {  // chroma_loc_info_present_flag
    br.read_ue();
    br.read_ue();
  }
  sps.timing_info_present = br.read_bit();
  if (sps.timing_info_present) {
    sps.num_units_in_tick = br.read_bits(32);
    sps.time_scale = br.read_bits(32);
    sps.fixed_frame_rate = br.read_bit();
    if (!br.error() && sps.num_units_in_tick > 0 && sps.time_scale > 0) {
      sps.frame_rate = static_cast<double>(sps.time_scale) / (2.0 * sps.num_units_in_tick);
    }
  }
}

}  // namespace

std::optional<H264NalHeader> parse_h264_nal_header(std::span<const std::uint8_t> nal) noexcept {
  if (nal.empty() || (nal[0] & 0x80) != 0) return std::nullopt;
  return H264NalHeader{nal[0] & 0x1f, (nal[0] >> 5) & 0x03};
}

core::Result<H264Sps> parse_h264_sps(std::span<const std::uint8_t> nal) {
  const auto header = parse_h264_nal_header(nal);
  if (!header || header->type != h264::kNalSps) return invalid("not an H.264 SPS NAL unit");
  std::array<std::uint8_t, kMaxParameterSetRbsp> rbsp;
  const std::size_t size = unescape_rbsp(nal.subspan(1), rbsp);
  BitReader br({rbsp.data(), size});

  H264Sps sps;
  sps.profile_idc = static_cast<int>(br.read_bits(8));
  sps.constraint_flags = static_cast<int>(br.read_bits(8));
  sps.level_idc = static_cast<int>(br.read_bits(8));
  const std::uint32_t sps_id = br.read_ue();
  if (br.error()) return invalid("H.264 SPS truncated");
  if (sps_id > 31) return invalid("H.264 SPS id out of range");
  sps.sps_id = static_cast<int>(sps_id);

  if (is_high_profile(sps.profile_idc)) {
    const std::uint32_t chroma = br.read_ue();
    if (chroma > 3) return invalid("H.264 chroma_format_idc out of range");
    sps.chroma_format_idc = static_cast<int>(chroma);
    if (chroma == 3) sps.separate_colour_plane = br.read_bit();
    const std::uint32_t luma_minus8 = br.read_ue();
    const std::uint32_t chroma_minus8 = br.read_ue();
    if (luma_minus8 > 6 || chroma_minus8 > 6) return invalid("H.264 bit depth out of range");
    sps.bit_depth_luma = static_cast<int>(luma_minus8) + 8;
    sps.bit_depth_chroma = static_cast<int>(chroma_minus8) + 8;
    br.skip_bits(1);      // qpprime_y_zero_transform_bypass_flag
    if (br.read_bit()) {  // seq_scaling_matrix_present_flag
      const int lists = chroma != 3 ? 8 : 12;
      for (int i = 0; i < lists && !br.error(); ++i) {
        if (br.read_bit()) skip_scaling_list(br, i < 6 ? 16 : 64);
      }
    }
    if (br.error()) return invalid("H.264 SPS scaling lists invalid or truncated");
  }

  const std::uint32_t log2_max_frame_num_minus4 = br.read_ue();
  if (log2_max_frame_num_minus4 > 12) return invalid("H.264 log2_max_frame_num out of range");
  sps.log2_max_frame_num = static_cast<int>(log2_max_frame_num_minus4) + 4;
  const std::uint32_t poc_type = br.read_ue();
  if (poc_type > 2) return invalid("H.264 pic_order_cnt_type out of range");
  sps.pic_order_cnt_type = static_cast<int>(poc_type);
  if (poc_type == 0) {
    const std::uint32_t lsb_minus4 = br.read_ue();
    if (lsb_minus4 > 12) return invalid("H.264 log2_max_pic_order_cnt_lsb out of range");
    sps.log2_max_pic_order_cnt_lsb = static_cast<int>(lsb_minus4) + 4;
  } else if (poc_type == 1) {
    sps.delta_pic_order_always_zero = br.read_bit();
    br.read_se();  // offset_for_non_ref_pic
    br.read_se();  // offset_for_top_to_bottom_field
    const std::uint32_t cycle = br.read_ue();
    if (cycle > 255) return invalid("H.264 num_ref_frames_in_pic_order_cnt_cycle out of range");
    for (std::uint32_t i = 0; i < cycle && !br.error(); ++i) br.read_se();
  }
  const std::uint32_t max_refs = br.read_ue();
  if (max_refs > 16) return invalid("H.264 max_num_ref_frames out of range");
  sps.max_num_ref_frames = static_cast<int>(max_refs);
  br.skip_bits(1);  // gaps_in_frame_num_value_allowed_flag
  const std::uint32_t width_mbs_minus1 = br.read_ue();
  const std::uint32_t height_map_units_minus1 = br.read_ue();
  if (br.error()) return invalid("H.264 SPS truncated");
  if (width_mbs_minus1 >= kMaxMbs || height_map_units_minus1 >= kMaxMbs) {
    return invalid("H.264 picture size out of range");
  }
  sps.frame_mbs_only = br.read_bit();
  if (!sps.frame_mbs_only) br.skip_bits(1);  // mb_adaptive_frame_field_flag
  br.skip_bits(1);                           // direct_8x8_inference_flag

  const std::int64_t width = (std::int64_t{width_mbs_minus1} + 1) * 16;
  const std::int64_t height =
      (std::int64_t{height_map_units_minus1} + 1) * 16 * (sps.frame_mbs_only ? 1 : 2);
  std::int64_t crop_x = 0;
  std::int64_t crop_y = 0;
  if (br.read_bit()) {  // frame_cropping_flag
    const std::int64_t left = br.read_ue();
    const std::int64_t right = br.read_ue();
    const std::int64_t top = br.read_ue();
    const std::int64_t bottom = br.read_ue();
    // ChromaArrayType 0 (monochrome or separate planes) crops in luma samples.
    const int chroma_array_type = sps.separate_colour_plane ? 0 : sps.chroma_format_idc;
    const int sub_width = chroma_array_type == 1 || chroma_array_type == 2 ? 2 : 1;
    const int sub_height = chroma_array_type == 1 ? 2 : 1;
    crop_x = sub_width * (left + right);
    crop_y = sub_height * (sps.frame_mbs_only ? 1 : 2) * (top + bottom);
  }
  if (br.error()) return invalid("H.264 SPS truncated");
  if (crop_x >= width || crop_y >= height)
    return invalid("H.264 frame cropping larger than the picture");
  sps.width = static_cast<int>(width - crop_x);
  sps.height = static_cast<int>(height - crop_y);

  if (br.read_bit()) parse_vui_timing(br, sps);  // vui_parameters_present_flag
  if (br.error()) return invalid("H.264 SPS VUI truncated");
  return sps;
}

core::Result<H264Pps> parse_h264_pps(std::span<const std::uint8_t> nal) {
  const auto header = parse_h264_nal_header(nal);
  if (!header || header->type != h264::kNalPps) return invalid("not an H.264 PPS NAL unit");
  std::array<std::uint8_t, 16> rbsp;
  const std::size_t size = unescape_rbsp(nal.subspan(1), rbsp);
  BitReader br({rbsp.data(), size});
  const std::uint32_t pps_id = br.read_ue();
  const std::uint32_t sps_id = br.read_ue();
  if (br.error()) return invalid("H.264 PPS truncated");
  if (pps_id > 255 || sps_id > 31) return invalid("H.264 PPS ids out of range");
  return H264Pps{static_cast<int>(pps_id), static_cast<int>(sps_id)};
}

std::optional<H264SliceStart> parse_h264_slice_start(std::span<const std::uint8_t> nal) noexcept {
  const auto header = parse_h264_nal_header(nal);
  if (!header || (header->type != h264::kNalSlice && header->type != h264::kNalSlicePartitionA &&
                  header->type != h264::kNalIdr)) {
    return std::nullopt;
  }
  // Three Exp-Golomb codes of at most 65 bits each fit in 32 bytes.
  std::array<std::uint8_t, 32> rbsp;
  const std::size_t size = unescape_rbsp(nal.subspan(1), rbsp);
  BitReader br({rbsp.data(), size});
  H264SliceStart start;
  start.first_mb_in_slice = br.read_ue();
  const std::uint32_t slice_type = br.read_ue();
  const std::uint32_t pps_id = br.read_ue();
  if (br.error() || slice_type > 9 || pps_id > 255) return std::nullopt;
  start.slice_type = static_cast<int>(slice_type);
  start.pps_id = static_cast<int>(pps_id);
  return start;
}

std::optional<std::uint32_t> first_mb_in_slice(std::span<const std::uint8_t> nal) noexcept {
  const auto start = parse_h264_slice_start(nal);
  if (!start) return std::nullopt;
  return start->first_mb_in_slice;
}

std::optional<std::uint32_t> parse_h264_recovery_point(std::span<const std::uint8_t> nal) noexcept {
  const auto header = parse_h264_nal_header(nal);
  if (!header || header->type != h264::kNalSei) return std::nullopt;
  // Recovery points come first or early in an SEI unit; 256 bytes of RBSP
  // reach past the buffering period and picture timing messages before them.
  std::array<std::uint8_t, 256> rbsp;
  const std::size_t size = unescape_rbsp(nal.subspan(1), rbsp);
  std::size_t at = 0;
  // §7.3.2.3.1: sei_message() until the RBSP trailing bits.
  while (at + 2 <= size && rbsp[at] != 0x80) {
    std::uint32_t type = 0;
    while (at < size && rbsp[at] == 0xff) type += rbsp[at++];
    if (at >= size) return std::nullopt;
    type += rbsp[at++];
    std::uint32_t length = 0;
    while (at < size && rbsp[at] == 0xff) length += rbsp[at++];
    if (at >= size) return std::nullopt;
    length += rbsp[at++];
    if (type == 6) {
      const std::size_t available = std::min<std::size_t>(length, size - at);
      BitReader br({rbsp.data() + at, available});
      const std::uint32_t count = br.read_ue();
      if (br.error()) return std::nullopt;
      return count;
    }
    at += length;
  }
  return std::nullopt;
}

std::string avc1_codec_string(const H264Sps& sps) {
  char text[16];
  std::snprintf(text, sizeof text, "avc1.%02x%02x%02x", sps.profile_idc & 0xff,
                sps.constraint_flags & 0xff, sps.level_idc & 0xff);
  return text;
}

core::Result<Bytes> build_avcc(std::span<const Bytes> sps_list, std::span<const Bytes> pps_list) {
  if (sps_list.empty()) return invalid("avcC needs at least one SPS");
  if (sps_list.size() > 31) return invalid("avcC holds at most 31 SPS");
  if (pps_list.size() > 255) return invalid("avcC holds at most 255 PPS");
  for (const auto& ps : sps_list) {
    if (ps.size() < 4 || ps.size() > 0xffff) return invalid("SPS size out of range for avcC");
  }
  for (const auto& ps : pps_list) {
    if (ps.empty() || ps.size() > 0xffff) return invalid("PPS size out of range for avcC");
  }
  auto first = parse_h264_sps(sps_list.front());
  if (!first) return first.error();

  Bytes out;
  const Bytes& sps0 = sps_list.front();
  out.push_back(1);         // configurationVersion
  out.push_back(sps0[1]);   // AVCProfileIndication
  out.push_back(sps0[2]);   // profile_compatibility
  out.push_back(sps0[3]);   // AVCLevelIndication
  out.push_back(0xfc | 3);  // reserved, lengthSizeMinusOne = 3
  out.push_back(static_cast<std::uint8_t>(0xe0 | sps_list.size()));
  auto put = [&out](const Bytes& ps) {
    out.push_back(static_cast<std::uint8_t>(ps.size() >> 8));
    out.push_back(static_cast<std::uint8_t>(ps.size()));
    out.insert(out.end(), ps.begin(), ps.end());
  };
  for (const auto& ps : sps_list) put(ps);
  out.push_back(static_cast<std::uint8_t>(pps_list.size()));
  for (const auto& ps : pps_list) put(ps);
  const int profile = first->profile_idc;
  if (profile == 100 || profile == 110 || profile == 122 || profile == 144) {
    out.push_back(static_cast<std::uint8_t>(0xfc | first->chroma_format_idc));
    out.push_back(static_cast<std::uint8_t>(0xf8 | (first->bit_depth_luma - 8)));
    out.push_back(static_cast<std::uint8_t>(0xf8 | (first->bit_depth_chroma - 8)));
    out.push_back(0);  // numOfSequenceParameterSetExt
  }
  return out;
}

}  // namespace mirror::media
