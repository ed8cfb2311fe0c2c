#include "package/hls/dvr_playlist.h"

#include <gtest/gtest.h>

#include <vector>

namespace mirror::package::hls {
namespace {

constexpr std::int64_t kT0 = 1'796'292'000'000;  // 2026-12-03T10:00:00Z

TEST(DvrPlaylist, ListsEverySegmentWithItsTimeAndMarksRestarts) {
  std::vector<DvrSegment> segments{
      {100, 100, 0, 99, kT0, 2'000'000},
      {100, 101, 0, 99, kT0 + 2'000, 2'000'000},
      {100, 102, 1, 100, kT0 + 4'000, 1'500'000},  // a discontinuity within the session, a new init
      {900, 900, 0, 899, kT0 + 60'000, 2'400'000},  // the stream came back
  };
  const std::string text = dvr_media_playlist(segments, {.complete = true, .query = "token=t"});
  EXPECT_EQ(text,
            "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:2\n#EXT-X-PLAYLIST-TYPE:VOD\n"
            "#EXT-X-MEDIA-SEQUENCE:100\n"
            "#EXT-X-MAP:URI=\"100/init-99.mp4?token=t\"\n"
            "#EXT-X-PROGRAM-DATE-TIME:2026-12-03T10:00:00.000Z\n#EXTINF:2.00000,\n100/seg-100.m4s?token=t\n"
            "#EXT-X-PROGRAM-DATE-TIME:2026-12-03T10:00:02.000Z\n#EXTINF:2.00000,\n100/seg-101.m4s?token=t\n"
            "#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=\"100/init-100.mp4?token=t\"\n"
            "#EXT-X-PROGRAM-DATE-TIME:2026-12-03T10:00:04.000Z\n#EXTINF:1.50000,\n100/seg-102.m4s?token=t\n"
            "#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=\"900/init-899.mp4?token=t\"\n"
            "#EXT-X-PROGRAM-DATE-TIME:2026-12-03T10:01:00.000Z\n#EXTINF:2.40000,\n900/seg-900.m4s?token=t\n"
            "#EXT-X-ENDLIST\n");
}

TEST(DvrPlaylist, AGrowingRecordingIsAnEventPlaylistWithoutAnEnd) {
  std::vector<DvrSegment> segments{{5, 5, 0, 4, kT0, 2'600'000}};
  const std::string text = dvr_media_playlist(segments, {});
  EXPECT_NE(text.find("#EXT-X-PLAYLIST-TYPE:EVENT\n"), std::string::npos);
  EXPECT_NE(text.find("#EXT-X-TARGETDURATION:3\n"), std::string::npos) << "2.6 s rounds to 3";
  EXPECT_EQ(text.find("ENDLIST"), std::string::npos);
  EXPECT_NE(text.find("\n5/seg-5.m4s\n"), std::string::npos);
}

}  // namespace
}  // namespace mirror::package::hls
