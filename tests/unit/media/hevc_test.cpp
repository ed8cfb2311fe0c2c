#include "media/hevc.h"

#include "unit/media/bit_writer.h"

#include <gtest/gtest.h>

#include <array>
#include <vector>

namespace mirror::media {
namespace {

using testing::BitWriter;

// From an x265 1920x1080 50 fps Main profile stream.
const Bytes kX265Vps = {0x40, 0x01, 0x0c, 0x01, 0xff, 0xff, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00,
                        0x90, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x00, 0x7b, 0x95, 0x94, 0x09};
const Bytes kX265Sps = {0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00,
                        0x00, 0x03, 0x00, 0x00, 0x03, 0x00, 0x7b, 0xa0, 0x03, 0xc0, 0x80,
                        0x11, 0x07, 0xcb, 0x96, 0x56, 0x54, 0xa4, 0xc2, 0xf0, 0x16, 0x80,
                        0x80, 0x00, 0x00, 0x03, 0x00, 0x80, 0x00, 0x00, 0x19, 0x04};
const Bytes kX265Pps = {0x44, 0x01, 0xc0, 0x73, 0xc1, 0x89};
const Bytes kX265IdrStart = {0x28, 0x01, 0xac, 0x11, 0x41, 0x10};
const Bytes kX265TrailStart = {0x02, 0x01, 0xd0, 0x21, 0x49, 0x88};

struct StRps {
  bool inter = false;
  std::vector<bool> used;  // inter: used_by_curr_pic_flag per entry (use_delta_flag 1 when 0)
  int negative = 0;
  int positive = 0;
};

struct SpsFields {
  std::uint64_t max_sub_layers_minus1 = 0;
  bool sub_layer_info = true;
  int profile_space = 0;
  bool tier = false;
  int profile_idc = 1;
  std::uint32_t compat = 0x60000000;
  std::uint64_t constraints = 0xb00000000000;
  int level = 120;
  std::uint64_t sps_id = 0;
  std::uint64_t chroma = 1;
  std::uint64_t width = 1920;
  std::uint64_t height = 1088;
  bool conformance_window = true;
  std::array<std::uint64_t, 4> window = {0, 0, 0, 4};
  std::uint64_t bit_depth_luma_minus8 = 0;
  std::uint64_t bit_depth_chroma_minus8 = 0;
  std::uint64_t poc_lsb_minus4 = 4;
  bool scaling_list = false;
  bool pcm = false;
  std::vector<StRps> st_rps = {{false, {}, 2, 1}, {true, {true, false, true, true}, 0, 0}};
  std::uint64_t num_st_rps_override = 1000;  // write this count instead when < 1000
  bool long_term = false;
  std::uint64_t long_term_count = 2;
  bool vui = true;
  bool default_display_window = false;
  bool timing = true;
  std::uint32_t num_units_in_tick = 1;
  std::uint32_t time_scale = 50;
};

void write_ptl(BitWriter& w, const SpsFields& f) {
  w.bits(static_cast<std::uint64_t>(f.profile_space), 2).bit(f.tier);
  w.bits(static_cast<std::uint64_t>(f.profile_idc), 5).bits(f.compat, 32);
  w.bits(f.constraints, 48).bits(static_cast<std::uint64_t>(f.level), 8);
  const auto n = f.max_sub_layers_minus1 > 7 ? 7 : f.max_sub_layers_minus1;
  for (std::uint64_t i = 0; i < n; ++i) w.bit(f.sub_layer_info).bit(f.sub_layer_info);
  if (n > 0) {
    for (auto i = n; i < 8; ++i) w.bits(0, 2);
  }
  for (std::uint64_t i = 0; i < n; ++i) {
    if (f.sub_layer_info) w.bits(0x123456789abcdefULL, 44).bits(0xfedcba987654321ULL, 44);
    if (f.sub_layer_info) w.bits(90, 8);
  }
}

Bytes make_sps(const SpsFields& f) {
  BitWriter w;
  w.bits(0, 4).bits(f.max_sub_layers_minus1, 3).bit(true);
  write_ptl(w, f);
  w.ue(f.sps_id).ue(f.chroma);
  if (f.chroma == 3) w.bit(false);
  w.ue(f.width).ue(f.height).bit(f.conformance_window);
  if (f.conformance_window) {
    for (auto o : f.window) w.ue(o);
  }
  w.ue(f.bit_depth_luma_minus8).ue(f.bit_depth_chroma_minus8).ue(f.poc_lsb_minus4);
  w.bit(true);  // sub_layer_ordering_info_present_flag
  for (std::uint64_t i = 0; i <= f.max_sub_layers_minus1 && i < 8; ++i) w.ue(4).ue(2).ue(0);
  w.ue(0).ue(3).ue(0).ue(3).ue(1).ue(1);  // block sizes and depths
  w.bit(f.scaling_list);
  if (f.scaling_list) {
    w.bit(true);  // sps_scaling_list_data_present_flag
    for (int size_id = 0; size_id < 4; ++size_id) {
      for (int matrix_id = 0; matrix_id < 6; matrix_id += size_id == 3 ? 3 : 1) {
        if (matrix_id % 2 == 1) {
          w.bit(false).ue(0);  // copy the default
          continue;
        }
        w.bit(true);
        if (size_id > 1) w.se(8);
        for (int i = 0; i < (size_id == 0 ? 16 : 64); ++i) w.se(i % 3 - 1);
      }
    }
  }
  w.bit(true).bit(true).bit(f.pcm);  // amp, sao, pcm
  if (f.pcm) w.bits(7, 4).bits(7, 4).ue(0).ue(1).bit(false);
  w.ue(f.num_st_rps_override < 1000 ? f.num_st_rps_override : f.st_rps.size());
  for (std::size_t i = 0; i < f.st_rps.size(); ++i) {
    const StRps& s = f.st_rps[i];
    if (i != 0) w.bit(s.inter);
    if (s.inter) {
      w.bit(false).ue(0);
      for (bool used : s.used) {
        w.bit(used);
        if (!used) w.bit(true);
      }
    } else {
      w.ue(static_cast<std::uint64_t>(s.negative)).ue(static_cast<std::uint64_t>(s.positive));
      for (int k = 0; k < s.negative + s.positive; ++k) w.ue(0).bit(true);
    }
  }
  w.bit(f.long_term);
  if (f.long_term) {
    w.ue(f.long_term_count);
    for (std::uint64_t i = 0; i < f.long_term_count && i < 40; ++i)
      w.bits(5, static_cast<int>(f.poc_lsb_minus4 + 4)).bit(true);
  }
  w.bit(true).bit(true).bit(f.vui);  // temporal mvp, strong intra smoothing
  if (f.vui) {
    w.bit(true).bits(1, 8);  // aspect_ratio_idc 1
    w.bit(false);            // overscan
    w.bit(true).bits(5, 3).bit(false).bit(true).bits(0x010101, 24);
    w.bit(true).ue(0).ue(0);  // chroma loc
    w.bit(false).bit(false).bit(false);
    w.bit(f.default_display_window);
    if (f.default_display_window) w.ue(1).ue(2).ue(3).ue(4);
    w.bit(f.timing);
    if (f.timing) w.bits(f.num_units_in_tick, 32).bits(f.time_scale, 32).bit(false).bit(false);
    w.bit(false);  // bitstream_restriction_flag
  }
  w.bit(false).trailing();  // sps_extension_present_flag
  return testing::make_nal({0x42, 0x01}, w.bytes());
}

TEST(HevcNalHeaderTest, ParsesTypeLayerAndTemporalId) {
  const auto vps = parse_hevc_nal_header(kX265Vps);
  ASSERT_TRUE(vps);
  EXPECT_EQ(vps->type, 32);
  EXPECT_EQ(vps->layer_id, 0);
  EXPECT_EQ(vps->temporal_id, 0);
  const auto h = parse_hevc_nal_header(Bytes{0x03, 0x0b});  // type 1, layer 33, tid 2
  ASSERT_TRUE(h);
  EXPECT_EQ(h->type, 1);
  EXPECT_EQ(h->layer_id, 33);
  EXPECT_EQ(h->temporal_id, 2);
  EXPECT_EQ(parse_hevc_nal_header(kX265IdrStart)->type, hevc::kNalIdrNLp);
}

TEST(HevcNalHeaderTest, RejectsShortForbiddenAndZeroTemporalId) {
  EXPECT_FALSE(parse_hevc_nal_header(Bytes{0x40}));
  EXPECT_FALSE(parse_hevc_nal_header(Bytes{0xc0, 0x01}));
  EXPECT_FALSE(parse_hevc_nal_header(Bytes{0x40, 0x00}));
}

TEST(HevcNalHeaderTest, DetectsIrapTypes) {
  for (int t = 0; t < 64; ++t) EXPECT_EQ(is_hevc_irap(t), t >= 16 && t <= 23) << t;
  EXPECT_TRUE(is_hevc_vcl(0));
  EXPECT_TRUE(is_hevc_vcl(31));
  EXPECT_FALSE(is_hevc_vcl(32));
}

TEST(HevcVpsTest, ParsesRealX265Vps) {
  auto vps = parse_hevc_vps(kX265Vps);
  ASSERT_TRUE(vps) << vps.error().message;
  EXPECT_EQ(vps->vps_id, 0);
  EXPECT_EQ(vps->max_sub_layers, 1);
  EXPECT_TRUE(vps->temporal_id_nesting);
  EXPECT_EQ(vps->ptl.profile_idc, 1);
  EXPECT_EQ(vps->ptl.level_idc, 123);
}

TEST(HevcVpsTest, RejectsTruncationAndBadSubLayerCount) {
  for (std::size_t n = 0; n < 20; ++n) {
    EXPECT_FALSE(parse_hevc_vps(std::span(kX265Vps).first(n))) << n;
  }
  Bytes bad = kX265Vps;
  bad[3] = 0x0f;  // vps_max_sub_layers_minus1 = 7
  EXPECT_FALSE(parse_hevc_vps(bad));
  EXPECT_FALSE(parse_hevc_vps(kX265Sps));
}

TEST(HevcSpsTest, ParsesRealX265Sps) {
  auto sps = parse_hevc_sps(kX265Sps);
  ASSERT_TRUE(sps) << sps.error().message;
  EXPECT_EQ(sps->sps_id, 0);
  EXPECT_EQ(sps->vps_id, 0);
  EXPECT_EQ(sps->ptl.profile_space, 0);
  EXPECT_FALSE(sps->ptl.tier);
  EXPECT_EQ(sps->ptl.profile_idc, 1);
  EXPECT_EQ(sps->ptl.compatibility_flags, 0x60000000u);
  EXPECT_EQ(sps->ptl.constraint_flags, 0x900000000000u);
  EXPECT_EQ(sps->ptl.level_idc, 123);
  EXPECT_EQ(sps->chroma_format_idc, 1);
  EXPECT_EQ(sps->coded_width, 1920);
  EXPECT_EQ(sps->coded_height, 1088);
  EXPECT_EQ(sps->width, 1920);
  EXPECT_EQ(sps->height, 1080);
  EXPECT_EQ(sps->bit_depth_luma, 8);
  EXPECT_EQ(sps->bit_depth_chroma, 8);
  EXPECT_TRUE(sps->timing_info_present);
  EXPECT_DOUBLE_EQ(sps->frame_rate, 50.0);
  EXPECT_EQ(hvc1_codec_string(*sps), "hvc1.1.6.L123.90");
}

TEST(HevcSpsTest, ParsesBuiltSpsWithReferencePictureSets) {
  auto sps = parse_hevc_sps(make_sps({}));
  ASSERT_TRUE(sps) << sps.error().message;
  EXPECT_EQ(sps->width, 1920);
  EXPECT_EQ(sps->height, 1080);
  EXPECT_EQ(sps->log2_max_pic_order_cnt_lsb, 8);
  EXPECT_DOUBLE_EQ(sps->frame_rate, 50.0);
  EXPECT_EQ(hvc1_codec_string(*sps), "hvc1.1.6.L120.B0");
}

TEST(HevcSpsTest, SkipsSubLayerProfileTierLevel) {
  SpsFields f;
  f.max_sub_layers_minus1 = 3;
  auto sps = parse_hevc_sps(make_sps(f));
  ASSERT_TRUE(sps) << sps.error().message;
  EXPECT_EQ(sps->max_sub_layers, 4);
  EXPECT_EQ(sps->height, 1080);
  EXPECT_DOUBLE_EQ(sps->frame_rate, 50.0);
  f.sub_layer_info = false;
  auto bare = parse_hevc_sps(make_sps(f));
  ASSERT_TRUE(bare) << bare.error().message;
  EXPECT_EQ(bare->width, 1920);
}

TEST(HevcSpsTest, SkipsScalingListsPcmAndLongTermReferences) {
  SpsFields f;
  f.scaling_list = true;
  f.pcm = true;
  f.long_term = true;
  f.default_display_window = true;
  f.num_units_in_tick = 1001;
  f.time_scale = 60000;
  auto sps = parse_hevc_sps(make_sps(f));
  ASSERT_TRUE(sps) << sps.error().message;
  EXPECT_NEAR(sps->frame_rate, 59.94, 0.001);
  EXPECT_EQ(sps->width, 1920) << "the default display window does not crop";
}

TEST(HevcSpsTest, ConformanceWindowFollowsChromaFormat) {
  SpsFields f;
  f.profile_idc = 4;
  f.chroma = 3;
  f.window = {2, 2, 1, 7};
  auto s444 = parse_hevc_sps(make_sps(f));
  ASSERT_TRUE(s444) << s444.error().message;
  EXPECT_EQ(s444->width, 1916);
  EXPECT_EQ(s444->height, 1080);
  f.chroma = 2;
  auto s422 = parse_hevc_sps(make_sps(f));
  ASSERT_TRUE(s422) << s422.error().message;
  EXPECT_EQ(s422->width, 1912);
  EXPECT_EQ(s422->height, 1080);
  f.chroma = 0;
  auto mono = parse_hevc_sps(make_sps(f));
  ASSERT_TRUE(mono) << mono.error().message;
  EXPECT_EQ(mono->width, 1916);
}

TEST(HevcSpsTest, ReadsMain10BitDepthWithoutTiming) {
  SpsFields f;
  f.profile_idc = 2;
  f.compat = 0x20000000;
  f.bit_depth_luma_minus8 = 2;
  f.bit_depth_chroma_minus8 = 2;
  f.timing = false;
  auto sps = parse_hevc_sps(make_sps(f));
  ASSERT_TRUE(sps) << sps.error().message;
  EXPECT_EQ(sps->bit_depth_luma, 10);
  EXPECT_FALSE(sps->timing_info_present);
  EXPECT_EQ(sps->frame_rate, 0);
  EXPECT_EQ(hvc1_codec_string(*sps), "hvc1.2.4.L120.B0");
}

TEST(HevcSpsTest, RejectsValuesOutOfRange) {
  auto rejects = [](SpsFields f, const char* what) {
    EXPECT_FALSE(parse_hevc_sps(make_sps(f))) << what;
  };
  SpsFields f;
  f.max_sub_layers_minus1 = 7;
  rejects(f, "max sub layers");
  f = {};
  f.sps_id = 16;
  rejects(f, "sps id");
  f = {};
  f.chroma = 4;
  rejects(f, "chroma");
  f = {};
  f.width = 0;
  rejects(f, "zero width");
  f = {};
  f.height = 40000;
  rejects(f, "height");
  f = {};
  f.window = {960, 0, 0, 0};
  rejects(f, "window as wide as the picture");
  f = {};
  f.bit_depth_luma_minus8 = 9;
  rejects(f, "bit depth");
  f = {};
  f.poc_lsb_minus4 = 13;
  rejects(f, "poc lsb");
  f = {};
  f.num_st_rps_override = 65;
  rejects(f, "short-term sets");
  f = {};
  f.st_rps = {{false, {}, 17, 0}};
  rejects(f, "negative pics");
  f = {};
  f.long_term = true;
  f.long_term_count = 33;
  rejects(f, "long-term count");
}

TEST(HevcSpsTest, RejectsEveryTruncationAndGarbage) {
  const Bytes full = make_sps({});
  ASSERT_TRUE(parse_hevc_sps(full));
  for (std::size_t n = 0; n + 2 < full.size(); ++n) {
    EXPECT_FALSE(parse_hevc_sps(std::span(full).first(n))) << "length " << n;
  }
  for (std::size_t n = 0; n + 3 < kX265Sps.size(); ++n) {
    EXPECT_FALSE(parse_hevc_sps(std::span(kX265Sps).first(n))) << "x265 length " << n;
  }
  Bytes zeros = {0x42, 0x01};
  zeros.resize(64, 0);
  EXPECT_FALSE(parse_hevc_sps(zeros));
  Bytes ones = {0x42, 0x01};
  ones.resize(64, 0xff);
  EXPECT_FALSE(parse_hevc_sps(ones));
  EXPECT_FALSE(parse_hevc_sps(kX265Pps));
}

TEST(HevcPpsTest, ParsesIdsAndRejectsBadOnes) {
  auto pps = parse_hevc_pps(kX265Pps);
  ASSERT_TRUE(pps) << pps.error().message;
  EXPECT_EQ(pps->pps_id, 0);
  EXPECT_EQ(pps->sps_id, 0);
  BitWriter ok;
  ok.ue(63).ue(15).trailing();
  auto max = parse_hevc_pps(testing::make_nal({0x44, 0x01}, ok.bytes()));
  ASSERT_TRUE(max);
  EXPECT_EQ(max->pps_id, 63);
  EXPECT_EQ(max->sps_id, 15);
  BitWriter bad_pps;
  bad_pps.ue(64).ue(0).trailing();
  EXPECT_FALSE(parse_hevc_pps(testing::make_nal({0x44, 0x01}, bad_pps.bytes())));
  BitWriter bad_sps;
  bad_sps.ue(0).ue(16).trailing();
  EXPECT_FALSE(parse_hevc_pps(testing::make_nal({0x44, 0x01}, bad_sps.bytes())));
  EXPECT_FALSE(parse_hevc_pps(Bytes{0x44, 0x01}));
  EXPECT_FALSE(parse_hevc_pps(Bytes{0x44, 0x01, 0x00}));
  EXPECT_FALSE(parse_hevc_pps(kX265Vps));
}

TEST(HevcSliceTest, ReadsFirstSliceFlagAndPpsId) {
  EXPECT_EQ(first_slice_segment_in_pic_flag(kX265IdrStart), true);
  EXPECT_EQ(first_slice_segment_in_pic_flag(kX265TrailStart), true);
  auto idr = parse_hevc_slice_start(kX265IdrStart);
  ASSERT_TRUE(idr);
  EXPECT_TRUE(idr->first_slice_segment_in_pic);
  EXPECT_EQ(idr->pps_id, 0);

  BitWriter w;
  w.bit(false).ue(5).bits(0xabc, 12).trailing();  // TRAIL_R, not first, pps 5
  const Bytes second = testing::make_nal({0x02, 0x01}, w.bytes());
  EXPECT_EQ(first_slice_segment_in_pic_flag(second), false);
  auto s = parse_hevc_slice_start(second);
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->first_slice_segment_in_pic);
  EXPECT_EQ(s->pps_id, 5);

  BitWriter irap;  // CRA: no_output_of_prior_pics_flag before the PPS id
  irap.bit(true).bit(true).ue(3).trailing();
  auto cra = parse_hevc_slice_start(testing::make_nal({0x2a, 0x01}, irap.bytes()));
  ASSERT_TRUE(cra);
  EXPECT_EQ(cra->pps_id, 3);
}

TEST(HevcSliceTest, RejectsNonVclAndTruncatedSlices) {
  EXPECT_FALSE(first_slice_segment_in_pic_flag(kX265Sps));
  EXPECT_FALSE(first_slice_segment_in_pic_flag(Bytes{0x02, 0x01}));
  EXPECT_FALSE(parse_hevc_slice_start(Bytes{0x02, 0x01}));
  EXPECT_FALSE(parse_hevc_slice_start(Bytes{0x02, 0x01, 0x00, 0x00, 0x00}));
  BitWriter w;
  w.bit(true).ue(64).trailing();
  EXPECT_FALSE(parse_hevc_slice_start(testing::make_nal({0x02, 0x01}, w.bytes())));
}

TEST(HevcCodecStringTest, FollowsIso14496Dash15AnnexE) {
  HevcProfileTierLevel ptl;
  ptl.profile_idc = 1;
  ptl.compatibility_flags = 0x60000000;
  ptl.constraint_flags = 0xb00000000000;
  ptl.level_idc = 93;
  EXPECT_EQ(hvc1_codec_string(ptl), "hvc1.1.6.L93.B0");
  ptl.constraint_flags = 0;
  EXPECT_EQ(hvc1_codec_string(ptl), "hvc1.1.6.L93");
  ptl.constraint_flags = 0xb00000000001;
  EXPECT_EQ(hvc1_codec_string(ptl), "hvc1.1.6.L93.B0.0.0.0.0.1");
  ptl.profile_space = 1;
  ptl.tier = true;
  ptl.profile_idc = 2;
  ptl.compatibility_flags = 0x20000000;
  ptl.constraint_flags = 0xb00000000000;
  ptl.level_idc = 150;
  EXPECT_EQ(hvc1_codec_string(ptl), "hvc1.A2.4.H150.B0");
  ptl.profile_space = 3;
  ptl.compatibility_flags = 0x00000001;
  EXPECT_EQ(hvc1_codec_string(ptl), "hvc1.C2.80000000.H150.B0");
}

TEST(HevcHvccTest, BuildsRecordWithThreeArrays) {
  const std::vector<Bytes> vps = {kX265Vps};
  const std::vector<Bytes> sps = {kX265Sps};
  const std::vector<Bytes> pps = {kX265Pps};
  auto hvcc = build_hvcc(vps, sps, pps);
  ASSERT_TRUE(hvcc) << hvcc.error().message;
  Bytes expected = {0x01, 0x01, 0x60, 0x00, 0x00, 0x00, 0x90, 0x00, 0x00, 0x00, 0x00, 0x00,
                    0x7b, 0xf0, 0x00, 0xfc, 0xfd, 0xf8, 0xf8, 0x00, 0x00, 0x0f, 0x03};
  expected.insert(expected.end(), {0xa0, 0x00, 0x01, 0x00, 0x18});
  expected.insert(expected.end(), kX265Vps.begin(), kX265Vps.end());
  expected.insert(expected.end(), {0xa1, 0x00, 0x01, 0x00, 0x2b});
  expected.insert(expected.end(), kX265Sps.begin(), kX265Sps.end());
  expected.insert(expected.end(), {0xa2, 0x00, 0x01, 0x00, 0x06});
  expected.insert(expected.end(), kX265Pps.begin(), kX265Pps.end());
  EXPECT_EQ(*hvcc, expected);
}

TEST(HevcHvccTest, CarriesBitDepthChromaAndTemporalLayers) {
  SpsFields f;
  f.profile_idc = 4;
  f.chroma = 2;
  f.bit_depth_luma_minus8 = 2;
  f.bit_depth_chroma_minus8 = 2;
  f.max_sub_layers_minus1 = 2;
  f.tier = true;
  const std::vector<Bytes> sps = {make_sps(f)};
  const std::vector<Bytes> none;
  auto hvcc = build_hvcc(none, sps, none);
  ASSERT_TRUE(hvcc) << hvcc.error().message;
  EXPECT_EQ((*hvcc)[1], 0x24);  // tier 1, profile 4
  EXPECT_EQ((*hvcc)[16], 0xfe);
  EXPECT_EQ((*hvcc)[17], 0xfa);
  EXPECT_EQ((*hvcc)[18], 0xfa);
  EXPECT_EQ((*hvcc)[21], (3 << 3) | 0x04 | 0x03);
  EXPECT_EQ((*hvcc)[22], 1) << "only the SPS array";
}

TEST(HevcHvccTest, RejectsMissingOrBrokenParameterSets) {
  const std::vector<Bytes> vps = {kX265Vps};
  const std::vector<Bytes> pps = {kX265Pps};
  const std::vector<Bytes> none;
  EXPECT_FALSE(build_hvcc(vps, none, pps));
  const std::vector<Bytes> broken = {Bytes{0x42, 0x01, 0x01}};
  EXPECT_FALSE(build_hvcc(vps, broken, pps));
  const std::vector<Bytes> sps = {kX265Sps};
  const std::vector<Bytes> tiny = {Bytes{0x44}};
  EXPECT_FALSE(build_hvcc(vps, sps, tiny));
  const std::vector<Bytes> huge = {Bytes(70000, 0x44)};
  EXPECT_FALSE(build_hvcc(vps, sps, huge));
}

}  // namespace
}  // namespace mirror::media
