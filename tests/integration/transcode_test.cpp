// Transcoding in the real binary, fed over SRT by ffmpeg: the rendition as
// ffprobe sees it (size, profile, bitrate, keyframes, audio, timestamps),
// thumbnails and audio levels over HTTP, the multivariant playlists, and the
// sources it cannot transcode.
#include "mirror_fixture.h"
#include "support/corpus.h"
#include "support/fixtures.h"
#include "support/playlist_text.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>

namespace mirror::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// ffmpeg publishing a generated source to Mirror over SRT in real time.
std::vector<std::string> sender(int port, const std::string& name, const std::string& video_source,
                                const std::vector<std::string>& video_codec,
                                const std::string& audio_source =
                                    "aevalsrc=0.1*sin(2*PI*1000*t)|0.1*sin(2*PI*1000*t):s=48000") {
  std::vector<std::string> argv = {
      "/usr/bin/ffmpeg", "-hide_banner", "-loglevel", "error", "-re",       "-f", "lavfi", "-i",
      video_source,      "-f",           "lavfi",     "-i",    audio_source};
  argv.insert(argv.end(), video_codec.begin(), video_codec.end());
  for (const char* a : {"-c:a", "aac", "-b:a", "128k", "-pes_payload_size", "0", "-f", "mpegts"})
    argv.push_back(a);
  argv.push_back("srt://127.0.0.1:" + std::to_string(port) +
                 "?mode=caller&pkt_size=1316&streamid=" + name);
  return argv;
}

const std::vector<std::string> kH264 = {"-c:v",          "libx264",     "-preset",  "ultrafast",
                                        "-tune",         "zerolatency", "-g",       "30",
                                        "-sc_threshold", "0",           "-pix_fmt", "yuv420p"};
// x265's own GOP structure (open GOP, B-frames), a keyframe every second.
const std::vector<std::string> kHevc = {"-c:v",         "libx265",
                                        "-preset",      "ultrafast",
                                        "-x265-params", "keyint=30:bframes=3:log-level=error",
                                        "-pix_fmt",     "yuv420p"};

class Transcode : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists("/usr/bin/ffmpeg")) GTEST_SKIP() << "ffmpeg not installed";
  }
  void TearDown() override {
    if (sender_) sender_->signal(SIGKILL);
  }

  void start(std::map<std::string, std::string> env = {}) {
    mirror_ = std::make_unique<MirrorInstance>("", std::move(env));
    ASSERT_TRUE(mirror_->wait_ready()) << mirror_->process().stderr_text();
  }
  int http() const { return mirror_->ports().http; }
  int admin() const { return mirror_->ports().admin; }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(http()); }

  void publish(const std::string& name, const std::string& video_source,
               const std::vector<std::string>& codec) {
    sender_ = std::make_unique<Process>(sender(mirror_->ports().srt, name, video_source, codec));
  }

  // Waits until `path` on the delivery port answers 200.
  bool wait_ok(const std::string& path, std::chrono::seconds timeout = 30s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (http_get(http(), path).status == 200) return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }

  // The segments of a rendition's live window, the latest `seconds` of them
  // at most, as one fMP4 file (init segment + segments).
  std::string download(const std::string& stream, const std::string& rendition, double seconds) {
    const std::string dir = "/streams/" + stream + "/" + rendition + "/";
    const std::string playlist = http_get(http(), dir + "playlist.m3u8").body;
    std::vector<std::pair<double, std::string>> segments;
    std::string map;
    std::istringstream in(playlist);
    double duration = 0;
    for (std::string line; std::getline(in, line);) {
      if (line.starts_with("#EXT-X-MAP:")) map = tag_attribute(line, "#EXT-X-MAP", "URI");
      if (line.starts_with("#EXTINF:")) duration = std::atof(line.c_str() + 8);
      if (!line.empty() && line[0] != '#' && line.starts_with("seg-"))
        segments.emplace_back(duration, line);
      if (line.starts_with("#EXT-X-DISCONTINUITY")) segments.clear();  // one timeline only
    }
    std::string file = http_get(http(), dir + map).body;
    double total = 0;
    std::size_t first = segments.size();
    while (first > 0 && total < seconds) total += segments[--first].first;
    for (std::size_t i = first; i < segments.size(); ++i)
      file += http_get(http(), dir + segments[i].second).body;
    return file;
  }

  std::string save(const std::string& bytes, const std::string& name) {
    const std::string path = mirror_->dir() + "/" + name;
    write_file(path, bytes);
    return path;
  }

  // Each complete segment of a rendition's playlist, with its init segment
  // in front, saved as a file of its own: (segment name, path).
  std::vector<std::pair<std::string, std::string>> playable_segments(const std::string& stream,
                                                                     const std::string& rendition) {
    const std::string dir = "/streams/" + stream + "/" + rendition + "/";
    const std::string playlist = http_get(http(), dir + "playlist.m3u8").body;
    const std::string init =
        http_get(http(), dir + tag_attribute(playlist, "#EXT-X-MAP", "URI")).body;
    std::vector<std::pair<std::string, std::string>> out;
    std::istringstream in(playlist);
    for (std::string line; std::getline(in, line);) {
      if (line.starts_with("seg-"))
        out.emplace_back(line, save(init + http_get(http(), dir + line).body, line + ".mp4"));
    }
    return out;
  }

  nlohmann::json stream_json(const std::string& name) {
    return nlohmann::json::parse(http_get(admin(), "/api/v1/streams/" + name).body, nullptr, false);
  }

  std::unique_ptr<MirrorInstance> mirror_;
  std::unique_ptr<Process> sender_;
};

struct Packet {
  double pts = 0;
  double duration = 0;
  bool key = false;
  long size = 0;
};

std::vector<Packet> packets(const std::string& file, const std::string& stream) {
  auto r = run({"/usr/bin/ffprobe", "-v", "error", "-select_streams", stream, "-show_entries",
                "packet=pts_time,duration_time,flags,size", "-of", "csv=p=0", file},
               {}, {}, 60s);
  std::vector<Packet> out;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    Packet p;
    char flags[16] = {};
    if (std::sscanf(line.c_str(), "%lf,%lf,%ld,%15s", &p.pts, &p.duration, &p.size, flags) >= 3) {
      p.key = std::string(flags).find('K') != std::string::npos;
      out.push_back(p);
    }
  }
  return out;
}

std::map<std::string, std::string> stream_info(const std::string& file, const std::string& stream) {
  auto r = run(
      {"/usr/bin/ffprobe", "-v", "error", "-select_streams", stream, "-show_entries",
       "stream=codec_name,profile,width,height,sample_rate,channels", "-of", "default=nw=1", file},
      {}, {}, 30s);
  std::map<std::string, std::string> out;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    const auto eq = line.find('=');
    if (eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return out;
}

TEST_F(Transcode, RenditionIsWhatFfprobeExpects) {
  start();
  publish("cam", "testsrc2=size=1280x720:rate=30", kH264);
  ASSERT_TRUE(wait_ok("/streams/cam/360p/playlist.m3u8")) << mirror_->process().stderr_text();
  // Twelve seconds of media, then the last ten of them. On a loaded machine
  // the transcoder may drop GOPs and its rendition start a new timeline
  // (EXT-X-DISCONTINUITY): then wait until ten seconds follow it.
  std::this_thread::sleep_for(12s);
  std::string video, audio;
  ASSERT_TRUE(eventually(
      [&] {
        video = save(download("cam", "360p", 10.0), "360p.mp4");
        audio = save(download("cam", "transcoded-audio", 10.0), "audio.mp4");
        return packets(video, "v:0").size() > 250;
      },
      30s))
      << http_get(http(), "/streams/cam/360p/playlist.m3u8").body;

  auto v = stream_info(video, "v:0");
  EXPECT_EQ(v["codec_name"], "h264");
  EXPECT_EQ(v["width"], "640");
  EXPECT_EQ(v["height"], "360");
  EXPECT_NE(v["profile"].find("Baseline"), std::string::npos) << v["profile"];

  const auto vp = packets(video, "v:0");
  ASSERT_GT(vp.size(), 250u);
  double bytes = 0;
  for (const auto& p : vp) bytes += static_cast<double>(p.size);
  const double seconds = vp.back().pts + vp.back().duration - vp.front().pts;
  const double kbps = bytes * 8 / seconds / 1000;
  EXPECT_NEAR(kbps, 400, 100) << "average video bitrate over " << seconds << " s";
  // 30 fps, a keyframe where the source has one (every second) and nowhere
  // else, so that the rendition's segments are the source's.
  EXPECT_NEAR(vp.size() / seconds, 30.0, 0.5);
  int keys = 0;
  for (const auto& p : vp) keys += p.key;
  EXPECT_NEAR(keys, seconds, 1.0);
  EXPECT_TRUE(vp.front().key);

  auto a = stream_info(audio, "a:0");
  EXPECT_EQ(a["codec_name"], "aac");
  EXPECT_EQ(a["profile"], "LC");
  EXPECT_EQ(a["sample_rate"], "48000");
  EXPECT_EQ(a["channels"], "2");
  const auto ap = packets(audio, "a:0");
  ASSERT_GT(ap.size(), 400u);
  double audio_bytes = 0;
  for (const auto& p : ap) audio_bytes += static_cast<double>(p.size);
  const double audio_seconds = ap.back().pts + ap.back().duration - ap.front().pts;
  EXPECT_NEAR(audio_bytes * 8 / audio_seconds / 1000, 64, 16);
  for (std::size_t i = 1; i < ap.size(); ++i) {
    EXPECT_NEAR(ap[i].pts - ap[i - 1].pts, 1024.0 / 48000, 1e-4)
        << "audio is continuous, packet " << i;
  }
}

TEST_F(Transcode, EverySegmentOfTheRenditionStartsWithAKeyframe) {
  start();
  publish("gop", "testsrc2=size=1280x720:rate=30", kH264);
  ASSERT_TRUE(wait_ok("/streams/gop/360p/playlist.m3u8")) << mirror_->process().stderr_text();
  // Five complete segments, however slow the machine (a sanitizer, others
  // tests beside): waited for, not slept for.
  EXPECT_TRUE(eventually(
      [&] {
        const std::string text = http_get(http(), "/streams/gop/360p/playlist.m3u8").body;
        int segments = 0;
        for (std::size_t at = text.find("\nseg-"); at != std::string::npos;
             at = text.find("\nseg-", at + 1))
          ++segments;
        return segments >= 5;
      },
      60s));
  const std::string playlist = http_get(http(), "/streams/gop/360p/playlist.m3u8").body;
  int checked = 0;
  for (const auto& [line, file] : playable_segments("gop", "360p")) {
    const auto p = packets(file, "v:0");
    ASSERT_FALSE(p.empty()) << line;
    EXPECT_TRUE(p.front().key) << line;
    for (std::size_t i = 1; i < p.size(); ++i) EXPECT_FALSE(p[i].key) << line << " packet " << i;
    ++checked;
  }
  EXPECT_GE(checked, 5);
  // They are the source's segments: same numbers, same durations (within a
  // frame), so that players switching variants (and rendition reports) find
  // the same content under the same number.
  auto extinf_by_segment = [](const std::string& text) {
    std::map<std::string, double> out;
    std::istringstream lines(text);
    double duration = 0;
    for (std::string line; std::getline(lines, line);) {
      if (line.starts_with("#EXTINF:")) duration = std::stod(line.substr(8));
      if (line.starts_with("seg-")) out[line] = duration;
    }
    return out;
  };
  const auto source = extinf_by_segment(http_get(http(), "/streams/gop/source/playlist.m3u8").body);
  const auto rendition = extinf_by_segment(playlist);
  int common = 0;
  for (const auto& [name, duration] : rendition) {
    const auto it = source.find(name);
    if (it == source.end()) continue;
    ++common;
    EXPECT_NEAR(duration, it->second, 0.034) << name;
  }
  EXPECT_GE(common, 4) << playlist;
}

TEST_F(Transcode, TimestampsStayOnTheSourceClock) {
  start();
  publish("sync", "testsrc2=size=1280x720:rate=30", kH264);
  ASSERT_TRUE(wait_ok("/streams/sync/360p/playlist.m3u8")) << mirror_->process().stderr_text();
  std::this_thread::sleep_for(5s);
  // The last seconds of the rendition (it runs a little behind), then the
  // source's whole window, which covers them.
  auto rv = packets(save(download("sync", "360p", 2.0), "rv.mp4"), "v:0");
  auto ra = packets(save(download("sync", "transcoded-audio", 2.0), "ra.mp4"), "a:0");
  const auto sv = packets(save(download("sync", "source", 30.0), "sv.mp4"), "v:0");
  const auto sa = packets(save(download("sync", "audio", 30.0), "sa.mp4"), "a:0");
  ASSERT_FALSE(sv.empty() || sa.empty() || rv.empty() || ra.empty());
  std::erase_if(rv, [&](const Packet& p) { return p.pts > sv.back().pts; });
  std::erase_if(ra, [&](const Packet& p) { return p.pts > sa.back().pts; });
  ASSERT_GT(rv.size(), 20u);
  // Every rendition picture sits on a source picture's time (within a frame)...
  std::size_t matched = 0;
  for (const auto& p : rv) {
    for (const auto& s : sv) {
      if (std::abs(s.pts - p.pts) < 1.0 / 60) {
        ++matched;
        break;
      }
    }
  }
  EXPECT_GE(matched + 2, rv.size());
  // ...and the audio on the source audio's clock: the offset between audio
  // and video is the source's, within one video frame.
  auto nearest_audio = [](const std::vector<Packet>& audio, double t) {
    double best = 1e9;
    for (const auto& a : audio) best = std::min(best, std::abs(a.pts - t));
    return best;
  };
  for (std::size_t i = 0; i < ra.size(); i += 10) {
    EXPECT_LT(nearest_audio(sa, ra[i].pts), 1.0 / 30) << ra[i].pts;
  }
}

TEST_F(Transcode, HevcSourceGetsAnH264RenditionListedFirst) {
  start();
  publish("hevc", "testsrc2=size=1280x720:rate=30", kHevc);
  ASSERT_TRUE(wait_ok("/streams/hevc/index.m3u8")) << mirror_->process().stderr_text();
  const std::string all = http_get(http(), "/streams/hevc/index.m3u8").body;
  const auto rendition = all.find("360p/playlist.m3u8");
  const auto source = all.find("source/playlist.m3u8");
  ASSERT_NE(rendition, std::string::npos) << all;
  ASSERT_NE(source, std::string::npos) << all;
  EXPECT_LT(rendition, source) << all;
  EXPECT_NE(all.find("CODECS=\"hvc1."), std::string::npos) << all;
  EXPECT_NE(all.find("CODECS=\"avc1.42"), std::string::npos) << all;
  const std::string multiview = http_get(http(), "/streams/hevc/multiview.m3u8").body;
  EXPECT_EQ(multiview.find("hvc1"), std::string::npos) << multiview;
  EXPECT_NE(multiview.find("AUDIO=\"transcoded-audio\""), std::string::npos) << multiview;
  // What a muted wall tile loads: the video alone; a mistyped value is refused.
  const std::string silent = http_get(http(), "/streams/hevc/multiview.m3u8?audio=none").body;
  EXPECT_NE(silent.find("360p/playlist.m3u8"), std::string::npos) << silent;
  EXPECT_EQ(silent.find("AUDIO="), std::string::npos) << silent;
  EXPECT_EQ(silent.find("mp4a"), std::string::npos) << silent;
  const auto wrong = http_get(http(), "/streams/hevc/index.m3u8?audio=loud");
  EXPECT_EQ(wrong.status, 400) << wrong.body;
  EXPECT_NE(wrong.body.find("only value is"), std::string::npos) << wrong.body;
  auto list = nlohmann::json::parse(http_get(http(), "/streams").body);
  ASSERT_EQ(list["streams"].size(), 1u);
  EXPECT_EQ(list["streams"][0]["multiview_url"], "/streams/hevc/multiview.m3u8");
  EXPECT_EQ(list["streams"][0]["renditions"][0]["name"], "360p");
}

TEST_F(Transcode, MultiviewPlaylistsPassTheLlHlsChecker) {
  start();
  publish("wall", "testsrc2=size=1280x720:rate=30", kHevc);
  ASSERT_TRUE(wait_ok("/streams/wall/multiview.m3u8")) << mirror_->process().stderr_text();
  auto r = run({node_binary(), source_dir() + "/tests/hls/llhls_check.mjs", "--url",
                base() + "/streams/wall/multiview.m3u8", "--seconds", "10"},
               {}, {}, 60s);
  EXPECT_EQ(r.status, 0) << r.out << r.err;
}

// A file looped with `-stream_loop -1 -c copy` loses its opening IDR at
// every seam, and the source's segment there is cut without a keyframe. The
// rendition starts that segment on a keyframe of its own: it keeps every
// rule of the checker, and every segment starts with a keyframe and decodes
// from its start without an error (the transcoder repeats the last good
// picture over the ones the source lost).
TEST_F(Transcode, LoopedFileRenditionKeepsEveryRule) {
  start();
  const auto file = loop_file();
  ASSERT_FALSE(file.empty());
  sender_ = std::make_unique<Process>(
      srt_copy_sender({"-re", "-stream_loop", "-1", "-i", file}, mirror_->ports().srt, "loop"));
  ASSERT_TRUE(wait_ok("/streams/loop/multiview.m3u8")) << mirror_->process().stderr_text();
  auto r = run({node_binary(), source_dir() + "/tests/hls/llhls_check.mjs", "--url",
                base() + "/streams/loop/multiview.m3u8", "--seconds", "12"},
               {}, {}, 72s);
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  // The source lost its keyframes (the checker saw three seams), and says so.
  const auto list = nlohmann::json::parse(http_get(http(), "/streams").body, nullptr, false);
  ASSERT_TRUE(list.is_object());
  ASSERT_EQ(list["streams"].size(), 1u);
  EXPECT_TRUE(list["streams"][0]["video"].value("segments_without_keyframe", false)) << list.dump();
  int checked = 0;
  for (const auto& [line, one] : playable_segments("loop", "360p")) {
    const auto p = packets(one, "v:0");
    ASSERT_FALSE(p.empty()) << line;
    EXPECT_TRUE(p.front().key) << line;
    auto decoded = run(
        {"/usr/bin/ffmpeg", "-hide_banner", "-v", "error", "-xerror", "-i", one, "-f", "null", "-"},
        {}, {}, 60s);
    EXPECT_EQ(decoded.status, 0) << line << ": " << decoded.err;
    EXPECT_EQ(decoded.err, "") << line;
    ++checked;
  }
  EXPECT_GE(checked, 5);
}

TEST_F(Transcode, ThumbnailAndAudioLevels) {
  start();
  publish("levels", "testsrc2=size=1280x720:rate=30", kH264);
  ASSERT_TRUE(wait_ok("/streams/levels/360p/playlist.m3u8")) << mirror_->process().stderr_text();
  for (int port : {http(), admin()}) {
    const std::string path =
        port == http() ? "/streams/levels/thumbnail.jpg" : "/api/v1/streams/levels/thumbnail.jpg";
    const auto reply = http_get(port, path);
    ASSERT_EQ(reply.status, 200) << path << reply.body;
    EXPECT_EQ(reply.header("content-type"), "image/jpeg");
    const auto info = stream_info(save(reply.body, "thumb.jpg"), "v:0");
    EXPECT_EQ(info.at("codec_name"), "mjpeg");
    EXPECT_EQ(info.at("width"), "640");
    EXPECT_EQ(info.at("height"), "360");
  }
  EXPECT_EQ(http_get(http(), "/streams/levels/thumbnail.jpg").header("cache-control"), "no-cache");
  const auto missing = http_get(http(), "/streams/nobody/thumbnail.jpg");
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.body.find("NOT_FOUND"), std::string::npos);

  const auto j = stream_json("levels");
  ASSERT_TRUE(j.contains("transcode")) << j.dump();
  const auto& t = j["transcode"];
  EXPECT_EQ(t["path"], "cpu");
  EXPECT_EQ(t["state"], "ok");
  EXPECT_EQ(t["renditions"][0]["name"], "360p");
  EXPECT_EQ(t["renditions"][0]["encoder"], "libx264");
  ASSERT_TRUE(t["audio_levels"].is_object()) << t.dump();
  for (const auto& channel : t["audio_levels"]["channels"]) {
    EXPECT_NEAR(channel["rms_dbfs"].get<double>(), -20.0, 1.0);
    EXPECT_NEAR(channel["peak_dbfs"].get<double>(), -20.0, 1.0);
  }
  EXPECT_NEAR(t["audio_levels"]["momentary_lufs"].get<double>(), -20.0, 1.5);
  EXPECT_EQ(j["playback"]["multiview_url"], "/streams/levels/multiview.m3u8");
  const std::string metrics = http_get(admin(), "/metrics").body;
  EXPECT_NE(metrics.find("mirror_audio_rms_dbfs{stream=\"levels\",channel=\"0\"}"),
            std::string::npos);
  EXPECT_NE(metrics.find("mirror_transcode_path{stream=\"levels\",path=\"cpu\"} 1"),
            std::string::npos);
  EXPECT_NE(metrics.find("mirror_transcode_latency_seconds_bucket"), std::string::npos);
  if (fs::exists("/usr/bin/promtool")) {
    auto r = run({"/usr/bin/promtool", "check", "metrics"}, {}, metrics);
    EXPECT_EQ(r.status, 0) << r.out << r.err;
  }
}

TEST_F(Transcode, UnsupportedVideoCodecIsSkippedWithAReason) {
  start();
  publish("mpeg2", "testsrc2=size=640x360:rate=25", {"-c:v", "mpeg2video", "-b:v", "2M"});
  // The source is audio-only for Mirror (MPEG-2 video is not ingested).
  ASSERT_TRUE(wait_ok("/streams/mpeg2/index.m3u8")) << mirror_->process().stderr_text();
  nlohmann::json j;
  for (int i = 0; i < 100; ++i) {
    j = stream_json("mpeg2");
    if (j.contains("transcode") && j["transcode"]["video"]["state"] == "skipped") break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(j.contains("transcode")) << j.dump();
  EXPECT_EQ(j["transcode"]["video"]["state"], "skipped");
  EXPECT_NE(j["transcode"]["video"]["reason"].get<std::string>().find("mpeg2-video"),
            std::string::npos)
      << j.dump();
  EXPECT_EQ(j["ignored_tracks"][0]["codec"], "mpeg2-video");
}

TEST_F(Transcode, DisabledTranscodingServesTheSourceOnly) {
  start({{"MIRROR_TRANSCODING_ENABLED", "false"}});
  publish("plain", "testsrc2=size=640x360:rate=30", kH264);
  ASSERT_TRUE(wait_ok("/streams/plain/index.m3u8")) << mirror_->process().stderr_text();
  const std::string all = http_get(http(), "/streams/plain/index.m3u8").body;
  EXPECT_EQ(all.find("360p"), std::string::npos) << all;
  const auto multiview = http_get(http(), "/streams/plain/multiview.m3u8");
  EXPECT_EQ(multiview.status, 404);
  EXPECT_NE(multiview.body.find("no transcoded rendition"), std::string::npos);
  EXPECT_EQ(http_get(http(), "/streams/plain/thumbnail.jpg").status, 404);
  EXPECT_FALSE(stream_json("plain").contains("transcode"));
}

TEST_F(Transcode, RenditionsFromTheEnvironmentAllPlay) {
  start({{"MIRROR_TRANSCODING_RENDITIONS", "360p:640x360:400k,180p:320x180:150k:15"}});
  publish("ladder", "testsrc2=size=1280x720:rate=30", kH264);
  ASSERT_TRUE(wait_ok("/streams/ladder/multiview.m3u8")) << mirror_->process().stderr_text();
  const std::string multiview = http_get(http(), "/streams/ladder/multiview.m3u8").body;
  EXPECT_NE(
      multiview.find("RESOLUTION=640x360,FRAME-RATE=30.000,AUDIO=\"transcoded-audio\"\n360p/"),
      std::string::npos)
      << multiview;
  EXPECT_NE(
      multiview.find("RESOLUTION=320x180,FRAME-RATE=15.000,AUDIO=\"transcoded-audio\"\n180p/"),
      std::string::npos)
      << multiview;
  const auto probe = run({"/usr/bin/ffprobe", "-v", "error", "-show_entries", "stream=width,height",
                          "-of", "csv=p=0", base() + "/streams/ladder/180p/playlist.m3u8"},
                         {}, {}, 30s);
  EXPECT_NE(probe.out.find("320,180"), std::string::npos) << probe.out << probe.err;
}

TEST_F(Transcode, EndingAStreamMidwayLeavesTheServerHealthy) {
  start();
  publish("short", "testsrc2=size=1280x720:rate=30", kHevc);
  ASSERT_TRUE(wait_ok("/streams/short/360p/playlist.m3u8")) << mirror_->process().stderr_text();
  EXPECT_EQ(http_request(admin(), "DELETE", "/api/v1/streams/short").status, 200);
  // The rendition ends with the source.
  std::string playlist;
  for (int i = 0; i < 100; ++i) {
    playlist = http_get(http(), "/streams/short/360p/playlist.m3u8").body;
    if (playlist.find("#EXT-X-ENDLIST") != std::string::npos) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_NE(playlist.find("#EXT-X-ENDLIST"), std::string::npos) << playlist;
  const auto health = nlohmann::json::parse(http_get(admin(), "/health").body);
  EXPECT_EQ(health["services"]["transcoding"]["status"], "healthy") << health.dump();
  EXPECT_TRUE(mirror_->process().running());
}

}  // namespace
}  // namespace mirror::testing
