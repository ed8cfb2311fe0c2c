#include "transcode/stream_transcoder.h"

#include "transcode_fixtures.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
}

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace mirror::transcode {
namespace {

using media::MediaFrame;
using media::TrackKind;

struct Collected {
  std::map<std::size_t, std::vector<MediaFrame>> video;
  std::vector<MediaFrame> audio;
  std::set<std::size_t> finished;
};

TranscodeSettings default_settings() {
  TranscodeSettings s;
  s.renditions.push_back({"360p", 640, 360, 400000, 30});
  s.decoder_threads = 2;
  return s;
}

StreamTranscoder::Outputs collect(Collected& c) {
  StreamTranscoder::Outputs o;
  o.publish = [&c](std::size_t i, MediaFrame f) {
    if (f.kind == TrackKind::kVideo) {
      c.video[i].push_back(std::move(f));
    } else {
      EXPECT_EQ(i, 0u) << "audio travels with rendition 0";
      c.audio.push_back(std::move(f));
    }
  };
  o.finish = [&c](std::size_t i) { EXPECT_TRUE(c.finished.insert(i).second) << "finished twice: " << i; };
  return o;
}

std::vector<MediaFrame> load(const std::string& path) {
  if (path.empty()) return {};
  return testing::frames_of(path);
}

void run(StreamTranscoder& t, const std::vector<MediaFrame>& frames) {
  for (const auto& f : frames) t.on_frame(f);
  t.end();
}

// Every output video frame: 640x360 baseline H.264 on a constant grid, with
// a keyframe where the source has one (within an output frame), carrying
// that source keyframe's decode time, and nowhere else but at the start.
// With `every_source_keyframe` false (pictures lost to corruption), each
// rendition keyframe still stands for a source keyframe.
void expect_constant_rate_rendition(const std::vector<MediaFrame>& out, std::int64_t step,
                                    const std::vector<MediaFrame>& source, bool every_source_keyframe = true) {
  ASSERT_FALSE(out.empty());
  EXPECT_TRUE(out.front().keyframe);
  std::map<std::int64_t, std::int64_t> source_keyframes;  // pts -> dts
  for (const auto& f : source) {
    if (f.kind == TrackKind::kVideo && f.keyframe) source_keyframes[f.pts] = f.dts;
  }
  std::size_t expected = 0;
  for (const auto& [pts, dts] : source_keyframes) expected += pts > out.front().pts && pts <= out.back().pts;
  std::size_t keyframes = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const auto& f = out[i];
    ASSERT_TRUE(f.config);
    EXPECT_EQ(f.codec, media::Codec::kH264);
    EXPECT_EQ(f.config->width, 640);
    EXPECT_EQ(f.config->height, 360);
    EXPECT_TRUE(f.config->codec_string.starts_with("avc1.42")) << f.config->codec_string;  // baseline
    EXPECT_EQ(f.pts, f.dts) << "no B-frames in a rendition";
    if (i > 0) {
      EXPECT_EQ(f.pts - out[i - 1].pts, step) << i;
    }
    if (i == 0 || !f.keyframe) continue;
    ++keyframes;
    ASSERT_TRUE(f.source_keyframe.has_value()) << i;
    const auto near = source_keyframes.lower_bound(f.pts - step);
    ASSERT_NE(near, source_keyframes.end()) << i;
    EXPECT_LT(std::llabs(near->first - f.pts), step) << i;
    EXPECT_EQ(f.source_keyframe->dts, near->second) << i;
  }
  if (every_source_keyframe) {
    EXPECT_EQ(keyframes, expected);
  } else {
    EXPECT_LE(keyframes, expected);
  }
}

TEST(StreamTranscoderTest, H264SourceBecomesA360pRenditionWithKeyframesWhereTheSourceHasThem) {
  const auto frames = load(mirror::testing::h264_aac_720p30_ts());
  ASSERT_FALSE(frames.empty());
  Collected c;
  StreamTranscoder t("cam", default_settings(), {}, collect(c));
  run(t, frames);
  const auto& video = c.video[0];
  int source_pictures = 0;
  for (const auto& f : frames) source_pictures += f.kind == TrackKind::kVideo;
  EXPECT_EQ(static_cast<int>(video.size()), source_pictures);  // 30 fps stays 30 fps
  expect_constant_rate_rendition(video, 3000, frames);
  EXPECT_EQ(c.finished, (std::set<std::size_t>{0}));
  const auto st = t.status();
  EXPECT_EQ(st.path, "cpu");
  EXPECT_EQ(st.decode_errors, 0u);
  EXPECT_EQ(st.renditions[0].frames, video.size());
  EXPECT_DOUBLE_EQ(st.renditions[0].frame_rate, 30.0);
}

TEST(StreamTranscoderTest, AudioIsContinuousAacLcStereoInSyncWithVideo) {
  const auto frames = load(mirror::testing::h264_aac_720p30_ts());
  ASSERT_FALSE(frames.empty());
  Collected c;
  StreamTranscoder t("cam", default_settings(), {}, collect(c));
  run(t, frames);
  ASSERT_GT(c.audio.size(), 150u);
  for (std::size_t i = 0; i < c.audio.size(); ++i) {
    const auto& a = c.audio[i];
    ASSERT_TRUE(a.config);
    EXPECT_EQ(a.config->codec_string, "mp4a.40.2");
    EXPECT_EQ(a.config->sample_rate, 48000);
    EXPECT_EQ(a.config->channels, 2);
    EXPECT_EQ(a.config->timescale, 48000u);
    if (i > 0) {
      EXPECT_EQ(a.pts - c.audio[i - 1].pts, 1024) << i;
    }
  }
  // The offset between audio and video is the source's, within a video frame
  // (and the 1024 samples an AAC encoder primes with).
  std::int64_t in_video = INT64_MAX, in_audio = INT64_MAX;
  for (const auto& f : frames) {
    if (f.kind == TrackKind::kVideo) in_video = std::min(in_video, f.pts);
    if (f.kind == TrackKind::kAudio) in_audio = std::min(in_audio, f.pts * 90000 / f.config->timescale);
  }
  const std::int64_t out_video = c.video[0].front().pts;
  const std::int64_t out_audio = c.audio.front().pts * 90000 / 48000;
  EXPECT_LE(std::abs((out_audio - out_video) - (in_audio - in_video)), 3000 + 1920);
}

TEST(StreamTranscoderTest, HevcAtFiftyWithBFramesIsThirtyAndSkipsPicturesNobodyNeeds) {
  const auto frames = load(testing::hevc_bframes_50fps_ts());
  ASSERT_FALSE(frames.empty());
  Collected c;
  StreamTranscoder t("cam", default_settings(), {}, collect(c));
  run(t, frames);
  const auto& video = c.video[0];
  EXPECT_NEAR(static_cast<double>(video.size()), 90.0, 2.0);  // 3 s at 30 fps
  expect_constant_rate_rendition(video, 3000, frames);
  const auto st = t.status();
  EXPECT_EQ(st.decode_errors, 0u);
  // x265's pyramids give two non-reference pictures in five to leave out.
  EXPECT_GE(st.pictures_not_decoded, 50u) << st.pictures_decoded;
  EXPECT_EQ(st.breaks, 0u);
}

TEST(StreamTranscoderTest, NtscRateIsKept) {
  const auto frames = load(testing::h264_bframes_2997_ts());
  ASSERT_FALSE(frames.empty());
  Collected c;
  StreamTranscoder t("cam", default_settings(), {}, collect(c));
  run(t, frames);
  expect_constant_rate_rendition(c.video[0], 3003, frames);
  EXPECT_NEAR(t.status().renditions[0].frame_rate, 29.97, 0.01);
}

TEST(StreamTranscoderTest, SeveralRenditionsShareOneDecoder) {
  const auto frames = load(mirror::testing::h264_aac_720p30_ts());
  ASSERT_FALSE(frames.empty());
  auto settings = default_settings();
  settings.renditions.push_back({"180p", 320, 180, 150000, 15});
  Collected c;
  StreamTranscoder t("cam", settings, {}, collect(c));
  run(t, frames);
  ASSERT_EQ(c.video.size(), 2u);
  EXPECT_EQ(c.video[0].front().config->width, 640);
  const auto& small = c.video[1];
  ASSERT_FALSE(small.empty());
  EXPECT_EQ(small.front().config->width, 320);
  EXPECT_EQ(small.front().config->height, 180);
  for (std::size_t i = 1; i < small.size(); ++i) EXPECT_EQ(small[i].pts - small[i - 1].pts, 6000);
  // Both renditions start their keyframes on the same first picture.
  EXPECT_EQ(c.video[0].front().pts, small.front().pts);
  EXPECT_EQ(t.status().pictures_decoded, static_cast<std::uint64_t>(c.video[0].size()));
  EXPECT_EQ(c.finished, (std::set<std::size_t>{0, 1}));
}

TEST(StreamTranscoderTest, SizeChangeRebuildsEverythingWithADiscontinuity) {
  const auto frames = load(testing::h264_size_change_ts());
  ASSERT_FALSE(frames.empty());
  Collected c;
  StreamTranscoder t("cam", default_settings(), {}, collect(c));
  run(t, frames);
  const auto& video = c.video[0];
  ASSERT_GT(video.size(), 100u);
  int flagged = 0;
  for (const auto& f : video) {
    EXPECT_EQ(f.config->width, 640);
    EXPECT_EQ(f.config->height, 360);
    flagged += f.discontinuity;
  }
  int audio_flagged = 0;
  for (const auto& f : c.audio) audio_flagged += f.discontinuity;
  // The break is flagged once on the rendition (on whichever track comes first).
  EXPECT_EQ(flagged + audio_flagged, 1);
  EXPECT_EQ(t.status().breaks, 1u);
  EXPECT_EQ(t.status().decode_errors, 0u);
}

TEST(StreamTranscoderTest, CorruptSlicesAreCountedAndTheStreamGoesOn) {
  auto frames = load(mirror::testing::h264_aac_720p30_ts());
  ASSERT_FALSE(frames.empty());
  int corrupted = 0;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    auto& f = frames[i];
    if (f.kind != TrackKind::kVideo || f.keyframe || i % 7 != 0 || f.payload.size() < 64) continue;
    // A copy with garbage in the middle of the slice data.
    core::Buffer b = core::BufferPool::global().acquire_owned(f.payload.size());
    std::memcpy(b.data(), f.payload.data(), f.payload.size());
    for (std::size_t k = 24; k < b.size(); k += 5) b.data()[k] ^= 0xa5;
    f.payload = std::move(b).share();
    ++corrupted;
  }
  ASSERT_GT(corrupted, 5);
  Collected c;
  StreamTranscoder t("cam", default_settings(), {}, collect(c));
  run(t, frames);
  EXPECT_GT(t.status().decode_errors, 0u);
  // Concealed or repeated, the rendition keeps its rate.
  EXPECT_GE(c.video[0].size(), 110u);
  expect_constant_rate_rendition(c.video[0], 3000, frames, /*every_source_keyframe=*/false);
}

TEST(StreamTranscoderTest, AudioOnlySourceGivesAnAudioOnlyRendition) {
  const auto frames = load(testing::aac_only_ts());
  ASSERT_FALSE(frames.empty());
  auto settings = default_settings();
  settings.renditions.push_back({"180p", 320, 180, 150000, 15});
  Collected c;
  StreamTranscoder t("radio", settings, {}, collect(c));
  for (const auto& f : frames) t.on_frame(f);
  // After five seconds of audio alone the video renditions are given up.
  EXPECT_TRUE(c.finished.contains(1));
  EXPECT_EQ(t.status().video_state, "absent");
  t.end();
  EXPECT_TRUE(c.video.empty());
  EXPECT_GT(c.audio.size(), 250u);
  // The level meter sees the source: a -20 dBFS sine.
  const auto levels = t.audio_levels();
  ASSERT_TRUE(levels.valid);
  ASSERT_EQ(levels.rms_dbfs.size(), 2u);
  EXPECT_NEAR(levels.rms_dbfs[0], -20.0, 1.0);
  EXPECT_NEAR(levels.peak_dbfs[1], -20.0, 1.0);
}

TEST(StreamTranscoderTest, VideoOnlySourceGivesAVideoOnlyRendition) {
  const auto frames = load(testing::h264_video_only_ts());
  ASSERT_FALSE(frames.empty());
  Collected c;
  StreamTranscoder t("cam", default_settings(), {}, collect(c));
  run(t, frames);
  EXPECT_TRUE(c.audio.empty());
  EXPECT_GE(c.video[0].size(), 85u);
  EXPECT_EQ(t.status().audio_state, "waiting");
}

TEST(StreamTranscoderTest, EndingHalfWayOrNeverIsClean) {
  const auto frames = load(testing::hevc_bframes_50fps_ts());
  ASSERT_FALSE(frames.empty());
  {
    Collected c;
    StreamTranscoder t("cam", default_settings(), {}, collect(c));
    for (std::size_t i = 0; i < frames.size() / 2; ++i) t.on_frame(frames[i]);
    t.end();
    EXPECT_EQ(c.finished, (std::set<std::size_t>{0}));
    EXPECT_FALSE(c.video[0].empty());
  }
  {
    // Destroyed with pictures still inside its decoder and never ended.
    Collected c;
    auto t = std::make_unique<StreamTranscoder>("cam", default_settings(), StreamTranscoder::Placement{},
                                                collect(c));
    for (std::size_t i = 0; i < frames.size() / 3; ++i) t->on_frame(frames[i]);
    t.reset();
  }
}

TEST(StreamTranscoderTest, DroppedInputResumesOnTheNextKeyframe) {
  const auto frames = load(mirror::testing::h264_aac_720p30_ts());
  ASSERT_FALSE(frames.empty());
  Collected c;
  StreamTranscoder t("cam", default_settings(), {}, collect(c));
  bool dropping = false;
  int keyframes = 0;
  for (const auto& f : frames) {
    if (f.kind == TrackKind::kVideo && f.keyframe && ++keyframes == 2) {
      // The second GOP is lost (the transcoder fell behind).
      dropping = true;
      t.on_input_dropped();
    } else if (f.kind == TrackKind::kVideo && f.keyframe) {
      dropping = false;
    }
    if (dropping && f.kind == TrackKind::kVideo) continue;
    t.on_frame(f);
  }
  t.end();
  EXPECT_EQ(t.status().dropped_gops, 1u);
  EXPECT_TRUE(t.status().last_drop.has_value());
  // The hole is filled: the rendition stays constant-rate across it (the
  // lost GOP's keyframe has none standing for it).
  expect_constant_rate_rendition(c.video[0], 3000, frames, /*every_source_keyframe=*/false);
  EXPECT_GT(t.status().renditions[0].duplicated, 20u);
}

TEST(StreamTranscoderTest, SkippedVideoKeepsTheRenditionInStepWithItsAudio) {
  const auto frames = load(mirror::testing::h264_aac_720p30_ts());
  ASSERT_FALSE(frames.empty());
  Collected c;
  StreamTranscoder t("cam", default_settings(), {}, collect(c));
  int keyframes = 0;
  bool skipping = false;
  std::int64_t last_skipped = 0;
  std::size_t out_before_resume = 0;
  for (const auto& f : frames) {
    if (f.kind == TrackKind::kVideo && f.keyframe) {
      ++keyframes;
      if (keyframes == 2) {
        skipping = true;
        t.on_input_dropped();
      } else if (skipping) {
        // Before the next picture is decoded, the skipped GOP's slots are
        // already filled.
        out_before_resume = c.video[0].size();
        skipping = false;
      }
    }
    if (skipping && f.kind == TrackKind::kVideo) {
      t.on_video_skipped(f);
      last_skipped = std::max(last_skipped, f.pts);
      continue;
    }
    t.on_frame(f);
  }
  t.end();
  ASSERT_GT(out_before_resume, 0u);
  EXPECT_GE(c.video[0][out_before_resume - 1].pts, last_skipped - 3000);
  expect_constant_rate_rendition(c.video[0], 3000, frames);
  EXPECT_GE(t.status().renditions[0].duplicated, 28u);
}

TEST(StreamTranscoderTest, ThumbnailIsAJpegOfTheRenditionSize) {
  const auto frames = load(mirror::testing::h264_aac_720p30_ts());
  ASSERT_FALSE(frames.empty());
  Collected c;
  StreamTranscoder t("cam", default_settings(), {}, collect(c));
  std::optional<core::Result<core::SharedBytes>> jpeg;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    t.on_frame(frames[i]);
    if (i == frames.size() / 2) t.thumbnails().request([&](core::Result<core::SharedBytes> r) { jpeg.emplace(r); });
  }
  t.end();
  ASSERT_TRUE(jpeg && *jpeg);
  const auto& bytes = **jpeg;
  ASSERT_GT(bytes.size(), 1000u);
  EXPECT_EQ(bytes.data()[0], 0xff);
  EXPECT_EQ(bytes.data()[1], 0xd8);
  // It decodes, to the rendition's size.
  const AVCodec* codec = avcodec_find_decoder(AV_CODEC_ID_MJPEG);
  av::CodecContextPtr ctx(avcodec_alloc_context3(codec));
  ASSERT_EQ(avcodec_open2(ctx.get(), codec, nullptr), 0);
  auto packet = av::make_packet();
  ASSERT_EQ(av_new_packet(packet.get(), static_cast<int>(bytes.size())), 0);
  std::memcpy(packet->data, bytes.data(), bytes.size());
  ASSERT_EQ(avcodec_send_packet(ctx.get(), packet.get()), 0);
  auto picture = av::make_frame();
  ASSERT_EQ(avcodec_receive_frame(ctx.get(), picture.get()), 0);
  EXPECT_EQ(picture->width, 640);
  EXPECT_EQ(picture->height, 360);
}

TEST(StreamTranscoderTest, UndecodableVideoIsSkippedWithAReason) {
  auto frames = load(mirror::testing::h264_aac_720p30_ts());
  ASSERT_FALSE(frames.empty());
  // Parameter sets a decoder cannot open: an SPS cut short.
  auto broken = std::make_shared<media::CodecConfig>(*frames.front().config);
  for (const auto& f : frames) {
    if (f.kind == TrackKind::kVideo) {
      broken = std::make_shared<media::CodecConfig>(*f.config);
      break;
    }
  }
  broken->sps = {{0x67, 0x64}};
  for (auto& f : frames) {
    if (f.kind == TrackKind::kVideo) f.config = broken;
  }
  auto settings = default_settings();
  settings.renditions.push_back({"180p", 320, 180, 150000, 15});
  Collected c;
  StreamTranscoder t("cam", settings, {}, collect(c));
  run(t, frames);
  const auto st = t.status();
  EXPECT_EQ(st.video_state, "skipped");
  EXPECT_FALSE(st.video_reason.empty());
  EXPECT_TRUE(c.video.empty());
  // Audio still goes out with rendition 0; the others end at once.
  EXPECT_FALSE(c.audio.empty());
  EXPECT_TRUE(c.finished.contains(1));
}

}  // namespace
}  // namespace mirror::transcode
