#include "relay/origin_playlist.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace mirror::relay {
namespace {

std::string seed(const std::string& name) {
  std::ifstream in(std::string(MIRROR_TEST_SOURCE) + "/tests/fuzz/corpus/fuzz_origin_playlist/" + name);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(OriginPlaylist, ReadsSegmentsPartsMapsDiscontinuitiesAndTheHint) {
  const auto p = parse_origin_playlist(seed("live"));
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->target_duration, 2);
  EXPECT_DOUBLE_EQ(p->part_target, 0.12);
  EXPECT_EQ(p->media_sequence, 179634236516);
  ASSERT_EQ(p->segments.size(), 3u);
  const auto& first = p->segments[0];
  EXPECT_EQ(first.msn, 179634236516);
  EXPECT_TRUE(first.complete);
  EXPECT_DOUBLE_EQ(first.duration, 0.99846);
  EXPECT_TRUE(first.parts.empty());
  EXPECT_EQ(first.init_version, 179634236515);
  EXPECT_FALSE(first.discontinuity);
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::milliseconds>(first.program_date_time.time_since_epoch()).count(),
            1796342368593);
  const auto& second = p->segments[1];
  EXPECT_TRUE(second.discontinuity);
  EXPECT_EQ(second.init_version, 179634236517);
  ASSERT_EQ(second.parts.size(), 2u);
  EXPECT_TRUE(second.parts[0].independent);
  EXPECT_FALSE(second.parts[1].independent);
  const auto& open = p->segments[2];
  EXPECT_FALSE(open.complete);
  ASSERT_EQ(open.parts.size(), 1u);  // its URI carries a token
  EXPECT_EQ(p->hint_msn, 179634236518);
  EXPECT_EQ(p->hint_part, 1);
  EXPECT_FALSE(p->ended);

  const auto ended = parse_origin_playlist(seed("ended"));
  ASSERT_TRUE(ended) << ended.error().message;
  EXPECT_TRUE(ended->ended);
  EXPECT_FALSE(ended->hint_msn);
}

TEST(OriginPlaylist, AnythingButMirrorsOwnFilesIsRefusedWithItsLine) {
  const std::string live = seed("live");
  auto with = [&](const std::string& from, const std::string& to) {
    std::string t = live;
    const auto at = t.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    t.replace(at, from.size(), to);
    return t;
  };
  const std::pair<std::string, std::string> cases[] = {
      {"", "does not start with #EXTM3U"},
      {"#EXTM3U\n", "lacks a target duration, part target or media sequence"},
      {with("seg-179634236516.m4s", "http://elsewhere/seg-179634236516.m4s"), "line 11: segment URI does not match its position"},
      {with("seg-179634236516.m4s", "seg-1.m4s"), "line 11: segment URI does not match its position"},
      {with("part-179634236517.1.m4s", "part-179634236517.5.m4s"), "line 16: part URI does not match its position"},
      {with("part-179634236517.1.m4s", "../../etc/passwd"), "line 16: bad part"},
      {with("DURATION=0.12000,URI=\"part-179634236517.1", "DURATION=-1,URI=\"part-179634236517.1"), "line 16: bad part"},
      {with("#EXTINF:0.99846,", "#EXTINF:nan,"), "line 10: bad EXTINF"},
      {with("#EXT-X-TARGETDURATION:2", "#EXT-X-TARGETDURATION:0"), "line 3: bad target duration"},
      {with("init-179634236517.mp4", "init-1.mp4"), "line 13: bad map URI"},
      {with("2026-12-03T23:59:29.591Z", "yesterday"), "line 14: bad program date time"},
      {with("#EXT-X-DISCONTINUITY-SEQUENCE:0", "#EXT-X-SKIP:SKIPPED-SEGMENTS=3"),
       "line 7: a delta update (the relay asks for whole playlists)"},
      {with("seg-179634236517.m4s\n", ""), "line 18: EXTINF without its URI"},
      {std::string(5 * 1024 * 1024, '#'), "origin playlist line 0: larger than 4 MiB"},
  };
  for (const auto& [text, fault] : cases) {
    const auto p = parse_origin_playlist(text);
    ASSERT_FALSE(p) << fault;
    EXPECT_NE(p.error().message.find(fault), std::string::npos) << p.error().message;
  }
}

TEST(OriginPlaylist, MultivariantNamesItsRenditionFoldersOnce) {
  const auto names = multivariant_renditions(seed("multivariant"));
  ASSERT_TRUE(names) << names.error().message;
  EXPECT_EQ(*names, (std::vector<std::string>{"audio", "source", "360p"}));
  EXPECT_FALSE(multivariant_renditions("#EXTM3U\nhttp://elsewhere/x/playlist.m3u8\n"));
  EXPECT_FALSE(multivariant_renditions("#EXTM3U\n../up/playlist.m3u8\n"));
  EXPECT_FALSE(multivariant_renditions("#EXTM3U\n"));
  EXPECT_FALSE(multivariant_renditions("source/playlist.m3u8\n"));
}

}  // namespace
}  // namespace mirror::relay
