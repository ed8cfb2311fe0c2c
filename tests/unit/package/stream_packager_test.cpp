#include "package/hls/stream_packager.h"

#include "package/hls/presentation.h"

#include "package_test_util.h"
#include "support/playlist_text.h"

#include <gtest/gtest.h>

#include <map>
#include <sstream>

namespace mirror::package::hls {
namespace {

using testing::audio_config;
using testing::audio_frame;
using testing::video_config;
using testing::video_frame;

constexpr std::int64_t kFirstMsn = 1000;

// A synthetic live source: 30 fps video with a keyframe every `gop` frames,
// 48 kHz AAC, interleaved in time order as a TS demuxer delivers them.
class Source {
 public:
  explicit Source(StreamPackager& p, int gop = 30) : p_(p), gop_(gop) {}

  void run_for(double seconds) {
    const std::int64_t until90k = now90k_ + static_cast<std::int64_t>(seconds * 90000);
    while (now90k_ < until90k) step();
  }
  // Advances to the next frame of either track.
  void step() {
    const std::int64_t audio90k = audio_pts_ * 90000 / 48000;
    if (video_dts_ <= audio90k) {
      const bool key = frame_index_ % gop_ == 0;
      p_.on_frame(video_frame(video_, video_dts_ + base_, key, key ? 5000 : 800));
      ++frame_index_;
      video_dts_ += 3000;
      now90k_ = video_dts_;
    } else {
      const double at = static_cast<double>(audio_pts_) / 48000;
      if (at < mute_from_ || at >= mute_until_) p_.on_frame(audio_frame(audio_, audio_pts_ + base_ * 48000 / 90000));
      audio_pts_ += 1024;
      now90k_ = std::max(now90k_, audio_pts_ * 90000 / 48000);
    }
    p_.flush();
  }
  void set_video_config(media::CodecConfigPtr c) { video_ = std::move(c); }
  // The audio encoder sends nothing from `from` to `until` (seconds).
  void mute_audio(double from, double until) {
    mute_from_ = from;
    mute_until_ = until;
  }

 private:
  StreamPackager& p_;
  int gop_;
  media::CodecConfigPtr video_ = video_config();
  media::CodecConfigPtr audio_ = audio_config();
  std::int64_t base_ = 900000;  // the source clock does not start at zero
  std::int64_t video_dts_ = 0;
  std::int64_t audio_pts_ = 0;
  std::int64_t frame_index_ = 0;
  std::int64_t now90k_ = 0;
  double mute_from_ = 0;
  double mute_until_ = 0;
};

PackagerSettings settings(int window = 20) {
  PackagerSettings s;
  s.part_duration = std::chrono::milliseconds{100};
  s.segment_length = std::chrono::milliseconds{500};
  s.playlist_segments = window;
  s.first_msn = kFirstMsn;
  return s;
}

std::vector<std::string> lines(const core::SharedBytes& text) {
  std::vector<std::string> out;
  std::istringstream in{std::string(text.view())};
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::vector<double> durations(const std::vector<std::string>& playlist, const std::string& tag) {
  return mirror::testing::tag_durations(playlist, tag);
}

std::string attribute(const std::vector<std::string>& playlist, const std::string& tag,
                      const std::string& name) {
  std::string text;
  for (const auto& l : playlist) text += l + "\n";
  return mirror::testing::tag_attribute(text, tag, name);
}

bool contains(const std::vector<std::string>& playlist, const std::string& needle) {
  for (const auto& l : playlist) {
    if (l.find(needle) != std::string::npos) return true;
  }
  return false;
}

// With the DVR recording, segments older than the playlist's parts leave
// memory once the cache confirms them (the cache serves them) and are still
// listed; every completed segment reaches the observer with its bytes first.
TEST(StreamPackagerTest, SegmentsOlderThanThePartsLeaveMemoryButStayListed) {
  auto s = settings();
  s.spill_old_segments = true;
  std::map<std::int64_t, std::size_t> recorded;  // outlives the packager (its end completes a segment)
  StreamPackager p("cam", s);
  p.video_store()->set_segment_observer([&](const CompletedSegment& done) {
    std::size_t bytes = 0;
    for (const auto& b : done.bytes) bytes += b.size();
    recorded[done.msn] = bytes;
    EXPECT_FALSE(done.init.empty());
    p.video_store()->confirm_cached(done.msn);  // as the cache's writer does, from its thread
  });
  Source src(p);
  src.run_for(20.0);
  const auto& store = *p.video_store();
  const std::int64_t last = store.last_segment_msn();
  ASSERT_GE(last, kFirstMsn + 15);
  // Target duration 2 s: parts are listed for the last 6 s.
  EXPECT_TRUE(store.segment(last).has_value());
  EXPECT_FALSE(store.segment(kFirstMsn + 2).has_value()) << "spilled";
  EXPECT_TRUE(store.in_window(kFirstMsn + 2)) << "still listed";
  EXPECT_FALSE(store.in_window(last + 5));
  std::vector<core::SharedBytes> chunks;
  EXPECT_EQ(p.video_store()->part({kFirstMsn + 2, 0}, &chunks, nullptr), PartStore::PartLookup::kNotFound);
  const auto playlist = lines(p.video_store()->playlist(false));
  EXPECT_TRUE(contains(playlist, segment_uri(kFirstMsn + 2)));
  // Its parts are byte ranges of the recorded segment.
  std::size_t covered = 0;
  int parts = 0;
  for (auto r = store.spilled_part({kFirstMsn + 2, 0}); r; r = store.spilled_part({kFirstMsn + 2, ++parts})) {
    EXPECT_EQ(r->offset, covered);
    covered += r->length;
  }
  EXPECT_GT(parts, 1);
  EXPECT_EQ(covered, recorded.at(kFirstMsn + 2));
  EXPECT_FALSE(store.spilled_part({last, 0})) << "in memory";
  // At most about three target durations plus the open segment are held.
  std::size_t kept = 0;
  for (std::int64_t msn = kFirstMsn; msn <= last; ++msn) {
    if (store.segment(msn)) kept += recorded.at(msn);
  }
  EXPECT_GE(store.bytes_in_memory(), kept);
  std::size_t all = 0;
  for (const auto& [msn, bytes] : recorded) all += bytes;
  EXPECT_LT(store.bytes_in_memory(), all / 2) << "most of the window is in the cache, not here";
  EXPECT_EQ(recorded.size(), static_cast<std::size_t>(last - kFirstMsn + 1)) << "every segment was recorded";
}

// A segment the cache did not confirm (a full disk, a failing folder) keeps
// its bytes in memory for as long as it is listed; confirmed ones leave.
TEST(StreamPackagerTest, SegmentsTheCacheDidNotConfirmStayInMemory) {
  auto s = settings();
  s.spill_old_segments = true;
  std::vector<std::int64_t> completed;  // outlives the packager (its end completes a segment)
  StreamPackager p("cam", s);
  p.video_store()->set_segment_observer([&completed, store = p.video_store().get()](const CompletedSegment& done) {
    completed.push_back(done.msn);
    // The cache takes every segment but the 3rd and 4th.
    if (done.msn != kFirstMsn + 2 && done.msn != kFirstMsn + 3) store->confirm_cached(done.msn);
  });
  Source src(p);
  src.run_for(12.0);
  const auto& store = *p.video_store();
  const std::int64_t last = store.last_segment_msn();
  ASSERT_GE(last, kFirstMsn + 10);
  ASSERT_TRUE(store.in_window(kFirstMsn + 2));
  EXPECT_TRUE(store.segment(kFirstMsn + 2).has_value()) << "not in the cache: kept";
  EXPECT_TRUE(store.segment(kFirstMsn + 3).has_value()) << "not in the cache: kept";
  EXPECT_FALSE(store.spilled_part({kFirstMsn + 2, 0}));
  std::vector<core::SharedBytes> chunks;
  EXPECT_EQ(p.video_store()->part({kFirstMsn + 2, 0}, &chunks, nullptr), PartStore::PartLookup::kComplete);
  EXPECT_FALSE(store.segment(kFirstMsn + 1).has_value()) << "in the cache: spilled";
  EXPECT_FALSE(store.segment(kFirstMsn + 4).has_value()) << "in the cache: spilled";
  EXPECT_TRUE(store.segment(last).has_value());
}

TEST(StreamPackagerTest, CutsOneSecondGopsIntoTenPartsOfThreeFrames) {
  StreamPackager p("cam", settings());
  Source src(p);
  src.run_for(4.5);
  ASSERT_TRUE(p.ready());
  auto pl = lines(p.store(kVideoRendition)->playlist(false));
  // Fixed from the configuration: max_segment_duration, 4 x 500 ms.
  EXPECT_TRUE(contains(pl, "#EXT-X-TARGETDURATION:2"));
  // Three frames and a millisecond for timestamp jitter.
  EXPECT_TRUE(contains(pl, "#EXT-X-PART-INF:PART-TARGET=0.10100"));
  EXPECT_TRUE(contains(pl, "PART-HOLD-BACK=0.30300"));
  EXPECT_TRUE(contains(pl, "CAN-SKIP-UNTIL=12.00000"));
  EXPECT_TRUE(contains(pl, "#EXT-X-MEDIA-SEQUENCE:1000"));
  EXPECT_TRUE(contains(pl, "#EXT-X-MAP:URI=\"init-1000.mp4\""));
  const auto extinf = durations(pl, "#EXTINF");
  EXPECT_GE(extinf.size(), 4u);
  for (double d : extinf) EXPECT_DOUBLE_EQ(d, 1.0);
  for (double d : durations(pl, "#EXT-X-PART")) EXPECT_NEAR(d, 0.1, 1e-9);
  // Every segment's first part starts on its keyframe.
  EXPECT_TRUE(contains(pl, "URI=\"part-1003.0.m4s\",INDEPENDENT=YES"));
  EXPECT_FALSE(contains(pl, "part-1003.1.m4s\",INDEPENDENT"));
}

TEST(StreamPackagerTest, PublishesAPartWithItsLastFrameAndHintsTheNextOne) {
  StreamPackager p("cam", settings());
  Source src(p);
  src.run_for(2.0);
  auto store = p.store(kVideoRendition);
  for (int i = 0; i < 40; ++i) {
    const auto before = lines(store->playlist(false));
    const std::string hint = attribute(before, "#EXT-X-PRELOAD-HINT", "URI");
    ASSERT_FALSE(hint.empty());
    const auto last = store->last_part();
    // Run until the next part appears: it must be the hinted one.
    while (store->last_part() == last) src.step();
    const auto after = lines(store->playlist(false));
    std::string newest;
    for (const auto& l : after) {
      if (l.rfind("#EXT-X-PART:", 0) == 0) newest = l;
    }
    EXPECT_NE(newest.find("URI=\"" + hint + "\""), std::string::npos) << newest << " vs " << hint;
  }
}

TEST(StreamPackagerTest, AudioFollowsTheVideoCuts) {
  StreamPackager p("cam", settings());
  Source src(p);
  src.run_for(5.2);
  auto video = lines(p.store(kVideoRendition)->playlist(false));
  auto audio = lines(p.store(kAudioRendition)->playlist(false));
  ASSERT_EQ(durations(video, "#EXTINF").size(), durations(audio, "#EXTINF").size());
  const double part_target = std::stod(attribute(audio, "#EXT-X-PART-INF", "PART-TARGET"));
  EXPECT_NEAR(part_target, 0.10667, 1e-5);
  for (double d : durations(audio, "#EXT-X-PART")) EXPECT_LE(d, part_target);
  // Audio segment n covers the same time as video segment n (within a frame).
  const auto video_extinf = durations(video, "#EXTINF");
  const auto audio_extinf = durations(audio, "#EXTINF");
  for (std::size_t i = 0; i < audio_extinf.size(); ++i) {
    EXPECT_NEAR(audio_extinf[i], video_extinf[i], 0.0214) << i;
  }
  // Each reports the other.
  EXPECT_TRUE(contains(video, "#EXT-X-RENDITION-REPORT:URI=\"../audio/playlist.m3u8\""));
  EXPECT_TRUE(contains(audio, "#EXT-X-RENDITION-REPORT:URI=\"../source/playlist.m3u8\""));
  Presentation presentation("cam");
  presentation.add(std::shared_ptr<StreamPackager>(&p, [](StreamPackager*) {}), VariantRole::kSource);
  const std::string mv = presentation.multivariant_playlist(VariantScope::kAll);
  EXPECT_NE(mv.find("CODECS=\"avc1.64001f,mp4a.40.2\""), std::string::npos) << mv;
  EXPECT_NE(mv.find("RESOLUTION=1280x720"), std::string::npos);
  EXPECT_NE(mv.find("AUDIO=\"audio\""), std::string::npos);
  EXPECT_NE(mv.find("URI=\"audio/playlist.m3u8\""), std::string::npos);
}

TEST(StreamPackagerTest, AnAudioGapIsNoBreakAndNoPartOutgrowsItsTarget) {
  // The audio encoder falls silent for 2.5 s while the video goes on.
  StreamPackager p("cam", settings());
  Source src(p);
  src.mute_audio(1.5, 4.0);
  src.run_for(6.2);
  EXPECT_EQ(p.timeline_jumps(), 0u);
  auto video = lines(p.store(kVideoRendition)->playlist(false));
  auto audio = lines(p.store(kAudioRendition)->playlist(false));
  std::string text;
  for (const auto& l : audio) text += l + "\n";
  EXPECT_EQ(std::count(video.begin(), video.end(), "#EXT-X-DISCONTINUITY"), 0);
  EXPECT_EQ(std::count(audio.begin(), audio.end(), "#EXT-X-DISCONTINUITY"), 0) << text;
  // 2.5 s of silence at 48 kHz, 1024 samples a frame.
  EXPECT_NEAR(static_cast<double>(p.silent_audio_frames()), 2.5 * 48000 / 1024, 2);
  const double part_target = std::stod(attribute(audio, "#EXT-X-PART-INF", "PART-TARGET"));
  for (double d : durations(audio, "#EXT-X-PART")) EXPECT_LE(d, part_target) << text;
  for (double d : durations(video, "#EXT-X-PART")) EXPECT_LE(d, part_target);
  // After the gap, audio segment n again covers video segment n's time.
  const auto video_extinf = durations(video, "#EXTINF");
  const auto audio_extinf = durations(audio, "#EXTINF");
  ASSERT_GE(video_extinf.size(), 5u);
  ASSERT_GE(audio_extinf.size(), 2u) << text;
  ASSERT_EQ(audio_extinf.size(), video_extinf.size()) << text;
  for (std::size_t i = 0; i < audio_extinf.size(); ++i) EXPECT_NEAR(audio_extinf[i], video_extinf[i], 0.0214) << i;
  EXPECT_EQ(p.store(kAudioRendition)->last_segment_msn(), p.store(kVideoRendition)->last_segment_msn()) << text;
}

TEST(StreamPackagerTest, ATranscodedRenditionCutsWhereTheSourceCuts) {
  // Source keyframes every 0.48 s (1 s segments: every other one starts a
  // segment, measured on the source's times); the rendition's keyframes
  // stand for them at output times up to a frame later, and it has keyframes
  // of its own in between, which only start parts.
  StreamPackager source("cam", settings());
  StreamPackager rendition("cam", settings());
  std::vector<std::int64_t> source_starts;
  std::vector<std::int64_t> rendition_starts;
  const auto video = video_config();
  for (int i = 0; i < 150; ++i) {
    const std::int64_t dts = 900000 + i * 3000;
    const bool key = i % 16 == 0 || i == 149;  // 0.533 s GOPs
    source.on_frame(video_frame(video, dts, key, key ? 5000 : 800));
    source.flush();
    auto out = video_frame(video, dts + (i % 3) * 1000, key || i % 32 == 30, 800);
    if (key) out.source_keyframe = media::MediaFrame::SourceKeyframe{dts, 3000};
    rendition.on_frame(out);
    rendition.flush();
  }
  const auto a = lines(source.store(kVideoRendition)->playlist(false));
  const auto b = lines(rendition.store(kVideoRendition)->playlist(false));
  const auto da = durations(a, "#EXTINF");
  const auto db = durations(b, "#EXTINF");
  ASSERT_GE(da.size(), 3u);
  ASSERT_EQ(da.size(), db.size());
  for (std::size_t i = 0; i < da.size(); ++i) EXPECT_NEAR(da[i], db[i], 0.034) << i;
  EXPECT_EQ(source.store(kVideoRendition)->last_segment_msn(), rendition.store(kVideoRendition)->last_segment_msn());
}

TEST(StreamPackagerTest, ATranscodedRenditionStartsEverySegmentIndependentWhenTheSourceLosesItsKeyframes) {
  // The source has a keyframe at 0 and the next at 5 s (a lost IDR): its
  // segments are cut without one at max_segment_duration (2 s). The
  // encoder makes a keyframe of its own that often, and the rendition starts
  // its segments there instead.
  StreamPackager source("cam", settings());
  StreamPackager rendition("cam", settings());
  const auto video = video_config();
  for (int i = 0; i < 180; ++i) {
    const std::int64_t dts = 900000 + i * 3000;
    const bool key = i == 0 || i == 150;
    source.on_frame(video_frame(video, dts, key, key ? 5000 : 800));
    source.flush();
    auto out = video_frame(video, dts, key || i == 60 || i == 120, 800);
    if (key) out.source_keyframe = media::MediaFrame::SourceKeyframe{dts, 3000};
    rendition.on_frame(out);
    rendition.flush();
  }
  EXPECT_GT(source.forced_cuts(), 0u);
  EXPECT_EQ(rendition.forced_cuts(), 0u);
  int first_parts = 0;
  for (const auto& line : lines(rendition.store(kVideoRendition)->playlist(false))) {
    if (line.rfind("#EXT-X-PART:", 0) != 0 || line.find(".0.m4s\"") == std::string::npos) continue;
    ++first_parts;
    EXPECT_NE(line.find("INDEPENDENT=YES"), std::string::npos) << line;
  }
  EXPECT_GE(first_parts, 3);
}

TEST(StreamPackagerTest, BlockingRequestIsReleasedWhenItsPartLands) {
  StreamPackager p("cam", settings());
  Source src(p);
  src.run_for(1.5);
  auto store = p.store(kVideoRendition);
  const auto last = *store->last_part();
  PlaylistRequest want{last.msn, last.part + 1, false};
  if (last.part == 9) want = {last.msn + 1, 0, false};
  int calls = 0;
  std::string answer;
  store->wait(want, PartStore::Clock::now() + std::chrono::seconds(5),
              [&](WaitOutcome outcome, core::SharedBytes text) {
                ++calls;
                EXPECT_EQ(outcome, WaitOutcome::kReady);
                answer = std::string(text.view());
              });
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(store->waiter_count(), 1u);
  while (calls == 0) src.step();
  EXPECT_EQ(store->waiter_count(), 0u);
  EXPECT_NE(answer.find(part_uri({*want.msn, *want.part})), std::string::npos);
}

TEST(StreamPackagerTest, RejectsMsnMoreThanTwoAhead) {
  StreamPackager p("cam", settings());
  Source src(p);
  src.run_for(2.5);
  auto store = p.store(kVideoRendition);
  const std::int64_t last = store->last_segment_msn();
  EXPECT_FALSE(store->check_request({last + 2, std::nullopt, false}));
  EXPECT_TRUE(store->check_request({last + 3, std::nullopt, false}));
  EXPECT_TRUE(store->check_request({std::nullopt, 1, false}));
}

TEST(StreamPackagerTest, WaitersTimeOutAndEndedStreamsAnswerWithTheFinalPlaylist) {
  StreamPackager p("cam", settings());
  Source src(p);
  src.run_for(2.5);
  auto store = p.store(kVideoRendition);
  const std::int64_t last = store->last_segment_msn();
  ASSERT_GE(last, kFirstMsn);
  std::vector<WaitOutcome> outcomes;
  std::string final_text;
  store->wait({last + 2, std::nullopt, false}, PartStore::Clock::now() - std::chrono::seconds(1),
              [&](WaitOutcome o, core::SharedBytes) { outcomes.push_back(o); });
  store->wait({last + 2, 0, false}, PartStore::Clock::now() + std::chrono::seconds(60),
              [&](WaitOutcome o, core::SharedBytes t) {
                outcomes.push_back(o);
                final_text = std::string(t.view());
              });
  store->expire(PartStore::Clock::now());
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes[0], WaitOutcome::kTimeout);
  p.end();
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_EQ(outcomes[1], WaitOutcome::kEnded);
  EXPECT_NE(final_text.find("#EXT-X-ENDLIST"), std::string::npos);
  EXPECT_EQ(final_text.find("#EXT-X-PRELOAD-HINT"), std::string::npos);
}

TEST(StreamPackagerTest, DeltaPlaylistSkipsOldSegmentsAndExpandsToTheFullOne) {
  StreamPackager p("cam", settings());
  Source src(p);
  src.run_for(20.2);  // CAN-SKIP-UNTIL is 12 s
  auto store = p.store(kVideoRendition);
  const auto full = lines(store->playlist(false));
  const auto delta = lines(store->playlist(true));
  const std::string skipped = attribute(delta, "#EXT-X-SKIP", "SKIPPED-SEGMENTS");
  ASSERT_FALSE(skipped.empty());
  const int n = std::stoi(skipped);
  EXPECT_GE(n, 5);
  EXPECT_TRUE(contains(delta, "#EXT-X-VERSION:9"));
  // Replace the skip tag by the first n segments of the full playlist.
  std::vector<std::string> expanded;
  std::vector<std::string> full_media;
  bool in_media = false;
  for (const auto& l : full) {
    if (l.rfind("#EXT-X-MAP", 0) == 0) in_media = true;
    if (in_media) full_media.push_back(l);
  }
  std::vector<std::string> skipped_lines;
  int seen = 0;
  for (const auto& l : full_media) {
    if (seen == n) break;
    skipped_lines.push_back(l);
    if (l.rfind("seg-", 0) == 0) ++seen;
  }
  for (const auto& l : delta) {
    if (l.rfind("#EXT-X-SKIP", 0) == 0) {
      expanded.insert(expanded.end(), skipped_lines.begin(), skipped_lines.end());
    } else if (l.rfind("#EXT-X-VERSION", 0) == 0) {
      expanded.push_back("#EXT-X-VERSION:6");
    } else if (l.rfind("#EXT-X-MAP", 0) == 0 && !expanded.empty() &&
               std::find(expanded.begin(), expanded.end(), l) != expanded.end()) {
      continue;  // the delta repeats the map after the skipped segments
    } else {
      expanded.push_back(l);
    }
  }
  EXPECT_EQ(expanded, full);
}

TEST(StreamPackagerTest, WindowKeepsPlaylistSegmentsAndForgetsOlderOnes) {
  StreamPackager p("cam", settings(3));
  Source src(p);
  src.run_for(6.5);
  auto store = p.store(kVideoRendition);
  const auto pl = lines(store->playlist(false));
  EXPECT_EQ(durations(pl, "#EXTINF").size(), 3u);
  EXPECT_FALSE(store->segment(kFirstMsn));
  EXPECT_TRUE(store->segment(store->last_segment_msn()));
  std::vector<core::SharedBytes> bytes;
  EXPECT_EQ(store->part({kFirstMsn, 0}, &bytes, {}), PartStore::PartLookup::kNotFound);
}

TEST(StreamPackagerTest, SegmentBytesAreTheInitPlusTheirPartsInOrder) {
  StreamPackager p("cam", settings());
  Source src(p);
  src.run_for(3.5);
  auto store = p.store(kVideoRendition);
  const std::int64_t msn = store->last_segment_msn();
  ASSERT_GT(msn, kFirstMsn);  // a one-GOP segment
  auto seg = store->segment(msn);
  ASSERT_TRUE(seg);
  std::string parts;
  for (int i = 0; i < 10; ++i) {
    std::vector<core::SharedBytes> bytes;
    ASSERT_EQ(store->part({msn, i}, &bytes, {}), PartStore::PartLookup::kComplete);
    parts += testing::joined(bytes);
  }
  EXPECT_EQ(testing::joined(*seg), parts);
  auto top = testing::boxes(parts, 0, parts.size());
  ASSERT_TRUE(top);
  // One moof + mdat per frame: 30 frames.
  EXPECT_EQ(top->size(), 60u);
  EXPECT_EQ(top->front().type, "moof");
}

TEST(StreamPackagerTest, StreamsThePartBeingWritten) {
  StreamPackager p("cam", settings());
  Source src(p);
  src.run_for(2.0);
  auto store = p.store(kVideoRendition);
  // Just after a part is published, the hint names one not begun yet.
  const auto last = store->last_part();
  while (store->last_part() == last) src.step();
  const std::string hint = attribute(lines(store->playlist(false)), "#EXT-X-PRELOAD-HINT", "URI");
  const auto parsed = mirror::testing::parse_part_uri(hint);
  ASSERT_TRUE(parsed) << hint;
  const PartPosition pos{parsed->first, parsed->second};
  std::string streamed;
  int chunk_calls = 0;
  bool done = false;
  std::vector<core::SharedBytes> unused;
  ASSERT_EQ(store->part(pos, &unused,
                        [&](const std::vector<core::SharedBytes>& chunks, bool d, bool gone) {
                          EXPECT_FALSE(gone);
                          if (!chunks.empty()) ++chunk_calls;
                          streamed += testing::joined(chunks);
                          done = done || d;
                        }),
            PartStore::PartLookup::kStreaming);
  while (!done) src.step();
  EXPECT_EQ(chunk_calls, 3);  // one chunk per video frame
  std::vector<core::SharedBytes> whole;
  ASSERT_EQ(store->part(pos, &whole, {}), PartStore::PartLookup::kComplete);
  EXPECT_EQ(testing::joined(whole), streamed);
}

TEST(StreamPackagerTest, ConfigurationChangeStartsANewInitAfterADiscontinuity) {
  StreamPackager p("cam", settings());
  Source src(p);
  src.run_for(2.5);
  auto other = std::make_shared<media::CodecConfig>(*video_config());
  other->pps = {{0x68, 0xee, 0x3c, 0x80}};
  src.set_video_config(other);
  src.run_for(2.5);
  const auto video = lines(p.store(kVideoRendition)->playlist(false));
  const auto audio = lines(p.store(kAudioRendition)->playlist(false));
  EXPECT_TRUE(contains(video, "#EXT-X-DISCONTINUITY"));
  EXPECT_TRUE(contains(video, "#EXT-X-MAP:URI=\"init-1001.mp4\""));
  EXPECT_TRUE(p.store(kVideoRendition)->init_segment(1001).has_value());
  // Players match audio to video by discontinuity: audio gets one too.
  EXPECT_TRUE(contains(audio, "#EXT-X-DISCONTINUITY"));
}

TEST(StreamPackagerTest, IngestDiscontinuityStartsANewInitInBothRenditions) {
  StreamPackager p("cam", settings());
  Source src(p);
  src.run_for(2.5);
  // The publisher came back: its next frame (a keyframe) carries the flag.
  auto resumed = video_frame(video_config(), 10'000'000, true, 5000);
  resumed.discontinuity = true;
  p.on_frame(resumed);
  for (int i = 1; i < 80; ++i) {
    p.on_frame(video_frame(video_config(), 10'000'000 + i * 3000, i % 30 == 0));
    p.on_frame(audio_frame(audio_config(), (std::int64_t{10'000'000} + i * 3000) * 48000 / 90000));
    p.flush();
  }
  for (const char* r : {kVideoRendition, kAudioRendition}) {
    const auto pl = lines(p.store(r)->playlist(false));
    EXPECT_TRUE(contains(pl, "#EXT-X-DISCONTINUITY")) << r;
    EXPECT_TRUE(contains(pl, "#EXT-X-MAP:URI=\"init-1001.mp4\"")) << r;
  }
}

TEST(StreamPackagerTest, DropsVideoBeforeTheFirstKeyframe) {
  StreamPackager p("cam", settings());
  auto config = video_config();
  for (int i = 1; i < 10; ++i) p.on_frame(video_frame(config, i * 3000, false));
  // A frame is placed when the next one arrives: eight so far, the ninth at the end.
  EXPECT_EQ(p.skipped_frames(), 8u);
  p.end();
  EXPECT_EQ(p.skipped_frames(), 9u);
  EXPECT_FALSE(p.ready());
  Presentation presentation("cam");
  presentation.add(std::shared_ptr<StreamPackager>(&p, [](StreamPackager*) {}), VariantRole::kSource);
  EXPECT_TRUE(presentation.multivariant_playlist(VariantScope::kAll).empty());
}

}  // namespace
}  // namespace mirror::package::hls

namespace mirror::package::hls {
namespace {

std::vector<std::string> report_lines(const core::SharedBytes& playlist) {
  std::vector<std::string> out;
  std::istringstream in{std::string(playlist.view())};
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("#EXT-X-RENDITION-REPORT")) out.push_back(line);
  }
  return out;
}

// The delta update of a playlist version is rendered when first asked for,
// possibly after other renditions moved on: it must still report what the
// full playlist of the same version reports.
TEST(StreamPackagerReportsTest, DeltaUpdateReportsWhatItsFullPlaylistReports) {
  PackagerSettings settings;
  settings.first_msn = 0;
  StreamPackager packager("reports", settings);
  auto video = testing::video_config();
  auto audio = testing::audio_config();
  std::int64_t audio_pts = 0;
  auto audio_until = [&](std::int64_t video_pts) {
    while (audio_pts * 90000 / 48000 < video_pts) {
      packager.on_frame(testing::audio_frame(audio, audio_pts));
      audio_pts += 1024;
    }
  };
  for (int i = 0; i < 300; ++i) {
    packager.on_frame(testing::video_frame(video, i * 3000, i % 30 == 0, 2000));
    audio_until((i + 1) * 3000);
    packager.flush();
  }
  auto store = packager.store(kVideoRendition);
  const auto full = report_lines(store->playlist(false));
  ASSERT_FALSE(full.empty());
  // Only the audio moves on: the video's playlist version stays the same.
  audio_until(310 * 3000);
  packager.flush();
  EXPECT_EQ(report_lines(store->playlist(true)), full);
  EXPECT_EQ(report_lines(store->playlist(false)), full);
}

}  // namespace
}  // namespace mirror::package::hls
