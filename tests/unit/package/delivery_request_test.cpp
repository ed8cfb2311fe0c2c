#include "package/hls/delivery_request.h"

#include <gtest/gtest.h>

namespace mirror::package::hls {
namespace {

TEST(DeliveryRequestTest, ReadsMsnPartAndSkip) {
  auto d = parse_delivery_directives("_HLS_msn=12&_HLS_part=3&_HLS_skip=YES");
  ASSERT_TRUE(d.error.empty()) << d.error;
  EXPECT_EQ(*d.request.msn, 12);
  EXPECT_EQ(*d.request.part, 3);
  EXPECT_TRUE(d.request.skip);
  EXPECT_TRUE(parse_delivery_directives("_HLS_msn=1&_HLS_skip=v2").request.skip);
  EXPECT_EQ(*parse_delivery_directives("_HLS_msn=%31%32").request.msn, 12);
  auto plain = parse_delivery_directives("cachebuster=1&x");
  EXPECT_TRUE(plain.error.empty());
  EXPECT_FALSE(plain.request.msn);
}

TEST(DeliveryRequestTest, RejectsPartWithoutMsn) {
  EXPECT_FALSE(parse_delivery_directives("_HLS_part=1").error.empty());
}

TEST(DeliveryRequestTest, RejectsMalformedValues) {
  for (const char* q : {"_HLS_msn=abc", "_HLS_msn=-1", "_HLS_msn=", "_HLS_msn", "_HLS_msn=1.5",
                        "_HLS_msn=0x10", "_HLS_msn=99999999999999999999", "_HLS_msn=1&_HLS_part=65536",
                        "_HLS_msn=1&_HLS_part=-2", "_HLS_msn=1&_HLS_skip=NO", "_HLS_msn=%00",
                        "_HLS_msn=%4", "_HLS_msn=+1", "_HLS_msn=-0", "_HLS_msn=70368744177664"}) {
    EXPECT_FALSE(parse_delivery_directives(q).error.empty()) << q;
  }
}

TEST(DeliveryRequestTest, NamesRenditionFiles) {
  using Kind = RenditionFile::Kind;
  EXPECT_EQ(parse_rendition_file("playlist.m3u8").kind, Kind::kPlaylist);
  auto init = parse_rendition_file("init-179.mp4");
  EXPECT_EQ(init.kind, Kind::kInit);
  EXPECT_EQ(init.number, 179);
  auto seg = parse_rendition_file("seg-42.m4s");
  EXPECT_EQ(seg.kind, Kind::kSegment);
  EXPECT_EQ(seg.number, 42);
  auto part = parse_rendition_file("part-42.7.m4s");
  EXPECT_EQ(part.kind, Kind::kPart);
  EXPECT_EQ(part.number, 42);
  EXPECT_EQ(part.part, 7);
  for (const char* bad : {"", "seg-.m4s", "seg-1.mp4", "part-1.m4s", "part-1.2.3.m4s", "part-.1.m4s",
                          "part-1.99999.m4s", "init--1.mp4", "seg-99999999999999999999.m4s",
                          "../seg-1.m4s", "playlist.m3u8x", "seg-+1.m4s", "part-06.3.m4s",
                          "part-6.03.m4s", "seg-00.m4s", "seg--0.m4s", "part--0.1.m4s", "part-1.-0.m4s"}) {
    EXPECT_EQ(parse_rendition_file(bad).kind, Kind::kUnknown) << bad;
  }
}

}  // namespace
}  // namespace mirror::package::hls
