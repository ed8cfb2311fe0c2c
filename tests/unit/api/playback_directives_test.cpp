#include "api/playback_routes.h"

#include <gtest/gtest.h>

namespace mirror::api {
namespace {

DeliveryDirectives parse(std::string query) {
  http::Request r;
  r.query = std::move(query);
  return parse_delivery_directives(r);
}

TEST(PlaybackDirectivesTest, ReadsMsnPartAndSkip) {
  auto d = parse("_HLS_msn=12&_HLS_part=3&_HLS_skip=YES");
  ASSERT_TRUE(d.error.empty()) << d.error;
  EXPECT_EQ(*d.request.msn, 12);
  EXPECT_EQ(*d.request.part, 3);
  EXPECT_TRUE(d.request.skip);
  EXPECT_TRUE(parse("_HLS_msn=1&_HLS_skip=v2").request.skip);
  auto plain = parse("cachebuster=1");
  EXPECT_TRUE(plain.error.empty());
  EXPECT_FALSE(plain.request.msn);
}

TEST(PlaybackDirectivesTest, RejectsPartWithoutMsn) {
  EXPECT_FALSE(parse("_HLS_part=1").error.empty());
}

TEST(PlaybackDirectivesTest, RejectsMalformedValues) {
  for (const char* q : {"_HLS_msn=abc", "_HLS_msn=-1", "_HLS_msn=", "_HLS_msn=1.5", "_HLS_msn=0x10",
                        "_HLS_msn=99999999999999999999", "_HLS_msn=1&_HLS_part=65536",
                        "_HLS_msn=1&_HLS_part=-2", "_HLS_msn=1&_HLS_skip=NO", "_HLS_msn=%00"}) {
    EXPECT_FALSE(parse(q).error.empty()) << q;
  }
}

}  // namespace
}  // namespace mirror::api
