#include "ingest/stream_id.h"

#include <gtest/gtest.h>

namespace mirror::ingest {
namespace {

TEST(StreamId, PlainNameIsTheStreamName) {
  EXPECT_EQ(parse_stream_id("cam1").value(), "cam1");
  EXPECT_EQ(parse_stream_id("Studio_B-2").value(), "Studio_B-2");
}

TEST(StreamId, AccessControlFormTakesTheResource) {
  EXPECT_EQ(parse_stream_id("#!::r=cam1,m=publish").value(), "cam1");
  EXPECT_EQ(parse_stream_id("#!::u=alice,r=cam2,s=abc").value(), "cam2");
  EXPECT_EQ(parse_stream_id("#!::m=publish,r=cam3").value(), "cam3");
}

TEST(StreamId, RejectsModesOtherThanPublish) {
  EXPECT_FALSE(parse_stream_id("#!::r=cam1,m=request"));
}

TEST(StreamId, RejectsMalformedAccessControl) {
  EXPECT_FALSE(parse_stream_id("#!::cam1"));
  EXPECT_FALSE(parse_stream_id("#!::m=publish"));
  EXPECT_FALSE(parse_stream_id("#!::r=,m=publish"));
}

TEST(StreamId, RejectsBadNames) {
  EXPECT_FALSE(parse_stream_id(""));
  EXPECT_FALSE(parse_stream_id("../etc"));
  EXPECT_FALSE(parse_stream_id("cam 1"));
  EXPECT_FALSE(parse_stream_id("cam/1"));
  EXPECT_FALSE(parse_stream_id(std::string(65, 'a')));
  EXPECT_TRUE(parse_stream_id(std::string(64, 'a')));
  EXPECT_FALSE(parse_stream_id(std::string("ca\0m", 4)));
}

}  // namespace
}  // namespace mirror::ingest
