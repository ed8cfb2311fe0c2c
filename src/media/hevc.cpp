#include "media/hevc.h"

#include <array>
#include <cstdio>

namespace mirror::media {

namespace {

// Parameter sets are far smaller in practice; a larger one is cut here and fails
// to parse instead of costing an allocation.
constexpr std::size_t kMaxParameterSetRbsp = 4096;
constexpr std::uint32_t kMaxPictureSize = 32768;  // luma samples, each direction
constexpr int kMaxShortTermRefPicSets = 64;
constexpr std::uint32_t kMaxDeltaPocs = 32;

core::Error invalid(std::string message) {
  return core::Error(core::ErrorCode::kInvalidInput, std::move(message));
}

// The RBSP of a parameter set: the payload after the two header bytes.
std::size_t parameter_set_rbsp(std::span<const std::uint8_t> nal,
                               std::array<std::uint8_t, kMaxParameterSetRbsp>& rbsp) {
  return unescape_rbsp(nal.subspan(2), rbsp);
}

// scaling_list_data(): skipped, with every value range-checked.
void skip_scaling_list_data(BitReader& br) {
  for (int size_id = 0; size_id < 4; ++size_id) {
    const int step = size_id == 3 ? 3 : 1;
    for (int matrix_id = 0; matrix_id < 6 && !br.error(); matrix_id += step) {
      if (!br.read_bit()) {                        // scaling_list_pred_mode_flag
        const std::uint32_t delta = br.read_ue();  // scaling_list_pred_matrix_id_delta
        if (delta > static_cast<std::uint32_t>(matrix_id / step)) br.set_error();
        continue;
      }
      const int coef_num = size_id == 0 ? 16 : 64;
      if (size_id > 1) {
        const std::int32_t dc = br.read_se();  // scaling_list_dc_coef_minus8
        if (dc < -7 || dc > 247) br.set_error();
      }
      for (int i = 0; i < coef_num && !br.error(); ++i) {
        const std::int32_t delta = br.read_se();
        if (delta < -128 || delta > 127) br.set_error();
      }
    }
  }
}

// st_ref_pic_set(idx) as it appears in an SPS; num_delta_pocs[idx] is derived.
void skip_short_term_ref_pic_set(
    BitReader& br, int idx, std::array<std::uint32_t, kMaxShortTermRefPicSets>& num_delta_pocs) {
  const bool inter_rps_pred = idx != 0 && br.read_bit();
  if (inter_rps_pred) {
    // In an SPS the reference set is always the previous one (delta_idx_minus1
    // is only sent in slice headers).
    br.skip_bits(1);                           // delta_rps_sign
    if (br.read_ue() > 32767) br.set_error();  // abs_delta_rps_minus1
    const std::uint32_t ref_count = num_delta_pocs[static_cast<std::size_t>(idx - 1)];
    std::uint32_t count = 0;
    for (std::uint32_t j = 0; j <= ref_count && !br.error(); ++j) {
      const bool used_by_curr_pic = br.read_bit();
      const bool use_delta = used_by_curr_pic || br.read_bit();
      if (use_delta) ++count;
    }
    if (count > kMaxDeltaPocs) br.set_error();
    num_delta_pocs[static_cast<std::size_t>(idx)] = count;
    return;
  }
  const std::uint32_t negative = br.read_ue();
  const std::uint32_t positive = br.read_ue();
  if (negative > 16 || positive > 16) {
    br.set_error();
    return;
  }
  for (std::uint32_t i = 0; i < negative + positive && !br.error(); ++i) {
    if (br.read_ue() > 32767) br.set_error();  // delta_poc_s0/s1_minus1
    br.skip_bits(1);                           // used_by_curr_pic_s0/s1_flag
  }
  num_delta_pocs[static_cast<std::size_t>(idx)] = negative + positive;
}

// vui_parameters() up to and including the timing info.
void parse_vui_timing(BitReader& br, HevcSps& sps) {
  if (br.read_bit()) {  // aspect_ratio_info_present_flag
    if (br.read_bits(8) == 255) br.skip_bits(32);
  }
  if (br.read_bit()) br.skip_bits(1);     // overscan_info_present_flag, overscan_appropriate_flag
  if (br.read_bit()) {                    // video_signal_type_present_flag
    br.skip_bits(4);                      // video_format, video_full_range_flag
    if (br.read_bit()) br.skip_bits(24);  // colour_description_present_flag
  }
  if (br.read_bit()) {  // chroma_loc_info_present_flag
    br.read_ue();
    br.read_ue();
  }
  br.skip_bits(3);      // neutral_chroma_indication, field_seq, frame_field_info_present
  if (br.read_bit()) {  // default_display_window_flag
    for (int i = 0; i < 4; ++i) br.read_ue();
  }
  sps.timing_info_present = br.read_bit();
  if (sps.timing_info_present) {
    sps.num_units_in_tick = br.read_bits(32);
    sps.time_scale = br.read_bits(32);
    if (!br.error() && sps.num_units_in_tick > 0 && sps.time_scale > 0) {
      sps.frame_rate = static_cast<double>(sps.time_scale) / sps.num_units_in_tick;
    }
  }
}

}  // namespace

std::optional<HevcNalHeader> parse_hevc_nal_header(std::span<const std::uint8_t> nal) noexcept {
  if (nal.size() < 2 || (nal[0] & 0x80) != 0) return std::nullopt;
  const int temporal_id_plus1 = nal[1] & 0x07;
  if (temporal_id_plus1 == 0) return std::nullopt;
  HevcNalHeader header;
  header.type = (nal[0] >> 1) & 0x3f;
  header.layer_id = ((nal[0] & 0x01) << 5) | (nal[1] >> 3);
  header.temporal_id = temporal_id_plus1 - 1;
  return header;
}

bool parse_hevc_profile_tier_level(BitReader& br, int max_sub_layers_minus1,
                                   HevcProfileTierLevel& out) {
  if (max_sub_layers_minus1 < 0 || max_sub_layers_minus1 > 6) {
    br.set_error();
    return false;
  }
  out.profile_space = static_cast<int>(br.read_bits(2));
  out.tier = br.read_bit();
  out.profile_idc = static_cast<int>(br.read_bits(5));
  out.compatibility_flags = br.read_bits(32);
  const std::uint64_t high = br.read_bits(16);
  out.constraint_flags = (high << 32) | br.read_bits(32);
  out.level_idc = static_cast<int>(br.read_bits(8));
  std::array<bool, 8> sub_profile{};
  std::array<bool, 8> sub_level{};
  for (int i = 0; i < max_sub_layers_minus1; ++i) {
    sub_profile[static_cast<std::size_t>(i)] = br.read_bit();
    sub_level[static_cast<std::size_t>(i)] = br.read_bit();
  }
  if (max_sub_layers_minus1 > 0) {
    br.skip_bits(static_cast<std::size_t>(2 * (8 - max_sub_layers_minus1)));  // reserved_zero_2bits
  }
  for (int i = 0; i < max_sub_layers_minus1; ++i) {
    if (sub_profile[static_cast<std::size_t>(i)]) br.skip_bits(88);
    if (sub_level[static_cast<std::size_t>(i)]) br.skip_bits(8);
  }
  return !br.error();
}

core::Result<HevcVps> parse_hevc_vps(std::span<const std::uint8_t> nal) {
  const auto header = parse_hevc_nal_header(nal);
  if (!header || header->type != hevc::kNalVps) return invalid("not an HEVC VPS NAL unit");
  std::array<std::uint8_t, kMaxParameterSetRbsp> rbsp;
  BitReader br({rbsp.data(), parameter_set_rbsp(nal, rbsp)});
  HevcVps vps;
  vps.vps_id = static_cast<int>(br.read_bits(4));
  br.skip_bits(2 + 6);  // base layer internal/available flags, vps_max_layers_minus1
  const int max_sub_layers_minus1 = static_cast<int>(br.read_bits(3));
  vps.temporal_id_nesting = br.read_bit();
  br.skip_bits(16);  // vps_reserved_0xffff_16bits
  if (br.error()) return invalid("HEVC VPS truncated");
  if (max_sub_layers_minus1 > 6) return invalid("HEVC vps_max_sub_layers out of range");
  vps.max_sub_layers = max_sub_layers_minus1 + 1;
  if (!parse_hevc_profile_tier_level(br, max_sub_layers_minus1, vps.ptl)) {
    return invalid("HEVC VPS profile_tier_level truncated");
  }
  return vps;
}

core::Result<HevcSps> parse_hevc_sps(std::span<const std::uint8_t> nal) {
  const auto header = parse_hevc_nal_header(nal);
  if (!header || header->type != hevc::kNalSps) return invalid("not an HEVC SPS NAL unit");
  std::array<std::uint8_t, kMaxParameterSetRbsp> rbsp;
  BitReader br({rbsp.data(), parameter_set_rbsp(nal, rbsp)});
  HevcSps sps;
  sps.vps_id = static_cast<int>(br.read_bits(4));
  const int max_sub_layers_minus1 = static_cast<int>(br.read_bits(3));
  sps.temporal_id_nesting = br.read_bit();
  if (br.error()) return invalid("HEVC SPS truncated");
  if (max_sub_layers_minus1 > 6) return invalid("HEVC sps_max_sub_layers out of range");
  sps.max_sub_layers = max_sub_layers_minus1 + 1;
  if (!parse_hevc_profile_tier_level(br, max_sub_layers_minus1, sps.ptl)) {
    return invalid("HEVC SPS profile_tier_level truncated");
  }
  const std::uint32_t sps_id = br.read_ue();
  if (sps_id > 15) return invalid("HEVC SPS id out of range");
  sps.sps_id = static_cast<int>(sps_id);
  const std::uint32_t chroma = br.read_ue();
  if (chroma > 3) return invalid("HEVC chroma_format_idc out of range");
  sps.chroma_format_idc = static_cast<int>(chroma);
  if (chroma == 3) sps.separate_colour_plane = br.read_bit();
  const std::uint32_t width = br.read_ue();
  const std::uint32_t height = br.read_ue();
  if (br.error()) return invalid("HEVC SPS truncated");
  if (width == 0 || height == 0 || width > kMaxPictureSize || height > kMaxPictureSize) {
    return invalid("HEVC picture size out of range");
  }
  sps.coded_width = static_cast<int>(width);
  sps.coded_height = static_cast<int>(height);
  std::int64_t crop_x = 0;
  std::int64_t crop_y = 0;
  if (br.read_bit()) {  // conformance_window_flag
    const std::int64_t left = br.read_ue();
    const std::int64_t right = br.read_ue();
    const std::int64_t top = br.read_ue();
    const std::int64_t bottom = br.read_ue();
    const int chroma_array_type = sps.separate_colour_plane ? 0 : sps.chroma_format_idc;
    const int sub_width = chroma_array_type == 1 || chroma_array_type == 2 ? 2 : 1;
    const int sub_height = chroma_array_type == 1 ? 2 : 1;
    crop_x = sub_width * (left + right);
    crop_y = sub_height * (top + bottom);
  }
  if (br.error()) return invalid("HEVC SPS truncated");
  if (crop_x >= width || crop_y >= height) {
    return invalid("HEVC conformance window larger than the picture");
  }
  sps.width = static_cast<int>(width - crop_x);
  sps.height = static_cast<int>(height - crop_y);

  const std::uint32_t luma_minus8 = br.read_ue();
  const std::uint32_t chroma_minus8 = br.read_ue();
  if (luma_minus8 > 8 || chroma_minus8 > 8) return invalid("HEVC bit depth out of range");
  sps.bit_depth_luma = static_cast<int>(luma_minus8) + 8;
  sps.bit_depth_chroma = static_cast<int>(chroma_minus8) + 8;
  const std::uint32_t poc_lsb_minus4 = br.read_ue();
  if (poc_lsb_minus4 > 12) return invalid("HEVC log2_max_pic_order_cnt_lsb out of range");
  sps.log2_max_pic_order_cnt_lsb = static_cast<int>(poc_lsb_minus4) + 4;

  const bool ordering_info_for_all = br.read_bit();
  for (int i = ordering_info_for_all ? 0 : max_sub_layers_minus1; i <= max_sub_layers_minus1; ++i) {
    br.read_ue();  // sps_max_dec_pic_buffering_minus1
    br.read_ue();  // sps_max_num_reorder_pics
    br.read_ue();  // sps_max_latency_increase_plus1
  }
  for (int i = 0; i < 6; ++i) br.read_ue();  // coding and transform block sizes, depths
  if (br.error()) return invalid("HEVC SPS truncated");

  if (br.read_bit() && br.read_bit()) {  // scaling_list_enabled, sps_scaling_list_data_present
    skip_scaling_list_data(br);
    if (br.error()) return invalid("HEVC SPS scaling list invalid or truncated");
  }
  br.skip_bits(2);      // amp_enabled_flag, sample_adaptive_offset_enabled_flag
  if (br.read_bit()) {  // pcm_enabled_flag
    br.skip_bits(8);    // pcm sample bit depths
    br.read_ue();       // log2_min_pcm_luma_coding_block_size_minus3
    br.read_ue();       // log2_diff_max_min_pcm_luma_coding_block_size
    br.skip_bits(1);    // pcm_loop_filter_disabled_flag
  }
  const std::uint32_t short_term_sets = br.read_ue();
  if (br.error()) return invalid("HEVC SPS truncated");
  if (short_term_sets > static_cast<std::uint32_t>(kMaxShortTermRefPicSets)) {
    return invalid("HEVC num_short_term_ref_pic_sets out of range");
  }
  std::array<std::uint32_t, kMaxShortTermRefPicSets> num_delta_pocs{};
  for (int i = 0; i < static_cast<int>(short_term_sets) && !br.error(); ++i) {
    skip_short_term_ref_pic_set(br, i, num_delta_pocs);
  }
  if (br.error()) return invalid("HEVC short-term reference picture sets invalid or truncated");
  if (br.read_bit()) {  // long_term_ref_pics_present_flag
    const std::uint32_t long_term = br.read_ue();
    if (long_term > 32) return invalid("HEVC num_long_term_ref_pics_sps out of range");
    br.skip_bits(long_term * static_cast<std::size_t>(sps.log2_max_pic_order_cnt_lsb + 1));
  }
  br.skip_bits(2);  // sps_temporal_mvp_enabled_flag, strong_intra_smoothing_enabled_flag
  if (br.read_bit()) parse_vui_timing(br, sps);  // vui_parameters_present_flag
  // Range and other extensions follow; nothing there is needed.
  if (br.error()) return invalid("HEVC SPS truncated");
  return sps;
}

core::Result<HevcPps> parse_hevc_pps(std::span<const std::uint8_t> nal) {
  const auto header = parse_hevc_nal_header(nal);
  if (!header || header->type != hevc::kNalPps) return invalid("not an HEVC PPS NAL unit");
  std::array<std::uint8_t, 16> rbsp;
  BitReader br({rbsp.data(), unescape_rbsp(nal.subspan(2), rbsp)});
  const std::uint32_t pps_id = br.read_ue();
  const std::uint32_t sps_id = br.read_ue();
  if (br.error()) return invalid("HEVC PPS truncated");
  if (pps_id > 63 || sps_id > 15) return invalid("HEVC PPS ids out of range");
  return HevcPps{static_cast<int>(pps_id), static_cast<int>(sps_id)};
}

std::optional<HevcSliceStart> parse_hevc_slice_start(std::span<const std::uint8_t> nal) noexcept {
  const auto header = parse_hevc_nal_header(nal);
  if (!header || !is_hevc_vcl(header->type)) return std::nullopt;
  std::array<std::uint8_t, 16> rbsp;
  BitReader br({rbsp.data(), unescape_rbsp(nal.subspan(2), rbsp)});
  HevcSliceStart start;
  start.first_slice_segment_in_pic = br.read_bit();
  if (is_hevc_irap(header->type)) br.skip_bits(1);  // no_output_of_prior_pics_flag
  const std::uint32_t pps_id = br.read_ue();
  if (br.error() || pps_id > 63) return std::nullopt;
  start.pps_id = static_cast<int>(pps_id);
  return start;
}

std::optional<bool> first_slice_segment_in_pic_flag(std::span<const std::uint8_t> nal) noexcept {
  const auto header = parse_hevc_nal_header(nal);
  if (!header || !is_hevc_vcl(header->type) || nal.size() < 3) return std::nullopt;
  // The flag is the first payload bit; the two header bytes cannot form an
  // emulation prevention sequence, so no unescaping is needed.
  return (nal[2] & 0x80) != 0;
}

std::string hvc1_codec_string(const HevcProfileTierLevel& ptl) {
  std::string text = "hvc1.";
  if (ptl.profile_space > 0) text += static_cast<char>('A' + ptl.profile_space - 1);
  text += std::to_string(ptl.profile_idc);
  std::uint32_t reversed = 0;
  for (int i = 0; i < 32; ++i) {
    if (ptl.compatibility_flags & (1u << i)) reversed |= 1u << (31 - i);
  }
  char buf[16];
  std::snprintf(buf, sizeof buf, ".%X.", reversed);
  text += buf;
  text += ptl.tier ? 'H' : 'L';
  text += std::to_string(ptl.level_idc);
  int last = -1;  // the last non-zero constraint byte
  for (int i = 0; i < 6; ++i) {
    if ((ptl.constraint_flags >> (40 - 8 * i)) & 0xff) last = i;
  }
  for (int i = 0; i <= last; ++i) {
    std::snprintf(buf, sizeof buf, ".%X",
                  static_cast<unsigned>((ptl.constraint_flags >> (40 - 8 * i)) & 0xff));
    text += buf;
  }
  return text;
}

core::Result<Bytes> build_hvcc(std::span<const Bytes> vps_list, std::span<const Bytes> sps_list,
                               std::span<const Bytes> pps_list) {
  if (sps_list.empty()) return invalid("hvcC needs at least one SPS");
  for (const auto list : {vps_list, sps_list, pps_list}) {
    if (list.size() > 0xffff) return invalid("too many parameter sets for hvcC");
    for (const auto& ps : list) {
      if (ps.size() < 2 || ps.size() > 0xffff)
        return invalid("parameter set size out of range for hvcC");
    }
  }
  auto sps = parse_hevc_sps(sps_list.front());
  if (!sps) return sps.error();
  const HevcProfileTierLevel& ptl = sps->ptl;

  Bytes out;
  out.push_back(1);  // configurationVersion
  out.push_back(static_cast<std::uint8_t>((ptl.profile_space << 6) | (ptl.tier ? 0x20 : 0) |
                                          (ptl.profile_idc & 0x1f)));
  for (int shift = 24; shift >= 0; shift -= 8) {
    out.push_back(static_cast<std::uint8_t>(ptl.compatibility_flags >> shift));
  }
  for (int shift = 40; shift >= 0; shift -= 8) {
    out.push_back(static_cast<std::uint8_t>(ptl.constraint_flags >> shift));
  }
  out.push_back(static_cast<std::uint8_t>(ptl.level_idc));
  out.push_back(0xf0);  // reserved, min_spatial_segmentation_idc = 0 (unknown)
  out.push_back(0x00);
  out.push_back(0xfc);  // reserved, parallelismType = 0 (unknown)
  out.push_back(static_cast<std::uint8_t>(0xfc | sps->chroma_format_idc));
  out.push_back(static_cast<std::uint8_t>(0xf8 | (sps->bit_depth_luma - 8)));
  out.push_back(static_cast<std::uint8_t>(0xf8 | (sps->bit_depth_chroma - 8)));
  out.push_back(0);  // avgFrameRate = 0 (unspecified)
  out.push_back(0);
  // constantFrameRate = 0, numTemporalLayers, temporalIdNested, lengthSizeMinusOne = 3.
  out.push_back(static_cast<std::uint8_t>((sps->max_sub_layers << 3) |
                                          (sps->temporal_id_nesting ? 0x04 : 0) | 0x03));
  std::uint8_t arrays = 0;
  for (const auto list : {vps_list, sps_list, pps_list}) arrays += list.empty() ? 0 : 1;
  out.push_back(arrays);
  auto put_array = [&out](int type, std::span<const Bytes> list) {
    if (list.empty()) return;
    out.push_back(static_cast<std::uint8_t>(0x80 | type));  // array_completeness = 1
    out.push_back(static_cast<std::uint8_t>(list.size() >> 8));
    out.push_back(static_cast<std::uint8_t>(list.size()));
    for (const auto& ps : list) {
      out.push_back(static_cast<std::uint8_t>(ps.size() >> 8));
      out.push_back(static_cast<std::uint8_t>(ps.size()));
      out.insert(out.end(), ps.begin(), ps.end());
    }
  };
  put_array(hevc::kNalVps, vps_list);
  put_array(hevc::kNalSps, sps_list);
  put_array(hevc::kNalPps, pps_list);
  return out;
}

}  // namespace mirror::media
