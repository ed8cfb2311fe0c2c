#include "package/hls/presentation.h"

#include "package_test_util.h"

#include <gtest/gtest.h>

namespace mirror::package::hls {
namespace {

using testing::audio_config;
using testing::audio_frame;
using testing::video_config;
using testing::video_frame;

PackagerSettings settings() {
  PackagerSettings s;
  s.first_msn = 1000;
  return s;
}

// Two seconds of 30 fps video (GOP 15) and 48 kHz audio into `p`.
void feed(StreamPackager& p, media::CodecConfigPtr video, bool with_audio = true, bool with_video = true) {
  auto audio = audio_config();
  std::int64_t audio_pts = 0;
  for (int i = 0; i < 60; ++i) {
    const std::int64_t dts = 900000 + i * 3000;
    if (with_video) p.on_frame(video_frame(video, dts, i % 15 == 0, 2000));
    while (with_audio && audio_pts * 90000 / 48000 < dts - 900000 + 3000) {
      p.on_frame(audio_frame(audio, audio_pts + std::int64_t{900000} * 48000 / 90000));
      audio_pts += 1024;
    }
    p.flush();
  }
}

media::CodecConfigPtr small_video() {
  auto c = std::make_shared<media::CodecConfig>(*video_config());
  c->width = 640;
  c->height = 360;
  c->codec_string = "avc1.42c01e";
  return c;
}

// A presentation of a 720p source and a 360p rendition with the transcoded
// audio, both fed (the rendition unless `feed_rendition` is false).
struct SourceAndRendition {
  Presentation presentation{"cam"};
  std::shared_ptr<StreamPackager> source = std::make_shared<StreamPackager>("cam", settings());
  std::shared_ptr<StreamPackager> small;
  explicit SourceAndRendition(media::CodecConfigPtr source_video, bool feed_rendition = true);
};

std::shared_ptr<StreamPackager> rendition(const std::string& name, bool audio) {
  RenditionNames names;
  names.video = name;
  names.audio = audio ? "transcoded-audio" : "";
  return std::make_shared<StreamPackager>("cam", settings(), names);
}

SourceAndRendition::SourceAndRendition(media::CodecConfigPtr source_video, bool feed_rendition)
    : small(rendition("360p", true)) {
  presentation.add(source, VariantRole::kSource);
  presentation.add(small, VariantRole::kTranscoded);
  feed(*source, std::move(source_video));
  if (feed_rendition) feed(*small, small_video());
}

// A source, a 360p rendition with the transcoded audio and a 180p one
// without audio of its own, all fed.
struct TwoRenditions {
  Presentation presentation{"cam"};
  std::shared_ptr<StreamPackager> source = std::make_shared<StreamPackager>("cam", settings());
  std::shared_ptr<StreamPackager> first = rendition("360p", true);
  std::shared_ptr<StreamPackager> second = rendition("180p", false);
  TwoRenditions() {
    presentation.add(source, VariantRole::kSource);
    presentation.add(first, VariantRole::kTranscoded);
    presentation.add(second, VariantRole::kTranscoded);
    feed(*source, video_config());
    feed(*first, small_video());
    feed(*second, small_video(), /*with_audio=*/false);
  }
};

TEST(PresentationTest, H264SourceComesFirstAndEachVariantHasItsAudio) {
  SourceAndRendition s(video_config());
  auto& p = s.presentation;
  EXPECT_EQ(p.pending(VariantScope::kAll), nullptr);
  const std::string all = p.multivariant_playlist(VariantScope::kAll);
  const auto source_at = all.find("source/playlist.m3u8");
  const auto small_at = all.find("360p/playlist.m3u8");
  ASSERT_NE(source_at, std::string::npos) << all;
  ASSERT_NE(small_at, std::string::npos) << all;
  EXPECT_LT(source_at, small_at);
  EXPECT_NE(all.find("GROUP-ID=\"audio\""), std::string::npos);
  EXPECT_NE(all.find("GROUP-ID=\"transcoded-audio\""), std::string::npos);
  EXPECT_NE(all.find("CODECS=\"avc1.42c01e,mp4a.40.2\",RESOLUTION=640x360,FRAME-RATE=30.000,AUDIO=\"transcoded-audio\""),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("RESOLUTION=1280x720,FRAME-RATE=30.000,AUDIO=\"audio\""), std::string::npos) << all;

  const std::string multiview = p.multivariant_playlist(VariantScope::kTranscoded);
  EXPECT_EQ(multiview.find("source/"), std::string::npos) << multiview;
  EXPECT_EQ(multiview.find("GROUP-ID=\"audio\""), std::string::npos) << multiview;
  EXPECT_NE(multiview.find("360p/playlist.m3u8"), std::string::npos);
}

TEST(PresentationTest, HevcSourceComesAfterTheRenditionsBrowsersDecode) {
  // Packaged as H.264 here, but named as HEVC, which is all the order looks at.
  auto hevc = std::make_shared<media::CodecConfig>(*video_config());
  hevc->codec_string = "hvc1.1.6.L120.90";
  SourceAndRendition s(hevc);
  const std::string all = s.presentation.multivariant_playlist(VariantScope::kAll);
  EXPECT_LT(all.find("360p/playlist.m3u8"), all.find("source/playlist.m3u8")) << all;
  EXPECT_NE(all.find("hvc1.1.6.L120.90"), std::string::npos);
}

TEST(PresentationTest, IntraRefreshSourceComesAfterTheRenditions) {
  // Its segments start on recovery points, where browsers cannot start.
  Presentation p("cam");
  auto source = std::make_shared<StreamPackager>("cam", settings());
  auto small = rendition("360p", true);
  p.add(source, VariantRole::kSource);
  p.add(small, VariantRole::kTranscoded);
  EXPECT_FALSE(source->summary().gradual_refresh);
  for (int i = 0; i < 60; ++i) {
    auto frame = video_frame(video_config(), 900000 + i * 3000, i % 15 == 0, 2000);
    frame.gradual_refresh = i > 0 && frame.keyframe;
    source->on_frame(frame);
    source->flush();
  }
  feed(*small, small_video());
  EXPECT_TRUE(source->summary().gradual_refresh);
  const std::string all = p.multivariant_playlist(VariantScope::kAll);
  ASSERT_NE(all.find("source/playlist.m3u8"), std::string::npos) << all;
  EXPECT_LT(all.find("360p/playlist.m3u8"), all.find("source/playlist.m3u8")) << all;
}

TEST(PresentationTest, SourceCutWithoutAKeyframeComesAfterTheRenditions) {
  // A lost IDR: no keyframe for 3 s, so a segment is cut without one at
  // max_segment_duration (2 s), where browsers cannot start.
  Presentation p("cam");
  auto source = std::make_shared<StreamPackager>("cam", settings());
  auto small = rendition("360p", true);
  p.add(source, VariantRole::kSource);
  p.add(small, VariantRole::kTranscoded);
  for (int i = 0; i < 120; ++i) {
    source->on_frame(video_frame(video_config(), 900000 + i * 3000, i == 0 || i == 90, 2000));
    source->flush();
  }
  feed(*small, small_video());
  EXPECT_EQ(source->forced_cuts(), 1u);
  EXPECT_TRUE(source->summary().segments_without_keyframe);
  const std::string all = p.multivariant_playlist(VariantScope::kAll);
  ASSERT_NE(all.find("source/playlist.m3u8"), std::string::npos) << all;
  EXPECT_LT(all.find("360p/playlist.m3u8"), all.find("source/playlist.m3u8")) << all;
}

TEST(PresentationTest, FurtherRenditionsShareTheTranscodedAudio) {
  TwoRenditions t;
  auto& p = t.presentation;
  const std::string multiview = p.multivariant_playlist(VariantScope::kTranscoded);
  EXPECT_NE(multiview.find("AUDIO=\"transcoded-audio\"\n180p/playlist.m3u8"), std::string::npos) << multiview;
  // Only one EXT-X-MEDIA for the shared group.
  EXPECT_EQ(multiview.find("GROUP-ID=\"transcoded-audio\""), multiview.rfind("GROUP-ID=\"transcoded-audio\""));
  // Unused audio store of the second feed is no rendition.
  EXPECT_EQ(p.rendition("").store, nullptr);
  EXPECT_NE(p.rendition("180p").store, nullptr);
  EXPECT_NE(p.rendition("transcoded-audio").store, nullptr);
}

// What a muted wall tile asks for: the same variants, with no audio group.
TEST(PresentationTest, AVideoOnlyMultivariantNamesNoAudio) {
  TwoRenditions t;
  auto& p = t.presentation;
  const std::string with = p.multivariant_playlist(VariantScope::kTranscoded);
  const std::string without = p.multivariant_playlist(VariantScope::kTranscoded, /*audio=*/false);
  EXPECT_NE(with.find("EXT-X-MEDIA:TYPE=AUDIO"), std::string::npos) << with;
  EXPECT_EQ(without.find("EXT-X-MEDIA"), std::string::npos) << without;
  EXPECT_EQ(without.find("AUDIO="), std::string::npos) << without;
  EXPECT_EQ(without.find("mp4a"), std::string::npos) << without;
  EXPECT_NE(without.find("\n360p/playlist.m3u8"), std::string::npos) << without;
  EXPECT_NE(without.find("\n180p/playlist.m3u8"), std::string::npos) << without;
}

TEST(PresentationTest, WaitsForARenditionWithoutMediaUntilItEnds) {
  SourceAndRendition s(video_config(), /*feed_rendition=*/false);
  auto& p = s.presentation;
  auto& small = s.small;
  EXPECT_EQ(p.pending(VariantScope::kAll), small->video_store());
  EXPECT_EQ(p.pending(VariantScope::kTranscoded), small->video_store());
  // The transcoder gave up on it (an undecodable source): nothing to wait for.
  small->end();
  EXPECT_EQ(p.pending(VariantScope::kAll), nullptr);
  EXPECT_TRUE(p.multivariant_playlist(VariantScope::kTranscoded).empty());
  EXPECT_NE(p.multivariant_playlist(VariantScope::kAll).find("source/playlist.m3u8"), std::string::npos);
}

TEST(PresentationTest, EveryPlaylistReportsEveryOtherRendition) {
  SourceAndRendition s(video_config());
  const std::string text(s.presentation.store("360p")->playlist(false).view());
  for (const char* other : {"../source/", "../audio/", "../transcoded-audio/"}) {
    EXPECT_NE(text.find(std::string("#EXT-X-RENDITION-REPORT:URI=\"") + other), std::string::npos) << other;
  }
  EXPECT_EQ(text.find("URI=\"../360p/"), std::string::npos);
}

TEST(PresentationTest, AudioOnlySourceHasNoVideoRendition) {
  Presentation p("radio");
  auto source = std::make_shared<StreamPackager>("radio", settings());
  p.add(source, VariantRole::kSource);
  auto audio = audio_config();
  for (int i = 0; i < 200; ++i) {
    source->on_frame(audio_frame(audio, i * 1024));
    source->flush();
  }
  EXPECT_EQ(p.rendition("source").store, nullptr);
  EXPECT_NE(p.rendition("audio").store, nullptr);
  const std::string all = p.multivariant_playlist(VariantScope::kAll);
  EXPECT_NE(all.find("CODECS=\"mp4a.40.2\"\naudio/playlist.m3u8"), std::string::npos) << all;
}

}  // namespace
}  // namespace mirror::package::hls
