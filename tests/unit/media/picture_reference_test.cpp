#include "media/picture_reference.h"

#include <gtest/gtest.h>

#include <vector>

namespace mirror::media {
namespace {

std::vector<std::uint8_t> access_unit(std::initializer_list<std::vector<std::uint8_t>> nals) {
  std::vector<std::uint8_t> out;
  for (const auto& n : nals) {
    const auto size = static_cast<std::uint32_t>(n.size());
    out.insert(out.end(), {static_cast<std::uint8_t>(size >> 24), static_cast<std::uint8_t>(size >> 16),
                           static_cast<std::uint8_t>(size >> 8), static_cast<std::uint8_t>(size)});
    out.insert(out.end(), n.begin(), n.end());
  }
  return out;
}

TEST(PictureReferenceTest, H264NalRefIdcDecides) {
  const auto sei_then_ref = access_unit({{0x06, 0x05, 0x00}, {0x41, 0x9a, 0x00}});  // nal_ref_idc 2
  auto r = picture_reference(Codec::kH264, sei_then_ref);
  EXPECT_TRUE(r.known);
  EXPECT_TRUE(r.reference);
  const auto disposable = access_unit({{0x01, 0x9e, 0x00}});  // slice, nal_ref_idc 0
  r = picture_reference(Codec::kH264, disposable);
  EXPECT_TRUE(r.known);
  EXPECT_FALSE(r.reference);
}

TEST(PictureReferenceTest, HevcSubLayerNonReferenceTypes) {
  // TRAIL_N (0), temporal id 0; TRAIL_R (1); RASL_N (8) with temporal id 2.
  auto r = picture_reference(Codec::kHevc, access_unit({{0x4e, 0x01, 0x05}, {0x00, 0x01, 0xaf}}));
  EXPECT_TRUE(r.known);
  EXPECT_FALSE(r.reference);
  EXPECT_EQ(r.temporal_id, 0);
  r = picture_reference(Codec::kHevc, access_unit({{0x02, 0x01, 0xaf}}));
  EXPECT_TRUE(r.reference);
  r = picture_reference(Codec::kHevc, access_unit({{0x10, 0x03, 0xaf}}));
  EXPECT_FALSE(r.reference);
  EXPECT_EQ(r.temporal_id, 2);
}

TEST(PictureReferenceTest, UnknownWithoutASliceOrOnBrokenLengths) {
  EXPECT_FALSE(picture_reference(Codec::kH264, access_unit({{0x06, 0x05}})).known);
  const std::vector<std::uint8_t> truncated = {0x00, 0x00, 0x10, 0x00, 0x41};
  EXPECT_FALSE(picture_reference(Codec::kH264, truncated).known);
  EXPECT_FALSE(picture_reference(Codec::kHevc, {}).known);
}

}  // namespace
}  // namespace mirror::media
