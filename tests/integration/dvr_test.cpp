// The DVR through the real binary: a live SRT stream recorded into the local
// cache and served back as HLS over windows of time; a restart of the stream
// (one timeline, two sessions); a kill -9 while writing; a cache that cannot
// be written (live goes on, /health says degraded); retention; and every kind
// of bad window or path, each a 400 with a JSON body.
#include "mirror_fixture.h"
#include "api/dvr_window.h"
#include "support/fixtures.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <sstream>

namespace mirror::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct Entry {
  std::int64_t pdt_ms = 0;
  double duration = 0;
  std::string uri;
};

struct MediaPlaylist {
  int status = 0;
  std::string text;
  std::vector<Entry> entries;
  std::vector<std::string> maps;
  int discontinuities = 0;
  bool endlist = false;
  bool event = false;
  double total() const {
    double t = 0;
    for (const auto& e : entries) t += e.duration;
    return t;
  }
  double longest() const {
    double t = 0;
    for (const auto& e : entries) t = std::max(t, e.duration);
    return t;
  }
};

MediaPlaylist parse(int status, const std::string& text) {
  MediaPlaylist p;
  p.status = status;
  p.text = text;
  std::istringstream in(text);
  Entry next;
  bool has_pdt = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("#EXT-X-PROGRAM-DATE-TIME:", 0) == 0) {
      next.pdt_ms = api::parse_dvr_time(line.substr(25)).value_or(-1);
      has_pdt = true;
    } else if (line.rfind("#EXTINF:", 0) == 0) {
      next.duration = std::stod(line.substr(8));
    } else if (line.rfind("#EXT-X-MAP:URI=\"", 0) == 0) {
      p.maps.push_back(line.substr(16, line.find('"', 16) - 16));
    } else if (line == "#EXT-X-DISCONTINUITY") {
      ++p.discontinuities;
    } else if (line == "#EXT-X-ENDLIST") {
      p.endlist = true;
    } else if (line == "#EXT-X-PLAYLIST-TYPE:EVENT") {
      p.event = true;
    } else if (!line.empty() && line[0] != '#') {
      next.uri = line;
      EXPECT_TRUE(has_pdt) << "a segment without EXT-X-PROGRAM-DATE-TIME: " << line;
      p.entries.push_back(next);
      next = {};
      has_pdt = false;
    }
  }
  return p;
}

// The top-level MP4 boxes of a file add up to its length exactly: it is
// whole, not cut short.
bool whole_mp4(const std::string& bytes) {
  std::size_t at = 0;
  while (at + 8 <= bytes.size()) {
    std::uint64_t size = (std::uint64_t{static_cast<unsigned char>(bytes[at])} << 24) |
                         (std::uint64_t{static_cast<unsigned char>(bytes[at + 1])} << 16) |
                         (std::uint64_t{static_cast<unsigned char>(bytes[at + 2])} << 8) |
                         std::uint64_t{static_cast<unsigned char>(bytes[at + 3])};
    if (size < 8) return false;
    at += size;
  }
  return at == bytes.size() && !bytes.empty();
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string seconds_param(std::int64_t ms) { return std::to_string(ms / 1000) + "." + std::to_string(ms % 1000 + 1000).substr(1); }

class Dvr : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists("/usr/bin/ffmpeg") || !fs::exists("/usr/bin/ffprobe")) GTEST_SKIP() << "ffmpeg not installed";
  }
  void TearDown() override {
    if (sender_) sender_->signal(SIGKILL);
  }

  void start(std::map<std::string, std::string> env = {}) {
    env.emplace("MIRROR_TRANSCODING_ENABLED", "false");
    env.emplace("MIRROR_INGESTION_RECONNECT_DELAY", "1s");
    mirror_ = std::make_unique<MirrorInstance>("", std::move(env));
    ASSERT_TRUE(mirror_->wait_ready()) << mirror_->process().stderr_text();
  }

  void publish(const std::string& name, const std::string& rate = "", const std::vector<std::string>& video = {}) {
    sender_ = std::make_unique<Process>(video.empty() ? live_srt_sender(mirror_->ports().srt, name)
                                                      : live_srt_sender(mirror_->ports().srt, name, rate, video));
    ASSERT_TRUE(eventually([&] { return get("/streams/" + name + "/index.m3u8").status == 200; }, 20s))
        << mirror_->process().stderr_text();
  }

  void stop_publisher() {
    if (!sender_) return;
    sender_->signal(SIGKILL);
    sender_->wait(5s);
    sender_.reset();
  }

  HttpReply get(const std::string& path) { return http_get(mirror_->ports().http, path); }
  HttpReply admin(const std::string& path) { return http_get(mirror_->ports().admin, path); }

  MediaPlaylist dvr_playlist(const std::string& name, const std::string& rendition, const std::string& query = "") {
    auto r = get("/streams/" + name + "/dvr/" + rendition + "/playlist.m3u8" + (query.empty() ? "" : "?" + query));
    // Before the first segment is recorded the answer is a JSON 404.
    if (r.status != 200) return MediaPlaylist{r.status, r.body};
    return parse(r.status, r.body);
  }

  // Waits until the rendition's DVR playlist lists at least `n` segments.
  MediaPlaylist wait_segments(const std::string& name, const std::string& rendition, std::size_t n,
                              std::chrono::seconds timeout = 40s) {
    MediaPlaylist p;
    eventually(
        [&] {
          p = dvr_playlist(name, rendition);
          return p.entries.size() >= n;
        },
        timeout);
    return p;
  }

  nlohmann::json storage_health() {
    auto h = nlohmann::json::parse(admin("/health").body, nullptr, false);
    if (h.is_discarded() || !h.contains("services") || !h["services"].contains("storage")) return {};
    return h["services"]["storage"];
  }

  std::unique_ptr<MirrorInstance> mirror_;
  std::unique_ptr<Process> sender_;
};

void expect_json_400(const HttpReply& r, const std::string& what) {
  EXPECT_EQ(r.status, 400) << what << ": " << r.body;
  EXPECT_EQ(r.header("content-type"), "application/json") << what;
  auto body = nlohmann::json::parse(r.body, nullptr, false);
  EXPECT_FALSE(body.is_discarded()) << what;
  EXPECT_EQ(body.value("code", ""), "INVALID_INPUT") << what << ": " << r.body;
}

TEST_F(Dvr, RecordsALiveStreamServesWindowsAndKeepsOneTimelineAcrossARestart) {
  start();
  publish("cam");
  auto p = wait_segments("cam", "source", 8);
  ASSERT_GE(p.entries.size(), 8u) << p.status << " " << p.text;
  EXPECT_TRUE(p.event) << "a live recording is an EVENT playlist";
  EXPECT_FALSE(p.endlist);
  ASSERT_FALSE(p.maps.empty());
  for (std::size_t i = 1; i < p.entries.size(); ++i) {
    EXPECT_GT(p.entries[i].pdt_ms, p.entries[i - 1].pdt_ms);
    EXPECT_GT(p.entries[i].duration, 0.1);
  }
  EXPECT_NEAR(static_cast<double>(now_ms() - p.entries.front().pdt_ms) / 1000.0, p.total(), 8.0)
      << "the program date-times follow the wall clock";
  EXPECT_EQ(dvr_playlist("cam", "audio").status, 200);

  // The recorded bytes are the live ones: the same segment number from the
  // live window and from the cache.
  const auto live = parse(200, get("/streams/cam/source/playlist.m3u8").body);
  ASSERT_FALSE(live.entries.empty());
  const std::string live_uri = live.entries.front().uri;  // seg-N.m4s
  const auto recorded = std::find_if(p.entries.begin(), p.entries.end(), [&](const Entry& e) {
    return e.uri.ends_with("/" + live_uri);
  });
  ASSERT_NE(recorded, p.entries.end()) << live_uri << " is not in\n" << p.text;
  const auto from_cache = get("/streams/cam/dvr/source/" + recorded->uri);
  EXPECT_EQ(from_cache.status, 200);
  EXPECT_EQ(from_cache.header("content-type"), "video/mp4");
  const auto live_segment = get("/streams/cam/source/" + live_uri);
  EXPECT_EQ(from_cache.body, live_segment.body);
  // The oldest segment of the live window has left memory: its parts come
  // from the cache too, as byte ranges of the segment.
  const std::string msn = live_uri.substr(4, live_uri.size() - 8);
  std::string parts;
  for (int i = 0;; ++i) {
    auto part = get("/streams/cam/source/part-" + msn + "." + std::to_string(i) + ".m4s");
    if (part.status != 200) break;
    parts += part.body;
  }
  EXPECT_EQ(parts, live_segment.body) << "the parts of a segment out of memory add up to it";
  EXPECT_EQ(get("/streams/cam/dvr/source/" + p.maps.front()).status, 200);

  // The multivariant playlist names the stream's renditions.
  HttpReply multivariant;
  ASSERT_TRUE(eventually([&] { return (multivariant = get("/streams/cam/dvr/index.m3u8")).status == 200; }, 10s));
  EXPECT_NE(multivariant.body.find("source/playlist.m3u8"), std::string::npos) << multivariant.body;

  // A window of 6 s, two seconds in: VOD, carried on to the media playlists,
  // and ffprobe decodes that much (within one segment).
  const std::int64_t from = p.entries.front().pdt_ms + 2000;
  const std::string window = "start=" + seconds_param(from) + "&end=" + seconds_param(from + 6000);
  auto windowed = get("/streams/cam/dvr/index.m3u8?" + window);
  ASSERT_EQ(windowed.status, 200);
  EXPECT_NE(windowed.body.find("source/playlist.m3u8?" + window), std::string::npos) << windowed.body;
  auto vod = dvr_playlist("cam", "source", window);
  ASSERT_EQ(vod.status, 200);
  EXPECT_TRUE(vod.endlist);
  EXPECT_NE(vod.text.find("#EXT-X-PLAYLIST-TYPE:VOD"), std::string::npos);
  EXPECT_NEAR(vod.total(), 6.0, vod.longest() + 0.05) << vod.text;
  const std::string url = "http://127.0.0.1:" + std::to_string(mirror_->ports().http) + "/streams/cam/dvr/index.m3u8?" + window;
  auto probe = run({"/usr/bin/ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                    "stream=nb_read_frames:format=duration", "-of", "json", url},
                   {}, {}, 60s);
  ASSERT_EQ(probe.status, 0) << probe.err;
  auto probed = nlohmann::json::parse(probe.out, nullptr, false);
  ASSERT_FALSE(probed.is_discarded()) << probe.out;
  const double duration = std::stod(probed["format"]["duration"].get<std::string>());
  const int frames = std::stoi(probed["streams"][0]["nb_read_frames"].get<std::string>());
  EXPECT_NEAR(duration, 6.0, vod.longest() + 0.1);
  EXPECT_NEAR(frames, 30 * 6, 30 * (vod.longest() + 0.1)) << "every frame decodes";

  // The recording sessions, on both ports.
  auto recordings = nlohmann::json::parse(admin("/api/v1/streams/cam/recordings").body, nullptr, false);
  ASSERT_FALSE(recordings.is_discarded());
  ASSERT_EQ(recordings["sessions"].size(), 1u) << recordings.dump();
  EXPECT_TRUE(recordings["sessions"][0]["recording"].get<bool>());
  EXPECT_TRUE(recordings["sessions"][0]["ended_at"].is_null());
  EXPECT_EQ(nlohmann::json::parse(get("/streams/cam/dvr/sessions.json").body)["sessions"].size(), 1u);

  // Bad windows and paths: 400 with a JSON body, never a crash.
  const std::int64_t now = now_ms();
  const std::string base = "/streams/cam/dvr/source/playlist.m3u8?";
  expect_json_400(get(base + "start=yesterday"), "malformed start");
  expect_json_400(get(base + "end=2026-13-01T00:00:00Z"), "malformed end");
  expect_json_400(get(base + "start=%00"), "undecodable start");
  expect_json_400(get(base + "start=" + seconds_param(now - 1000) + "&end=" + seconds_param(now - 5000)),
                  "end before start");
  expect_json_400(get(base + "end=" + seconds_param(now - 3 * 86'400'000LL)), "window before retention");
  expect_json_400(get(base + "start=" + seconds_param(now + 3'600'000)), "window in the future");
  expect_json_400(get(base + "start=2000-01-01T00:00:00Z&end=2099-01-01T00:00:00Z"), "huge window");
  expect_json_400(get("/streams/cam/dvr/index.m3u8?start=99999999999999999999"), "number out of range");
  expect_json_400(get("/streams/c%2E%2E/dvr/index.m3u8"), "dots in a stream name");
  expect_json_400(get("/streams/%2E%2E%2Fetc/dvr/source/playlist.m3u8"), "a path in a stream name");
  expect_json_400(get("/streams/cam/dvr/s%2Fource/playlist.m3u8"), "a slash in a rendition");
  expect_json_400(get("/streams/cam/dvr/source/..%2F..%2Findex/seg-1.m4s"), "a path as a session");
  expect_json_400(get("/streams/cam/dvr/source/-5/seg-1.m4s"), "a negative session");
  expect_json_400(admin("/api/v1/streams/a%20b/recordings"), "a space in a name");
  EXPECT_EQ(get("/streams/cam/dvr/source/1/index.sqlite").status, 404);
  EXPECT_EQ(get("/streams/cam/dvr/source/1/seg-1.m4s").status, 404);
  EXPECT_EQ(get("/streams/nobody/dvr/index.m3u8").status, 404);

  // The stream ends: its recording is complete.
  stop_publisher();
  ASSERT_TRUE(eventually([&] { return dvr_playlist("cam", "source").endlist; }, 30s));
  // It comes back under the same name: one timeline, a discontinuity, two sessions.
  publish("cam");
  const std::size_t before = dvr_playlist("cam", "source").entries.size();
  auto again = wait_segments("cam", "source", before + 3);
  EXPECT_TRUE(again.event) << "recording again";
  EXPECT_EQ(again.discontinuities, 1) << again.text;
  EXPECT_EQ(again.maps.size(), 2u);
  recordings = nlohmann::json::parse(admin("/api/v1/streams/cam/recordings").body);
  ASSERT_EQ(recordings["sessions"].size(), 2u);
  EXPECT_FALSE(recordings["sessions"][0]["ended_at"].is_null());
  EXPECT_TRUE(recordings["sessions"][1]["recording"].get<bool>());

  auto health = storage_health();
  EXPECT_EQ(health.value("status", ""), "healthy") << health.dump();
}

// What encoders send, not only x264 zerolatency: open-GOP HEVC from x265's
// own GOP structure (CRA pictures with leading pictures, B-frames) at 29.97
// fps. Its recording is listed with exact times, and ffprobe decodes a
// window of it (the multivariant lists its H.264 rendition too).
TEST_F(Dvr, AnOpenGopHevcSourceAt2997IsRecordedAndAWindowDecodes) {
  start();
  publish("hevc", "30000/1001",
          {"-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "keyint=30:bframes=3:log-level=error",
           "-pix_fmt", "yuv420p"});
  auto p = wait_segments("hevc", "source", 8);
  ASSERT_GE(p.entries.size(), 8u) << p.text;
  for (std::size_t i = 1; i < p.entries.size(); ++i) {
    // Each segment starts where the previous one ended (within a frame).
    EXPECT_NEAR(static_cast<double>(p.entries[i].pdt_ms - p.entries[i - 1].pdt_ms) / 1000.0,
                p.entries[i - 1].duration, 0.04);
  }
  const std::int64_t from = p.entries[1].pdt_ms;
  const std::string window = "start=" + seconds_param(from) + "&end=" + seconds_param(from + 5000);
  auto vod = dvr_playlist("hevc", "source", window);
  ASSERT_EQ(vod.status, 200);
  EXPECT_NEAR(vod.total(), 5.0, vod.longest() + 0.05) << vod.text;
  const std::string url = "http://127.0.0.1:" + std::to_string(mirror_->ports().http) +
                          "/streams/hevc/dvr/source/playlist.m3u8?" + window;
  auto probe = run({"/usr/bin/ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                    "stream=codec_name,nb_read_frames:format=duration", "-of", "json", url},
                   {}, {}, 60s);
  ASSERT_EQ(probe.status, 0) << probe.err;
  auto probed = nlohmann::json::parse(probe.out, nullptr, false);
  ASSERT_FALSE(probed.is_discarded()) << probe.out;
  EXPECT_EQ(probed["streams"][0].value("codec_name", ""), "hevc");
  const double duration = std::stod(probed["format"]["duration"].get<std::string>());
  EXPECT_NEAR(duration, 5.0, vod.longest() + 0.1);
  // Leading pictures of the first CRA may not decode without what came before.
  const int frames = std::stoi(probed["streams"][0]["nb_read_frames"].get<std::string>());
  EXPECT_GE(frames, static_cast<int>(29.97 * 5 * 0.8)) << probe.out;
}

// kill -9 while segments are being written: on restart the files and the
// index agree, nothing half-written is served, and the playlists are valid.
TEST_F(Dvr, AKillDuringWritesLeavesNoTruncatedSegmentAndAValidPlaylist) {
  start();
  publish("cam");
  ASSERT_GE(wait_segments("cam", "source", 5).entries.size(), 5u);
  mirror_->process().signal(SIGKILL);
  mirror_->process().wait(10s);
  stop_publisher();
  // What a crash in the middle of a write leaves, and a file nobody indexed.
  const std::string cache = mirror_->dir() + "/cache/cam/source";
  std::string session;
  for (const auto& e : fs::directory_iterator(cache)) session = e.path().filename().string();
  ASSERT_FALSE(session.empty());
  write_file(cache + "/" + session + "/99999999999.m4s.tmp", "half a segm");
  write_file(cache + "/" + session + "/99999999998.m4s", "never indexed");

  mirror_->restart();
  ASSERT_TRUE(mirror_->wait_ready()) << mirror_->process().stderr_text();
  EXPECT_FALSE(fs::exists(cache + "/" + session + "/99999999999.m4s.tmp"));
  EXPECT_FALSE(fs::exists(cache + "/" + session + "/99999999998.m4s"));
  auto p = dvr_playlist("cam", "source");
  ASSERT_EQ(p.status, 200) << p.text;
  EXPECT_TRUE(p.endlist) << "the stream is not live any more";
  ASSERT_GE(p.entries.size(), 4u);
  for (const auto& map : p.maps) EXPECT_TRUE(whole_mp4(get("/streams/cam/dvr/source/" + map).body)) << map;
  for (const auto& e : p.entries) {
    auto r = get("/streams/cam/dvr/source/" + e.uri);
    EXPECT_EQ(r.status, 200) << e.uri;
    EXPECT_TRUE(whole_mp4(r.body)) << e.uri << " is cut short";
  }
  auto recordings = nlohmann::json::parse(admin("/api/v1/streams/cam/recordings").body);
  ASSERT_EQ(recordings["sessions"].size(), 1u);
  EXPECT_FALSE(recordings["sessions"][0]["ended_at"].is_null()) << "the crashed session is closed";
}

// A cache that cannot be written: live delivery goes on, /health says
// degraded, and recording resumes by itself when the cache is usable again.
TEST_F(Dvr, AnUnwritableCachePausesRecordingButNeverLive) {
  start();
  publish("cam");
  ASSERT_GE(wait_segments("cam", "source", 3).entries.size(), 3u);
  const std::string cache = mirror_->dir() + "/cache";
  // The stream's folder becomes a file: no segment can be written under it.
  fs::rename(cache + "/cam", cache + "/cam.moved");
  write_file(cache + "/cam", "in the way");
  nlohmann::json health;
  ASSERT_TRUE(eventually([&] { return (health = storage_health()).value("status", "") == "degraded"; }, 20s))
      << health.dump();
  EXPECT_NE(health.value("message", "").find("recording paused"), std::string::npos) << health.dump();
  const auto before = parse(200, get("/streams/cam/source/playlist.m3u8").body);
  ASSERT_FALSE(before.entries.empty());
  const std::string last_before = before.entries.back().uri;
  ASSERT_TRUE(eventually(
      [&] {
        const auto now = parse(200, get("/streams/cam/source/playlist.m3u8").body);
        return now.entries.size() >= 5 && now.entries[now.entries.size() - 5].uri > last_before;
      },
      30s))
      << "live goes on while the cache fails";
  // Segments the cache could not take stay in memory while they are listed,
  // older than the playlist's parts too.
  const auto during = parse(200, get("/streams/cam/source/playlist.m3u8").body);
  int served = 0;
  for (const auto& e : during.entries) {
    if (e.uri <= last_before) continue;
    EXPECT_EQ(get("/streams/cam/source/" + e.uri).status, 200) << e.uri;
    ++served;
  }
  EXPECT_GE(served, 5);
  EXPECT_NE(admin("/metrics").body.find("mirror_storage_write_errors_total"), std::string::npos);

  fs::remove(cache + "/cam");
  fs::rename(cache + "/cam.moved", cache + "/cam");
  ASSERT_TRUE(eventually([&] { return storage_health().value("status", "") == "healthy"; }, 20s))
      << storage_health().dump();
  // Health turns with the first segment written, of any rendition; the
  // source's own next one follows within a segment or two.
  EXPECT_TRUE(eventually([&] {
    const auto p = dvr_playlist("cam", "source");
    return p.status == 200 && !p.entries.empty() && p.entries.back().pdt_ms > now_ms() - 10'000;
  }, 20s)) << "recording again";
}

// Retention of 30 s: older segments leave the playlist, the index and the
// cache folder.
TEST_F(Dvr, TheSweeperRemovesSegmentsOlderThanTheRetentionTime) {
  start({{"MIRROR_STORAGE_DVR_RETENTION_TIME", "30s"}});
  publish("cam");
  auto first = wait_segments("cam", "source", 3);
  ASSERT_GE(first.entries.size(), 3u);
  const Entry oldest = first.entries.front();
  ASSERT_EQ(get("/streams/cam/dvr/source/" + oldest.uri).status, 200);
  const std::string file = mirror_->dir() + "/cache/cam/source/" + oldest.uri.substr(0, oldest.uri.find('/')) + "/" +
                           oldest.uri.substr(oldest.uri.find("seg-") + 4);
  ASSERT_TRUE(fs::exists(file)) << file;
  // Retention (30 s) plus one sweep interval (3 s), with room for a slow machine.
  ASSERT_TRUE(eventually([&] { return !fs::exists(file); }, 60s)) << file;
  // The row went before the file.
  const auto p = dvr_playlist("cam", "source");
  ASSERT_EQ(p.status, 200);
  EXPECT_GT(p.entries.front().pdt_ms, oldest.pdt_ms) << "the oldest segment left the playlist";
  EXPECT_GE(p.entries.front().pdt_ms, now_ms() - 30'000 - 3'000 - 5'000);
  EXPECT_EQ(get("/streams/cam/dvr/source/" + oldest.uri).status, 404);
  std::size_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(mirror_->dir() + "/cache/cam/source")) {
    files += e.path().extension() == ".m4s" ? 1 : 0;
  }
  EXPECT_LE(files, p.entries.size() + 5) << "no file outlives its row";
  EXPECT_NE(admin("/metrics").body.find("mirror_storage_segments_removed_total{reason=\"expired\"}"),
            std::string::npos);
}

}  // namespace
}  // namespace mirror::testing
