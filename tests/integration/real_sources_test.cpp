// Sources as broadcasters send them, not only the easy ones, through SRT into
// the real binary and checked with the project's LL-HLS checker: a camera
// with intra refresh and no IDR after the first, and a file looped with
// `-stream_loop -1 -c copy` (the decode times jump at every seam).
#include "mirror_fixture.h"
#include "support/fixtures.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <ostream>
#include <set>
#include <sstream>

namespace mirror::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// x264 with intra refresh: one IDR, then a refresh wave every 30 frames
// announced by a recovery point SEI (recovery_frame_cnt above 0).
std::string intra_refresh_ts() {
  return fixture("h264_intra_refresh_360p30.ts",
                 "-f lavfi -i testsrc2=size=640x360:rate=30 -f lavfi "
                 "-i sine=frequency=440:sample_rate=48000 -t 12 -c:v libx264 -preset veryfast "
                 "-x264-params keyint=30:intra-refresh=1 -pix_fmt yuv420p -threads 1 -c:a aac "
                 "-ac 2 -b:a 96k -f mpegts");
}

// Four seconds of H.264 High with 3 B-frames and b-pyramid, 25 fps, GOP 50:
// looped, its seams fall inside a GOP and its decode times jump there.
std::string bframes_video_only_ts() {
  return fixture("h264_bframes_360p25_video.ts",
                 "-f lavfi -i testsrc2=size=640x360:rate=25 -t 4 -c:v libx264 -preset veryfast "
                 "-profile:v high -bf 3 -b_strategy 0 -x264-params b-pyramid=normal -g 50 "
                 "-pix_fmt yuv420p -threads 1 -f mpegts");
}

class RealSources : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists("/usr/bin/ffmpeg") || node_binary().empty()) {
      GTEST_SKIP() << "ffmpeg or node not installed";
    }
    mirror_ = std::make_unique<MirrorInstance>(
        "", std::map<std::string, std::string>{{"MIRROR_TRANSCODING_ENABLED", "false"}});
    ASSERT_TRUE(mirror_->wait_ready()) << mirror_->process().stderr_text();
  }
  void TearDown() override {
    if (sender_) sender_->signal(SIGKILL);
  }

  std::string base() const { return "http://127.0.0.1:" + std::to_string(mirror_->ports().http); }

  void publish(const std::string& name, std::vector<std::string> input_args) {
    std::vector<std::string> argv = {"/usr/bin/ffmpeg", "-hide_banner", "-loglevel", "error"};
    argv.insert(argv.end(), input_args.begin(), input_args.end());
    for (const char* a : {"-c", "copy", "-f", "mpegts"}) argv.emplace_back(a);
    argv.push_back("srt://127.0.0.1:" + std::to_string(mirror_->ports().srt) +
                   "?mode=caller&pkt_size=1316&streamid=" + name);
    sender_ = std::make_unique<Process>(argv);
    ASSERT_TRUE(eventually(
        [&] {
          return http_get(mirror_->ports().http, "/streams/" + name + "/index.m3u8")
                     .status == 200;
        },
        20s))
        << mirror_->process().stderr_text();
  }

  // The checker's verdict on the stream, as JSON.
  nlohmann::json check(const std::string& name, int seconds) {
    auto r = run({node_binary(), source_dir() + "/tests/hls/llhls_check.mjs", "--url",
                  base() + "/streams/" + name + "/index.m3u8", "--seconds", std::to_string(seconds),
                  "--json"},
                 {}, {}, std::chrono::seconds(seconds + 60));
    auto parsed = nlohmann::json::parse(r.out, nullptr, false);
    EXPECT_FALSE(parsed.is_discarded()) << r.out << r.err;
    return parsed;
  }

  // Every complete segment in the playlist of `rendition`, each decoded on
  // its own from its start (init segment + segment) by ffmpeg with -xerror:
  // a segment that needs anything before it fails. Returns the failures.
  // With `strict` false, decoding errors are tolerated as long as ffmpeg
  // gets through each segment (a source without random-access pictures).
  std::vector<std::string> undecodable_segments(const std::string& name, const std::string& rendition,
                                                bool strict = true) {
    std::vector<std::string> failures;
    const std::string base_path = "/streams/" + name + "/" + rendition + "/";
    const auto playlist = http_get(mirror_->ports().http, base_path + "playlist.m3u8").body;
    std::istringstream in(playlist);
    std::string init;
    std::vector<std::string> segments;
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("#EXT-X-MAP:URI=\"", 0) == 0) init = line.substr(16, line.find('"', 16) - 16);
      if (line.rfind("seg-", 0) == 0) segments.push_back(line);
    }
    if (init.empty() || segments.empty()) return {"no segments in " + playlist};
    const auto init_bytes = http_get(mirror_->ports().http, base_path + init).body;
    const std::string dir = make_temp_dir("mirror-seg");
    for (const auto& seg : segments) {
      const std::string path = dir + "/" + seg + ".mp4";
      write_file(path, init_bytes + http_get(mirror_->ports().http, base_path + seg).body);
      std::vector<std::string> argv = {"/usr/bin/ffmpeg", "-hide_banner", "-v", "error"};
      if (strict) argv.push_back("-xerror");
      argv.insert(argv.end(), {"-i", path, "-f", "null", "-"});
      auto r = run(argv, {}, {}, 60s);
      if (r.status != 0 || (strict && !r.err.empty())) failures.push_back(seg + ": " + r.err);
    }
    return failures;
  }

  std::unique_ptr<MirrorInstance> mirror_;
  std::unique_ptr<Process> sender_;
};

TEST_F(RealSources, IntraRefreshWithoutIdrPassesTheChecker) {
  const auto file = intra_refresh_ts();
  ASSERT_FALSE(file.empty());
  // Joined mid-stream: the IDR at the file's start is long past once the
  // checker starts, so every segment it sees starts on a recovery point.
  publish("refresh", {"-re", "-ss", "1", "-i", file});
  const auto verdict = check("refresh", 6);
  EXPECT_TRUE(verdict.value("ok", false)) << verdict.dump(1);
  // Gradual decoding refresh: a decoder joining at a recovery point misses
  // the pictures the refresh wave still refers to (ffmpeg says "mmco: unref
  // short failure") and is clean after the refresh period. Each segment must
  // still decode from its start.
  for (const auto& failure : undecodable_segments("refresh", "source", false)) ADD_FAILURE() << failure;
  EXPECT_GT(verdict["stats"].value("segmentsSeen", 0), 4);
}

TEST_F(RealSources, LoopedFileKeepsThePartAndSegmentRules) {
  const auto file = bframes_video_only_ts();
  ASSERT_FALSE(file.empty());
  publish("loop", {"-re", "-stream_loop", "-1", "-i", file});
  const auto verdict = check("loop", 12);  // three seams
  // Every rule holds except what the source itself breaks at a seam (see
  // docs/PACKAGING.md): its decode times leave a hole there, which the next
  // fragment's tfdt carries (the media timeline and the date line show it),
  // and where the seam loses the opening IDR no keyframe comes for two GOPs,
  // so max_segment_duration cuts a segment that cannot start independent;
  // that cut is logged.
  const std::set<std::string> source_faults = {"media-timeline", "program-date-time",
                                               "segment-independent"};
  bool forced = false;
  for (const auto& v : verdict["violations"]) {
    EXPECT_TRUE(source_faults.count(v.value("rule", ""))) << v.dump(1);
    forced = forced || v.value("rule", "") == "segment-independent";
  }
  if (forced) {
    EXPECT_NE(mirror_->process().stderr_text().find("segment cut without a keyframe"),
              std::string::npos);
  }
  EXPECT_EQ(verdict["stats"]["violationsByRule"].count("part-duration-min"), 0u);
  EXPECT_EQ(verdict["stats"]["violationsByRule"].count("part-duration-max"), 0u);
  EXPECT_EQ(verdict["stats"]["violationsByRule"].count("preload-hint-uri"), 0u);
  EXPECT_EQ(verdict["stats"]["violationsByRule"].count("target-duration"), 0u);
  EXPECT_GT(verdict["stats"].value("segmentsSeen", 0), 4);
}

// An encoder restarted mid-stream: the publisher goes away and comes back
// within the reconnect window with timestamps from zero. The playlist goes
// on with a discontinuity, a new init segment and continuous numbering.
TEST_F(RealSources, EncoderRestartStartsADiscontinuity) {
  const auto file = fixture("corpus_h264_restart.ts",
                            "-f lavfi -i testsrc2=size=640x360:rate=30 -f lavfi "
                            "-i sine=frequency=440:sample_rate=48000 -t 5 -c:v libx264 -preset veryfast "
                            "-bf 2 -g 30 -pix_fmt yuv420p -threads 1 -c:a aac -ac 2 -b:a 96k -f mpegts");
  ASSERT_FALSE(file.empty());
  const std::string url = "srt://127.0.0.1:" + std::to_string(mirror_->ports().srt) +
                          "?mode=caller&pkt_size=1316&streamid=restart";
  auto send = [&] {
    return run({"/usr/bin/ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-i", file, "-c", "copy",
                "-f", "mpegts", url},
               {}, {}, 30s);
  };
  Process first({"/usr/bin/ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-i", file, "-c",
                 "copy", "-f", "mpegts", url});
  ASSERT_TRUE(eventually(
      [&] { return http_get(mirror_->ports().http, "/streams/restart/index.m3u8").status == 200; }, 20s));
  Process checker({node_binary(), source_dir() + "/tests/hls/llhls_check.mjs", "--url",
                   base() + "/streams/restart/index.m3u8", "--seconds", "8", "--json"});
  ASSERT_TRUE(first.wait(30s).has_value());
  EXPECT_EQ(send().status, 0);  // the restarted encoder
  ASSERT_TRUE(checker.wait(60s).has_value());
  auto verdict = nlohmann::json::parse(checker.stdout_text(), nullptr, false);
  ASSERT_FALSE(verdict.is_discarded()) << checker.stdout_text() << checker.stderr_text();
  EXPECT_TRUE(verdict.value("ok", false)) << verdict.dump(1);
  const auto playlist = http_get(mirror_->ports().http, "/streams/restart/source/playlist.m3u8").body;
  EXPECT_NE(playlist.find("#EXT-X-DISCONTINUITY"), std::string::npos) << playlist;
}

// A source as encoders and cameras send it, published once in real time and
// watched by the checker for eight seconds: every rule must hold.
struct CorpusSource {
  const char* name;
  const char* file;
  const char* ffmpeg_args;  // what fixture() runs to make the file
  std::vector<std::string> sender_input;  // options before -i
  // Rules the source itself breaks (see docs/PACKAGING.md), if any.
  std::set<std::string> source_faults = {};
};

void PrintTo(const CorpusSource& s, std::ostream* os) { *os << s.name; }


class Corpus : public RealSources, public ::testing::WithParamInterface<CorpusSource> {};

TEST_P(Corpus, PassesTheChecker) {
  const auto& source = GetParam();
  const auto file = fixture(source.file, source.ffmpeg_args);
  ASSERT_FALSE(file.empty()) << source.ffmpeg_args;
  auto input = source.sender_input;
  input.insert(input.end(), {"-re", "-i", file});
  publish(source.name, input);
  const auto verdict = check(source.name, 6);
  // Each segment decodes on its own, from its first picture.
  const bool has_video = std::string(source.ffmpeg_args).find("-c:v") != std::string::npos;
  for (const auto& failure : undecodable_segments(source.name, has_video ? "source" : "audio")) {
    ADD_FAILURE() << failure;
  }
  if (source.source_faults.empty()) {
    EXPECT_TRUE(verdict.value("ok", false)) << verdict.dump(1);
  }
  for (const auto& v : verdict["violations"]) {
    EXPECT_TRUE(source.source_faults.count(v.value("rule", ""))) << v.dump(1);
  }
  EXPECT_GE(verdict["stats"].value("segmentsSeen", 0), 3);
}

INSTANTIATE_TEST_SUITE_P(
    RealSources, Corpus,
    ::testing::Values(
        CorpusSource{"h264-bpyramid", "corpus_h264_bpyramid.ts",
                     "-f lavfi -i testsrc2=size=640x360:rate=30 -f lavfi -i sine=frequency=440:sample_rate=48000 "
                     "-t 12 -c:v libx264 -preset veryfast -profile:v high -bf 3 -x264-params b-pyramid=normal:keyint=30:min-keyint=30:scenecut=0 "
                     "-pix_fmt yuv420p -threads 1 -c:a aac -ac 2 -b:a 96k -f mpegts",
                     {}},
        CorpusSource{"h264-scenecuts", "corpus_h264_scenecuts.ts",
                     "-f lavfi -i testsrc2=size=640x360:rate=30:duration=2.3 -f lavfi -i smptebars=size=640x360:rate=30:duration=1.7 "
                     "-f lavfi -i rgbtestsrc=size=640x360:rate=30:duration=2.9 -f lavfi -i testsrc=size=640x360:rate=30:duration=1.3 "
                     "-f lavfi -i mandelbrot=size=640x360:rate=30:end_scale=0.5 -f lavfi -i sine=frequency=440:sample_rate=48000 "
                     "-filter_complex [0:v][1:v][2:v][3:v][4:v]concat=n=5:v=1[v] -map [v] -map 5:a -t 12 "
                     "-c:v libx264 -preset veryfast -bf 2 -x264-params keyint=60:min-keyint=5 -pix_fmt yuv420p -threads 1 "
                     "-c:a aac -ac 2 -b:a 96k -f mpegts",
                     {}},
        CorpusSource{"hevc-open-gop", "corpus_hevc_open_gop.ts",
                     "-f lavfi -i testsrc2=size=640x360:rate=25 -f lavfi -i sine=frequency=440:sample_rate=48000 "
                     "-t 12 -c:v libx265 -preset ultrafast -x265-params keyint=50:open-gop=1:bframes=4:log-level=error "
                     "-pix_fmt yuv420p -c:a aac -ac 2 -b:a 96k -f mpegts",
                     {}},
        CorpusSource{"hevc-closed-gop", "corpus_hevc_closed_gop.ts",
                     "-f lavfi -i testsrc2=size=640x360:rate=25 -f lavfi -i sine=frequency=440:sample_rate=48000 "
                     "-t 12 -c:v libx265 -preset ultrafast -x265-params keyint=25:open-gop=0:bframes=3:log-level=error "
                     "-pix_fmt yuv420p -c:a aac -ac 2 -b:a 96k -f mpegts",
                     {}},
        CorpusSource{"ntsc-2997", "corpus_h264_2997.ts",
                     "-f lavfi -i testsrc2=size=640x360:rate=30000/1001 -f lavfi -i sine=frequency=440:sample_rate=48000 "
                     "-t 12 -c:v libx264 -preset veryfast -bf 3 -g 30 -pix_fmt yuv420p -threads 1 "
                     "-c:a aac -ac 2 -b:a 96k -f mpegts",
                     {}},
        CorpusSource{"ntsc-5994", "corpus_h264_5994.ts",
                     "-f lavfi -i testsrc2=size=640x360:rate=60000/1001 -f lavfi -i sine=frequency=440:sample_rate=48000 "
                     "-t 12 -c:v libx264 -preset veryfast -bf 3 -g 60 -pix_fmt yuv420p -threads 1 "
                     "-c:a aac -ac 2 -b:a 96k -f mpegts",
                     {}},
        CorpusSource{"variable-rate", "corpus_h264_vfr.ts",
                     "-f lavfi -i testsrc2=size=640x360:rate=30 -f lavfi -i sine=frequency=440:sample_rate=48000 "
                     "-t 12 -vf select='not(eq(mod(n\\,7)\\,3))*not(eq(mod(n\\,11)\\,5))' -fps_mode vfr "
                     "-c:v libx264 -preset veryfast -bf 2 -g 30 -pix_fmt yuv420p -threads 1 "
                     "-c:a aac -ac 2 -b:a 96k -f mpegts",
                     // A frame after a dropped one lasts two; where it would
                     // overfill a short part it is cut at PART-TARGET and
                     // the rest stays a hole in the timeline.
                     {},
                     {"media-timeline", "program-date-time"}},
        CorpusSource{"clock-wrap", "corpus_h264_wrap.ts",
                     "-f lavfi -i testsrc2=size=640x360:rate=30 -f lavfi -i sine=frequency=440:sample_rate=48000 "
                     "-t 12 -c:v libx264 -preset veryfast -bf 2 -g 30 -pix_fmt yuv420p -threads 1 "
                     "-c:a aac -ac 2 -b:a 96k -output_ts_offset 95438.7 -f mpegts",
                     {}},
        CorpusSource{"audio-only", "corpus_aac_only.ts",
                     "-f lavfi -i sine=frequency=440:sample_rate=48000 -t 12 -c:a aac -ac 2 -b:a 96k -f mpegts",
                     {}}));

}  // namespace
}  // namespace mirror::testing
