// Sources as broadcasters send them, not only the easy ones, through SRT into
// the real binary and checked with the project's LL-HLS checker: a camera
// with intra refresh and no IDR after the first, and a file looped with
// `-stream_loop -1 -c copy` (the decode times jump at every seam).
#include "mirror_fixture.h"
#include "support/corpus.h"
#include "support/fixtures.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>
#include <ostream>
#include <set>
#include <sstream>

namespace mirror::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

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
    sender_ = std::make_unique<Process>(srt_copy_sender(input_args, mirror_->ports().srt, name));
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

  // The complete segments of `rendition`'s latest playlist after its last
  // EXT-X-MAP, and that init segment ("" when there is none).
  struct RenditionFiles {
    std::string base_path;
    std::string init;
    std::vector<std::string> segments;
    std::string playlist;
  };
  RenditionFiles rendition_files(const std::string& name, const std::string& rendition) {
    RenditionFiles files;
    files.base_path = "/streams/" + name + "/" + rendition + "/";
    files.playlist = http_get(mirror_->ports().http, files.base_path + "playlist.m3u8").body;
    std::istringstream in(files.playlist);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("#EXT-X-MAP:URI=\"", 0) == 0) {
        files.init = line.substr(16, line.find('"', 16) - 16);
        files.segments.clear();
      }
      if (line.rfind("seg-", 0) == 0) files.segments.push_back(line);
    }
    return files;
  }

  // Every complete segment of `rendition` (see rendition_files), each decoded
  // on its own from its start (init segment + segment) by ffmpeg with
  // -xerror: a segment that needs anything before it fails. Returns the
  // failures. With `strict` false, decoding errors are tolerated as long as
  // ffmpeg gets through each segment (a source without random-access
  // pictures).
  std::vector<std::string> undecodable_segments(const std::string& name, const std::string& rendition,
                                                bool strict = true) {
    std::vector<std::string> failures;
    const auto files = rendition_files(name, rendition);
    if (files.init.empty() || files.segments.empty()) return {"no segments in " + files.playlist};
    const auto init_bytes = http_get(mirror_->ports().http, files.base_path + files.init).body;
    const std::string dir = make_temp_dir("mirror-seg");
    for (const auto& seg : files.segments) {
      const std::string path = dir + "/" + seg + ".mp4";
      write_file(path, init_bytes + http_get(mirror_->ports().http, files.base_path + seg).body);
      std::vector<std::string> argv = {"/usr/bin/ffmpeg", "-hide_banner", "-v", "error"};
      if (strict) argv.push_back("-xerror");
      argv.insert(argv.end(), {"-i", path, "-f", "null", "-"});
      auto r = run(argv, {}, {}, 60s);
      if (r.status != 0 || (strict && !r.err.empty())) failures.push_back(seg + ": " + r.err);
    }
    return failures;
  }

  // Every complete segment of `rendition` (see rendition_files) after its
  // init segment, as one fMP4 file; empty when there is none.
  std::string rendition_media(const std::string& name, const std::string& rendition) {
    const auto files = rendition_files(name, rendition);
    if (files.init.empty() || files.segments.empty()) return {};
    std::string bytes = http_get(mirror_->ports().http, files.base_path + files.init).body;
    for (const auto& seg : files.segments) bytes += http_get(mirror_->ports().http, files.base_path + seg).body;
    const std::string path = make_temp_dir("mirror-media") + "/" + rendition + ".mp4";
    write_file(path, bytes);
    return path;
  }

  std::unique_ptr<MirrorInstance> mirror_;
  std::unique_ptr<Process> sender_;
};

TEST_F(RealSources, IntraRefreshWithoutIdrPassesTheChecker) {
  const auto file = intra_refresh_file(12);
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
  const auto file = loop_file();
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

// A source as encoders and cameras send it (tests/support/corpus.h),
// published once in real time and watched by the checker for six seconds:
// every rule must hold, every segment decodes on its own, and the delivered
// audio and video keep the source's A/V offset to within one frame.
class Corpus : public RealSources, public ::testing::WithParamInterface<CorpusSource> {};

TEST_P(Corpus, PassesTheChecker) {
  const auto& source = GetParam();
  const auto file = corpus_file(source, 12);
  ASSERT_FALSE(file.empty()) << source.args;
  auto input = source.sender_input;
  input.insert(input.end(), {"-re", "-i", file});
  publish(source.name, input);
  const auto verdict = check(source.name, 6);
  const bool has_video = !source.video.empty();
  for (const char* rendition : {"source", "audio"}) {
    if (!has_video && std::string(rendition) == "source") continue;
    for (const auto& failure : undecodable_segments(source.name, rendition)) ADD_FAILURE() << failure;
  }
  if (source.source_faults.empty()) {
    EXPECT_TRUE(verdict.value("ok", false)) << verdict.dump(1);
  }
  for (const auto& v : verdict["violations"]) {
    EXPECT_TRUE(source.source_faults.count(v.value("rule", ""))) << v.dump(1);
  }
  EXPECT_GE(verdict["stats"].value("segmentsSeen", 0), 3);
  if (has_video && source.audio) {
    const auto in = av_offset(sync_marks(file, file));
    ASSERT_TRUE(in.has_value()) << "no sync marks in " << file;
    const auto video = rendition_media(source.name, "source");
    const auto audio = rendition_media(source.name, "audio");
    ASSERT_FALSE(video.empty());
    ASSERT_FALSE(audio.empty());
    const auto marks = sync_marks(video, audio);
    const auto out = av_offset(marks);
    ASSERT_TRUE(out.has_value()) << marks.flashes.size() << " flashes, " << marks.beeps.size() << " beeps";
    std::cout << "A/V offset: source " << *in * 1000 << " ms, delivered " << *out * 1000 << " ms\n";
    EXPECT_NEAR(*out, *in, 1.0 / source.frame_rate)
        << "A/V offset " << *out * 1000 << " ms delivered, " << *in * 1000 << " ms in the source";
  }
}

INSTANTIATE_TEST_SUITE_P(RealSources, Corpus, ::testing::ValuesIn(corpus()));

}  // namespace
}  // namespace mirror::testing
