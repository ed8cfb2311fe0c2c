// LL-HLS delivery of the real binary, fed over SRT by ffmpeg: the playlists
// against the project's LL-HLS checker, the media against ffprobe, and the
// delivery rules under bad and heavy requests.
#include "mirror_fixture.h"
#include "support/fixtures.h"
#include "support/playlist_text.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <sys/resource.h>

#include <filesystem>
#include <sstream>

namespace mirror::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string attribute(const std::string& playlist, const std::string& tag, const std::string& name) {
  return tag_attribute(playlist, tag, name);
}

class HlsDelivery : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists("/usr/bin/ffmpeg")) GTEST_SKIP() << "ffmpeg not installed";
    // Many viewers come from this one address here: lift the per-address cap
    // (server.max_connections_per_ip) that would otherwise refuse them.
    mirror_ = std::make_unique<MirrorInstance>("  max_connections_per_ip: 100000\n");
    ASSERT_TRUE(mirror_->wait_ready()) << mirror_->process().stderr_text();
  }
  void TearDown() override {
    if (sender_) sender_->signal(SIGKILL);
  }

  int http() const { return mirror_->ports().http; }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(http()); }

  // Waits until the stream's media playlist answers 200.
  bool wait_playable(const std::string& name, std::chrono::seconds timeout = 20s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (http_get(http(), "/streams/" + name + "/source/playlist.m3u8").status == 200) return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }

  void start_live(const std::string& name) {
    sender_ = std::make_unique<Process>(live_srt_sender(mirror_->ports().srt, name));
    ASSERT_TRUE(wait_playable(name)) << mirror_->process().stderr_text();
  }

  std::unique_ptr<MirrorInstance> mirror_;
  std::unique_ptr<Process> sender_;
};

TEST_F(HlsDelivery, PlaylistsPassTheLlHlsChecker) {
  start_live("conf");
  auto r = run({node_binary(), source_dir() + "/tests/hls/llhls_check.mjs", "--url",
                base() + "/streams/conf/index.m3u8", "--seconds", "10"},
               {}, {}, 60s);
  EXPECT_EQ(r.status, 0) << r.out << r.err;
}

TEST_F(HlsDelivery, MultivariantDescribesTheSourceAndItsAudio) {
  start_live("mv");
  auto reply = http_get(http(), "/streams/mv/index.m3u8");
  ASSERT_EQ(reply.status, 200);
  EXPECT_EQ(reply.header("content-type"), "application/vnd.apple.mpegurl");
  EXPECT_EQ(reply.header("access-control-allow-origin"), "*");
  const std::string& m = reply.body;
  EXPECT_NE(m.find("CODECS=\"avc1."), std::string::npos) << m;
  EXPECT_NE(m.find(",mp4a.40.2\""), std::string::npos) << m;
  EXPECT_NE(m.find("RESOLUTION=640x360"), std::string::npos);
  EXPECT_NE(m.find("FRAME-RATE=30.000"), std::string::npos);
  EXPECT_NE(m.find("AUDIO=\"audio\""), std::string::npos);
  EXPECT_NE(m.find("#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\""), std::string::npos);
  EXPECT_GT(std::stol(attribute(m, "#EXT-X-STREAM-INF", "BANDWIDTH")), 50000);
  auto list = nlohmann::json::parse(http_get(http(), "/streams").body);
  ASSERT_EQ(list["streams"].size(), 1u);
  EXPECT_EQ(list["streams"][0]["name"], "mv");
  EXPECT_EQ(list["streams"][0]["state"], "live");
  EXPECT_EQ(list["streams"][0]["video"]["width"], 640);
  // Every rendition decodes.
  auto probe = run({"/usr/bin/ffprobe", "-v", "error", "-show_entries", "stream=codec_type,codec_name",
                    "-of", "csv=p=0", base() + "/streams/mv/index.m3u8"},
                   {}, {}, 30s);
  EXPECT_NE(probe.out.find("h264,video"), std::string::npos) << probe.out << probe.err;
  EXPECT_NE(probe.out.find("aac,audio"), std::string::npos) << probe.out;
}

// The whole of a short file, once the stream has ended, equals the source:
// same number of frames and the same timestamps (relative to the first).
TEST_F(HlsDelivery, FfprobeSeesTheSourceTimestamps) {
  const std::string file = h264_aac_720p30_ts();
  ASSERT_FALSE(file.empty());
  auto sent = run({"/usr/bin/ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-i", file, "-c",
                   "copy", "-f", "mpegts",
                   "srt://127.0.0.1:" + std::to_string(mirror_->ports().srt) +
                       "?mode=caller&pkt_size=1316&streamid=vod"},
                  {}, {}, 60s);
  ASSERT_EQ(sent.status, 0) << sent.err;
  // The stream ends when its reconnect window passes; its playlists then
  // carry EXT-X-ENDLIST and stay readable for a while.
  std::string playlist;
  for (int i = 0; i < 200; ++i) {
    playlist = http_get(http(), "/streams/vod/source/playlist.m3u8").body;
    if (playlist.find("#EXT-X-ENDLIST") != std::string::npos) break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_NE(playlist.find("#EXT-X-ENDLIST"), std::string::npos) << playlist;
  auto packets = [](const std::string& input, const std::string& stream) {
    auto r = run({"/usr/bin/ffprobe", "-v", "error", "-select_streams", stream, "-show_entries",
                  "packet=pts,dts", "-of", "csv=p=0", input},
                 {}, {}, 60s);
    std::vector<std::pair<long, long>> out;
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);) {
      long pts = 0, dts = 0;
      if (std::sscanf(line.c_str(), "%ld,%ld", &pts, &dts) == 2) out.emplace_back(pts, dts);
    }
    return out;
  };
  const auto source = packets(file, "v:0");
  const auto served = packets(base() + "/streams/vod/source/playlist.m3u8", "v:0");
  ASSERT_FALSE(source.empty());
  // Everything the ingest received is served. (A sender that hangs up may
  // lose its last frames in flight, before they reach the ingest.)
  auto info = nlohmann::json::parse(http_get(mirror_->ports().admin, "/api/v1/streams/vod").body,
                                    nullptr, false);
  if (info.is_object() && info.contains("frames")) {
    EXPECT_EQ(served.size(), info["frames"]["video"].get<std::size_t>());
  }
  ASSERT_GE(served.size() + 30, source.size());
  ASSERT_LE(served.size(), source.size());
  for (std::size_t i = 0; i < served.size(); ++i) {
    EXPECT_EQ(served[i].first - served[0].second, source[i].first - source[0].second) << "frame " << i;
    EXPECT_EQ(served[i].second - served[0].second, source[i].second - source[0].second) << "frame " << i;
  }
  const auto source_audio = packets(file, "a:0");
  const auto served_audio = packets(base() + "/streams/vod/audio/playlist.m3u8", "a:0");
  // Audio before the first video frame is not played; nor is the sender's lost tail.
  EXPECT_GE(served_audio.size() + 50, source_audio.size());
  EXPECT_LE(served_audio.size(), source_audio.size());
}

TEST_F(HlsDelivery, BadRequestsGetClearErrors) {
  start_live("bad");
  const std::string pl = http_get(http(), "/streams/bad/source/playlist.m3u8").body;
  const long last = std::stol(attribute(pl, "#EXT-X-RENDITION-REPORT", "LAST-MSN"));
  auto expect_json_error = [&](const std::string& path, int status) {
    auto r = http_get(http(), path);
    EXPECT_EQ(r.status, status) << path;
    EXPECT_EQ(r.header("content-type"), "application/json") << path;
    auto body = nlohmann::json::parse(r.body, nullptr, false);
    EXPECT_TRUE(body.is_object() && body.contains("code") && body.contains("message")) << r.body;
  };
  const std::string p = "/streams/bad/source/playlist.m3u8";
  expect_json_error(p + "?_HLS_msn=" + std::to_string(last + 3), 400);
  expect_json_error(p + "?_HLS_msn=99999999999999999999999", 400);
  expect_json_error(p + "?_HLS_part=1", 400);
  expect_json_error(p + "?_HLS_msn=abc", 400);
  expect_json_error(p + "?_HLS_msn=" + std::to_string(last) + "&_HLS_part=-1", 400);
  expect_json_error(p + "?_HLS_msn=" + std::to_string(last) + "&_HLS_skip=maybe", 400);
  expect_json_error("/streams/nope/index.m3u8", 404);
  expect_json_error("/streams/bad/nope/playlist.m3u8", 404);
  expect_json_error("/streams/bad/source/part-1.0.m4s", 404);
  expect_json_error("/streams/bad/source/seg-1.m4s", 404);
  expect_json_error("/streams/bad/source/init-999.mp4", 404);
  expect_json_error("/streams/bad/source/part-abc.m4s", 404);
  expect_json_error("/streams/../../etc/passwd", 400);
  expect_json_error("/streams/bad/../../admin", 400);
  auto long_url = http_get(http(), "/streams/bad/source/playlist.m3u8?x=" + std::string(20000, 'a'));
  EXPECT_GE(long_url.status, 400);
  EXPECT_LT(long_url.status, 500);
  // The server is still serving.
  EXPECT_EQ(http_get(http(), p).status, 200);
}

TEST_F(HlsDelivery, BlockingReloadWaitsForThePartThenAnswersWithIt) {
  start_live("block");
  const std::string p = "/streams/block/source/playlist.m3u8";
  const std::string pl = http_get(http(), p).body;
  const std::string hint = attribute(pl, "#EXT-X-PRELOAD-HINT", "URI");
  const auto parsed = parse_part_uri(hint);
  ASSERT_TRUE(parsed) << pl;
  const std::string msn = std::to_string(parsed->first), part_index = std::to_string(parsed->second);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = http_get(http(), p + "?_HLS_msn=" + msn + "&_HLS_part=" + part_index);
  const auto waited = std::chrono::steady_clock::now() - t0;
  ASSERT_EQ(r.status, 200);
  EXPECT_LT(waited, 2s);
  EXPECT_NE(r.body.find("URI=\"" + hint + "\""), std::string::npos) << r.body;
  // Cacheable at an edge for three target durations (the URL names this
  // version of the playlist).
  EXPECT_EQ(r.header("cache-control"), "public, max-age=" + std::to_string(3 * std::stoi(pl.substr(pl.find("#EXT-X-TARGETDURATION:") + 22))));
  // A part not produced yet: 404 that no edge keeps.
  auto missing = http_get(http(), "/streams/block/source/part-" + std::to_string(parsed->first + 50) + ".0.m4s");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.header("cache-control"), "no-store");
  // The part itself is immutable media.
  auto part = http_get(http(), "/streams/block/source/" + hint);
  ASSERT_EQ(part.status, 200);
  EXPECT_EQ(part.header("content-type"), "video/mp4");
  EXPECT_NE(part.header("cache-control").find("immutable"), std::string::npos);
  EXPECT_EQ(part.body.substr(4, 4), "moof");
  // A delta update skips what the client has.
  auto delta = http_get(http(), p + "?_HLS_msn=" + msn + "&_HLS_part=" + part_index + "&_HLS_skip=YES");
  ASSERT_EQ(delta.status, 200);
}

TEST_F(HlsDelivery, PreloadHintedPartIsStreamedAsItIsWritten) {
  start_live("hint");
  const std::string pl = http_get(http(), "/streams/hint/source/playlist.m3u8").body;
  const std::string hint = attribute(pl, "#EXT-X-PRELOAD-HINT", "URI");
  ASSERT_FALSE(hint.empty());
  RawConnection c(http());
  ASSERT_TRUE(c.send("GET /streams/hint/source/" + hint + " HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto reply = c.read_reply(5s);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->header("transfer-encoding"), "chunked");
  EXPECT_EQ(reply->body.substr(4, 4), "moof");
  // What was streamed is the part as published.
  auto whole = http_get(http(), "/streams/hint/source/" + hint);
  EXPECT_EQ(whole.body, reply->body);
}

TEST_F(HlsDelivery, ThousandsOfHeldRequestsFromOneClientAreAllAnswered) {
  const int count = raise_descriptor_limit() >= 5000 ? 2000 : 400;
  start_live("many");
  const std::string p = "/streams/many/source/playlist.m3u8";
  const std::string pl = http_get(http(), p).body;
  const long last = std::stol(attribute(pl, "#EXT-X-RENDITION-REPORT", "LAST-MSN"));
  // Everyone asks for the first part of the segment after next.
  const std::string request = "GET " + p + "?_HLS_msn=" + std::to_string(last + 2) +
                              "&_HLS_part=0 HTTP/1.1\r\nHost: x\r\n\r\n";
  std::vector<std::unique_ptr<RawConnection>> conns;
  for (int i = 0; i < count; ++i) {
    auto c = std::make_unique<RawConnection>(http());
    ASSERT_TRUE(c->connected()) << i;
    ASSERT_TRUE(c->send(request));
    conns.push_back(std::move(c));
  }
  int ok = 0;
  for (auto& c : conns) {
    auto reply = c->read_reply(8s);
    if (reply && reply->status == 200 &&
        reply->body.find("part-" + std::to_string(last + 2) + ".0.m4s") != std::string::npos) {
      ++ok;
    }
  }
  EXPECT_EQ(ok, count);
  // And the server still answers others.
  EXPECT_EQ(http_get(http(), p).status, 200);
}

TEST_F(HlsDelivery, HeldRequestsGetTheFinalPlaylistWhenTheStreamEnds) {
  start_live("ending");
  const std::string p = "/streams/ending/source/playlist.m3u8";
  const std::string pl = http_get(http(), p).body;
  const long last = std::stol(attribute(pl, "#EXT-X-RENDITION-REPORT", "LAST-MSN"));
  RawConnection held(http());
  ASSERT_TRUE(held.send("GET " + p + "?_HLS_msn=" + std::to_string(last + 2) +
                        "&_HLS_part=5 HTTP/1.1\r\nHost: x\r\n\r\n"));
  // End the stream from the admin API while the request waits.
  auto del = http_request(mirror_->ports().admin, "DELETE", "/api/v1/streams/ending");
  EXPECT_EQ(del.status / 100, 2) << del.body;
  auto reply = held.read_reply(5s);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
  EXPECT_NE(reply->body.find("#EXT-X-ENDLIST"), std::string::npos) << reply->body;
}

}  // namespace
}  // namespace mirror::testing
