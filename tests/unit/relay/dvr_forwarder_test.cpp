#include "relay/dvr_forwarder.h"

#include <gtest/gtest.h>

namespace mirror::relay {
namespace {

TEST(DvrForwarder, EverySegmentURIGetsTheTimeOfItsProgramDateTime) {
  const std::string in =
      "#EXTM3U\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-MAP:URI=\"17/init-17.mp4\"\n"
      "#EXT-X-PROGRAM-DATE-TIME:2026-12-03T23:59:28.593Z\n#EXTINF:1.00000,\n17/seg-17.m4s\n"
      "#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME:2026-12-03T23:59:29.593Z\n#EXTINF:1.00000,\n"
      "18/seg-18.m4s?start=1.000&token=x\n#EXT-X-ENDLIST\n";
  const auto out = add_segment_times(in);
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_NE(out->find("\n17/seg-17.m4s?at=1796342368593\n"), std::string::npos) << *out;
  EXPECT_NE(out->find("\n18/seg-18.m4s?start=1.000&token=x&at=1796342369593\n"), std::string::npos) << *out;
  EXPECT_NE(out->find("#EXT-X-MAP:URI=\"17/init-17.mp4\"\n"), std::string::npos) << "tags stay as they are";
}

TEST(DvrForwarder, ASegmentWithoutATimeOrATimeThatDoesNotReadIsRefused) {
  EXPECT_FALSE(add_segment_times("#EXTM3U\n#EXTINF:1,\n1/seg-1.m4s\n"));
  EXPECT_FALSE(add_segment_times("#EXTM3U\n#EXT-X-PROGRAM-DATE-TIME:soon\n#EXTINF:1,\n1/seg-1.m4s\n"));
  // One time serves one segment only.
  EXPECT_FALSE(add_segment_times(
      "#EXTM3U\n#EXT-X-PROGRAM-DATE-TIME:2026-12-03T23:59:28.593Z\n#EXTINF:1,\n1/seg-1.m4s\n#EXTINF:1,\n1/seg-2.m4s\n"));
}

}  // namespace
}  // namespace mirror::relay
