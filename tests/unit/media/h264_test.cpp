#include "media/h264.h"

#include "unit/media/bit_writer.h"

#include <gtest/gtest.h>

#include <array>
#include <vector>

namespace mirror::media {
namespace {

using testing::BitWriter;

// From an x264 1280x720 30 fps High profile stream (VUI timing 1/60, with
// emulation prevention bytes in it).
const Bytes kX264Sps = {0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0x50, 0x05,
                        0xbb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00,
                        0x00, 0x03, 0x03, 0xc0, 0xf1, 0x83, 0x19, 0x60};
const Bytes kX264Pps = {0x68, 0xef, 0x82, 0x5c, 0xb0};
const Bytes kX264IdrStart = {0x65, 0x88, 0x84, 0x00, 0x47, 0xd4, 0x27, 0xd0};
const Bytes kX264PSliceStart = {0x41, 0x9a, 0x21, 0x18, 0x88, 0xff, 0xe1, 0x6d};

struct SpsFields {
  int profile = 100;
  int constraints = 0;
  int level = 40;
  std::uint64_t id = 0;
  std::uint64_t chroma = 1;
  bool separate_planes = false;
  std::uint64_t bit_depth_luma_minus8 = 0;
  std::uint64_t bit_depth_chroma_minus8 = 0;
  bool scaling_matrix = false;
  std::int64_t scaling_delta = 0;
  std::uint64_t log2_max_frame_num_minus4 = 0;
  std::uint64_t poc_type = 0;
  std::uint64_t poc_cycle = 2;
  std::uint64_t max_refs = 4;
  std::uint64_t width_mbs_minus1 = 119;
  std::uint64_t height_map_units_minus1 = 67;
  bool frame_mbs_only = true;
  bool crop = true;
  std::array<std::uint64_t, 4> crop_offsets = {0, 0, 0, 4};  // left, right, top, bottom
  bool vui = true;
  bool extended_sar = false;
  bool video_signal = false;
  bool timing = true;
  std::uint32_t num_units_in_tick = 1001;
  std::uint32_t time_scale = 60000;
};

Bytes make_sps(const SpsFields& f) {
  BitWriter w;
  w.bits(static_cast<std::uint64_t>(f.profile), 8)
      .bits(static_cast<std::uint64_t>(f.constraints), 8);
  w.bits(static_cast<std::uint64_t>(f.level), 8).ue(f.id);
  if (f.profile == 100 || f.profile == 110 || f.profile == 122 || f.profile == 244) {
    w.ue(f.chroma);
    if (f.chroma == 3) w.bit(f.separate_planes);
    w.ue(f.bit_depth_luma_minus8).ue(f.bit_depth_chroma_minus8).bit(false).bit(f.scaling_matrix);
    if (f.scaling_matrix) {
      for (int i = 0; i < (f.chroma != 3 ? 8 : 12); ++i) {
        w.bit(true);
        for (int j = 0; j < (i < 6 ? 16 : 64); ++j) w.se(j == 0 ? f.scaling_delta : 0);
      }
    }
  }
  w.ue(f.log2_max_frame_num_minus4).ue(f.poc_type);
  if (f.poc_type == 0) {
    w.ue(2);
  } else if (f.poc_type == 1) {
    w.bit(false).se(-1).se(2).ue(f.poc_cycle);
    for (std::uint64_t i = 0; i < f.poc_cycle && i < 300; ++i) w.se(static_cast<std::int64_t>(i));
  }
  w.ue(f.max_refs).bit(false).ue(f.width_mbs_minus1).ue(f.height_map_units_minus1);
  w.bit(f.frame_mbs_only);
  if (!f.frame_mbs_only) w.bit(true);
  w.bit(true).bit(f.crop);
  if (f.crop) {
    for (auto o : f.crop_offsets) w.ue(o);
  }
  w.bit(f.vui);
  if (f.vui) {
    w.bit(f.extended_sar);
    if (f.extended_sar) w.bits(255, 8).bits(4, 16).bits(3, 16);
    w.bit(false).bit(f.video_signal);
    if (f.video_signal) w.bits(5, 3).bit(true).bit(true).bits(0x010101, 24);
    w.bit(false).bit(f.timing);
    if (f.timing) w.bits(f.num_units_in_tick, 32).bits(f.time_scale, 32).bit(true);
    w.bit(false).bit(false).bit(false).bit(false);  // HRD, pic_struct, bitstream restriction
  }
  w.trailing();
  return testing::make_nal({0x67}, w.bytes());
}

Bytes make_slice(int nal_byte, std::uint64_t first_mb, std::uint64_t slice_type,
                 std::uint64_t pps_id) {
  BitWriter w;
  w.ue(first_mb).ue(slice_type).ue(pps_id).bits(0x5a5a, 16).trailing();
  return testing::make_nal({static_cast<std::uint8_t>(nal_byte)}, w.bytes());
}

TEST(H264NalHeaderTest, ParsesTypeAndRefIdc) {
  const auto idr = parse_h264_nal_header(Bytes{0x65});
  ASSERT_TRUE(idr);
  EXPECT_EQ(idr->type, 5);
  EXPECT_EQ(idr->nal_ref_idc, 3);
  const auto b = parse_h264_nal_header(Bytes{0x01, 0x9e});
  ASSERT_TRUE(b);
  EXPECT_EQ(b->type, 1);
  EXPECT_EQ(b->nal_ref_idc, 0);
  EXPECT_TRUE(is_h264_vcl(5));
  EXPECT_FALSE(is_h264_vcl(6));
}

TEST(H264NalHeaderTest, RejectsEmptyAndForbiddenBit) {
  EXPECT_FALSE(parse_h264_nal_header(Bytes{}));
  EXPECT_FALSE(parse_h264_nal_header(Bytes{0xe5}));
}

TEST(H264SpsTest, ParsesRealX264Sps) {
  auto sps = parse_h264_sps(kX264Sps);
  ASSERT_TRUE(sps) << sps.error().message;
  EXPECT_EQ(sps->profile_idc, 100);
  EXPECT_EQ(sps->constraint_flags, 0);
  EXPECT_EQ(sps->level_idc, 31);
  EXPECT_EQ(sps->sps_id, 0);
  EXPECT_EQ(sps->chroma_format_idc, 1);
  EXPECT_EQ(sps->bit_depth_luma, 8);
  EXPECT_EQ(sps->width, 1280);
  EXPECT_EQ(sps->height, 720);
  EXPECT_TRUE(sps->frame_mbs_only);
  EXPECT_TRUE(sps->timing_info_present);
  EXPECT_EQ(sps->num_units_in_tick, 1u);
  EXPECT_EQ(sps->time_scale, 60u);
  EXPECT_DOUBLE_EQ(sps->frame_rate, 30.0);
  EXPECT_EQ(avc1_codec_string(*sps), "avc1.64001f");
}

TEST(H264SpsTest, AppliesFrameCroppingIn420) {
  auto sps = parse_h264_sps(make_sps({}));
  ASSERT_TRUE(sps) << sps.error().message;
  EXPECT_EQ(sps->width, 1920);
  EXPECT_EQ(sps->height, 1080);
  EXPECT_NEAR(sps->frame_rate, 29.97, 0.001);
  EXPECT_FALSE(sps->fixed_frame_rate == false);
  EXPECT_EQ(sps->log2_max_frame_num, 4);
  EXPECT_EQ(sps->log2_max_pic_order_cnt_lsb, 6);
  EXPECT_EQ(sps->max_num_ref_frames, 4);
}

TEST(H264SpsTest, FieldCodingDoublesHeightAndCropUnit) {
  SpsFields f;
  f.frame_mbs_only = false;
  f.height_map_units_minus1 = 33;  // 34 map units of 32 lines: 1088
  f.crop_offsets = {0, 0, 0, 2};   // 2 * SubHeightC(2) * 2 = 8 lines
  auto sps = parse_h264_sps(make_sps(f));
  ASSERT_TRUE(sps) << sps.error().message;
  EXPECT_FALSE(sps->frame_mbs_only);
  EXPECT_EQ(sps->height, 1080);
}

TEST(H264SpsTest, CropUnitsFollowChromaArrayType) {
  SpsFields f;
  f.profile = 122;
  f.chroma = 2;  // 4:2:2: SubWidthC 2, SubHeightC 1
  f.crop_offsets = {1, 1, 0, 8};
  auto s422 = parse_h264_sps(make_sps(f));
  ASSERT_TRUE(s422) << s422.error().message;
  EXPECT_EQ(s422->width, 1920 - 4);
  EXPECT_EQ(s422->height, 1088 - 8);

  f.profile = 244;
  f.chroma = 3;  // 4:4:4: crop in luma samples
  auto s444 = parse_h264_sps(make_sps(f));
  ASSERT_TRUE(s444) << s444.error().message;
  EXPECT_EQ(s444->width, 1920 - 2);
  EXPECT_EQ(s444->height, 1088 - 8);

  f.separate_planes = true;  // ChromaArrayType 0
  auto planes = parse_h264_sps(make_sps(f));
  ASSERT_TRUE(planes) << planes.error().message;
  EXPECT_TRUE(planes->separate_colour_plane);
  EXPECT_EQ(planes->width, 1920 - 2);

  f.chroma = 0;  // monochrome
  f.separate_planes = false;
  f.profile = 100;
  auto mono = parse_h264_sps(make_sps(f));
  ASSERT_TRUE(mono) << mono.error().message;
  EXPECT_EQ(mono->chroma_format_idc, 0);
  EXPECT_EQ(mono->width, 1920 - 2);
  EXPECT_EQ(mono->height, 1088 - 8);
}

TEST(H264SpsTest, ParsesHighBitDepthAndScalingMatrices) {
  SpsFields f;
  f.profile = 110;
  f.bit_depth_luma_minus8 = 2;
  f.bit_depth_chroma_minus8 = 2;
  f.scaling_matrix = true;
  f.scaling_delta = -5;
  auto sps = parse_h264_sps(make_sps(f));
  ASSERT_TRUE(sps) << sps.error().message;
  EXPECT_EQ(sps->bit_depth_luma, 10);
  EXPECT_EQ(sps->bit_depth_chroma, 10);
  EXPECT_EQ(sps->width, 1920);
  EXPECT_NEAR(sps->frame_rate, 29.97, 0.001);
}

TEST(H264SpsTest, ParsesBaselineWithPocType1AndNoVui) {
  SpsFields f;
  f.profile = 66;
  f.constraints = 0xc0;
  f.level = 30;
  f.poc_type = 1;
  f.vui = false;
  f.crop = false;
  f.width_mbs_minus1 = 39;
  f.height_map_units_minus1 = 29;
  auto sps = parse_h264_sps(make_sps(f));
  ASSERT_TRUE(sps) << sps.error().message;
  EXPECT_EQ(sps->pic_order_cnt_type, 1);
  EXPECT_EQ(sps->width, 640);
  EXPECT_EQ(sps->height, 480);
  EXPECT_FALSE(sps->timing_info_present);
  EXPECT_EQ(sps->frame_rate, 0);
  EXPECT_EQ(avc1_codec_string(*sps), "avc1.42c01e");
}

TEST(H264SpsTest, SkipsSarAndVideoSignalBeforeTiming) {
  SpsFields f;
  f.extended_sar = true;
  f.video_signal = true;
  f.num_units_in_tick = 1;
  f.time_scale = 100;
  auto sps = parse_h264_sps(make_sps(f));
  ASSERT_TRUE(sps) << sps.error().message;
  EXPECT_DOUBLE_EQ(sps->frame_rate, 50.0);
}

TEST(H264SpsTest, ZeroTimingValuesGiveNoFrameRate) {
  SpsFields f;
  f.num_units_in_tick = 0;
  auto sps = parse_h264_sps(make_sps(f));
  ASSERT_TRUE(sps);
  EXPECT_TRUE(sps->timing_info_present);
  EXPECT_EQ(sps->frame_rate, 0);
}

TEST(H264SpsTest, RejectsValuesOutOfRange) {
  auto rejects = [](SpsFields f, const char* what) {
    auto sps = parse_h264_sps(make_sps(f));
    EXPECT_FALSE(sps) << what;
    if (!sps) {
      EXPECT_EQ(sps.error().code, core::ErrorCode::kInvalidInput);
    }
  };
  SpsFields f;
  f.id = 32;
  rejects(f, "sps id");
  f = {};
  f.chroma = 4;
  rejects(f, "chroma_format_idc");
  f = {};
  f.bit_depth_luma_minus8 = 7;
  rejects(f, "bit depth");
  f = {};
  f.scaling_matrix = true;
  f.scaling_delta = 200;
  rejects(f, "scaling delta");
  f = {};
  f.log2_max_frame_num_minus4 = 13;
  rejects(f, "log2_max_frame_num");
  f = {};
  f.poc_type = 3;
  rejects(f, "pic_order_cnt_type");
  f = {};
  f.poc_type = 1;
  f.poc_cycle = 256;
  rejects(f, "poc cycle");
  f = {};
  f.max_refs = 17;
  rejects(f, "max_num_ref_frames");
  f = {};
  f.width_mbs_minus1 = 5000;
  rejects(f, "width");
  f = {};
  f.height_map_units_minus1 = 0xffffffff;
  rejects(f, "height");
  f = {};
  f.crop_offsets = {480, 480, 0, 0};  // 2 * 960 = the whole width
  rejects(f, "horizontal crop");
  f = {};
  f.crop_offsets = {0, 0, 0, 0xfffffff0};
  rejects(f, "vertical crop");
}

TEST(H264SpsTest, RejectsExpGolombOverflow) {
  BitWriter w;
  w.bits(100, 8).bits(0, 8).bits(40, 8).bits(0, 32).bit(true).bits(0, 32).trailing();
  auto sps = parse_h264_sps(testing::make_nal({0x67}, w.bytes()));
  EXPECT_FALSE(sps);
}

TEST(H264SpsTest, RejectsEveryTruncation) {
  const Bytes full = make_sps({});
  ASSERT_TRUE(parse_h264_sps(full));
  // Cutting two bytes always reaches into the timing info.
  for (std::size_t n = 0; n + 1 < full.size(); ++n) {
    EXPECT_FALSE(parse_h264_sps(std::span(full).first(n))) << "length " << n;
  }
  for (std::size_t n = 0; n + 4 < kX264Sps.size(); ++n) {
    EXPECT_FALSE(parse_h264_sps(std::span(kX264Sps).first(n))) << "x264 length " << n;
  }
}

TEST(H264SpsTest, RejectsOtherNalTypes) {
  EXPECT_FALSE(parse_h264_sps(kX264Pps));
  Bytes forbidden = kX264Sps;
  forbidden[0] |= 0x80;
  EXPECT_FALSE(parse_h264_sps(forbidden));
}

TEST(H264PpsTest, ParsesIds) {
  auto pps = parse_h264_pps(kX264Pps);
  ASSERT_TRUE(pps) << pps.error().message;
  EXPECT_EQ(pps->pps_id, 0);
  EXPECT_EQ(pps->sps_id, 0);
  BitWriter w;
  w.ue(255).ue(31).bit(true).trailing();
  auto max = parse_h264_pps(testing::make_nal({0x68}, w.bytes()));
  ASSERT_TRUE(max);
  EXPECT_EQ(max->pps_id, 255);
  EXPECT_EQ(max->sps_id, 31);
}

TEST(H264PpsTest, RejectsBadIdsAndTruncation) {
  BitWriter a;
  a.ue(256).ue(0).trailing();
  EXPECT_FALSE(parse_h264_pps(testing::make_nal({0x68}, a.bytes())));
  BitWriter b;
  b.ue(0).ue(32).trailing();
  EXPECT_FALSE(parse_h264_pps(testing::make_nal({0x68}, b.bytes())));
  EXPECT_FALSE(parse_h264_pps(Bytes{0x68}));
  EXPECT_FALSE(parse_h264_pps(Bytes{0x68, 0x00, 0x00}));
  EXPECT_FALSE(parse_h264_pps(kX264Sps));
}

TEST(H264SliceTest, ReadsFirstMbSliceTypeAndPps) {
  auto idr = parse_h264_slice_start(kX264IdrStart);
  ASSERT_TRUE(idr);
  EXPECT_EQ(idr->first_mb_in_slice, 0u);
  EXPECT_EQ(idr->slice_type, 7);  // I, all slices
  EXPECT_EQ(idr->pps_id, 0);
  EXPECT_EQ(first_mb_in_slice(kX264PSliceStart), 0u);

  const Bytes second = make_slice(0x41, 3600, 5, 2);
  auto s = parse_h264_slice_start(second);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->first_mb_in_slice, 3600u);
  EXPECT_EQ(s->slice_type, 5);
  EXPECT_EQ(s->pps_id, 2);
  EXPECT_EQ(first_mb_in_slice(make_slice(0x22, 0, 0, 0)), 0u) << "partition A";
}

TEST(H264SliceTest, RejectsNonSlicesAndGarbage) {
  EXPECT_FALSE(first_mb_in_slice(kX264Sps));
  EXPECT_FALSE(first_mb_in_slice(Bytes{0x23, 0x80}));  // partition B has no header
  EXPECT_FALSE(first_mb_in_slice(Bytes{0x65}));
  EXPECT_FALSE(first_mb_in_slice(Bytes{0x65, 0x00, 0x00, 0x00, 0x00, 0x00}));
  EXPECT_FALSE(parse_h264_slice_start(make_slice(0x41, 0, 10, 0))) << "slice_type 10";
  EXPECT_FALSE(parse_h264_slice_start(make_slice(0x41, 0, 0, 256))) << "pps id 256";
}

TEST(H264SeiTest, ReadsTheRecoveryFrameCount) {
  EXPECT_EQ(parse_h264_recovery_point(Bytes{0x06, 0x06, 0x01, 0x84, 0x80}), 0u);
  // x264 with intra-refresh: recovery_frame_cnt 32.
  EXPECT_EQ(parse_h264_recovery_point(Bytes{0x06, 0x06, 0x02, 0x04, 0x21, 0x80}), 32u);
  // After a user-data message (type 5, 17 bytes), as x264 writes its banner first.
  Bytes both = {0x06, 0x05, 0x11};
  both.insert(both.end(), 17, 0x41);
  both.insert(both.end(), {0x06, 0x01, 0x84, 0x80});
  EXPECT_EQ(parse_h264_recovery_point(both), 0u);
}

TEST(H264SeiTest, IgnoresOtherMessagesAndGarbage) {
  EXPECT_FALSE(parse_h264_recovery_point(Bytes{0x06, 0x05, 0x02, 0x41, 0x41, 0x80}));
  EXPECT_FALSE(parse_h264_recovery_point(Bytes{0x06}));
  EXPECT_FALSE(parse_h264_recovery_point(Bytes{0x06, 0xff, 0xff}));
  EXPECT_FALSE(parse_h264_recovery_point(Bytes{0x06, 0x06, 0x40}));  // length past the end
  EXPECT_FALSE(parse_h264_recovery_point(Bytes{0x65, 0x06, 0x01, 0x84, 0x80})) << "not an SEI";
}

TEST(H264AvccTest, BuildsHighProfileRecordWithExtension) {
  const std::vector<Bytes> sps = {kX264Sps};
  const std::vector<Bytes> pps = {kX264Pps};
  auto avcc = build_avcc(sps, pps);
  ASSERT_TRUE(avcc) << avcc.error().message;
  Bytes expected = {0x01, 0x64, 0x00, 0x1f, 0xff, 0xe1, 0x00, 0x1a};
  expected.insert(expected.end(), kX264Sps.begin(), kX264Sps.end());
  expected.insert(expected.end(), {0x01, 0x00, 0x05});
  expected.insert(expected.end(), kX264Pps.begin(), kX264Pps.end());
  expected.insert(expected.end(), {0xfd, 0xf8, 0xf8, 0x00});
  EXPECT_EQ(*avcc, expected);
}

TEST(H264AvccTest, BaselineRecordHasNoExtension) {
  SpsFields f;
  f.profile = 66;
  f.constraints = 0xe0;
  f.level = 30;
  const Bytes sps = make_sps(f);
  const std::vector<Bytes> sps_list = {sps};
  const std::vector<Bytes> pps_list = {kX264Pps, Bytes{0x68, 0xce, 0x3c, 0x80}};
  auto avcc = build_avcc(sps_list, pps_list);
  ASSERT_TRUE(avcc) << avcc.error().message;
  EXPECT_EQ(avcc->size(), 6 + 2 + sps.size() + 1 + 2 + 5 + 2 + 4);
  EXPECT_EQ((*avcc)[1], 66);
  EXPECT_EQ((*avcc)[2], 0xe0);
  EXPECT_EQ((*avcc)[3], 30);
  EXPECT_EQ((*avcc)[6 + 2 + sps.size()], 2) << "two PPS";
}

TEST(H264AvccTest, TenBitHighProfileExtensionCarriesBitDepth) {
  SpsFields f;
  f.profile = 110;
  f.bit_depth_luma_minus8 = 2;
  f.bit_depth_chroma_minus8 = 2;
  const std::vector<Bytes> sps = {make_sps(f)};
  const std::vector<Bytes> pps = {kX264Pps};
  auto avcc = build_avcc(sps, pps);
  ASSERT_TRUE(avcc);
  const Bytes tail(avcc->end() - 4, avcc->end());
  EXPECT_EQ(tail, (Bytes{0xfd, 0xfa, 0xfa, 0x00}));
}

TEST(H264AvccTest, RejectsMissingOrBrokenParameterSets) {
  const std::vector<Bytes> none;
  const std::vector<Bytes> pps = {kX264Pps};
  EXPECT_FALSE(build_avcc(none, pps));
  const std::vector<Bytes> short_sps = {Bytes{0x67, 0x64}};
  EXPECT_FALSE(build_avcc(short_sps, pps));
  const std::vector<Bytes> garbage_sps = {Bytes{0x67, 0x64, 0x00, 0x1f, 0x00, 0x00}};
  EXPECT_FALSE(build_avcc(garbage_sps, pps));
  const std::vector<Bytes> too_many(32, kX264Sps);
  EXPECT_FALSE(build_avcc(too_many, pps));
  const std::vector<Bytes> sps = {kX264Sps};
  const std::vector<Bytes> empty_pps = {Bytes{}};
  EXPECT_FALSE(build_avcc(sps, empty_pps));
  const std::vector<Bytes> huge_pps = {Bytes(70000, 0x68)};
  EXPECT_FALSE(build_avcc(sps, huge_pps));
}

}  // namespace
}  // namespace mirror::media
