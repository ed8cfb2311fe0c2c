// hls.js (lowLatencyMode) in headless Chromium plays an SRT-fed live stream
// from Mirror's own player page for 30 s: playback starts, currentTime keeps
// up with the wall clock, no stall longer than two parts and no hls.js error
// after the first 5 s. (In those, hls.js seeks to the live edge of a stream
// a second old and catches up; on a loaded 2-core machine its start-up
// sometimes aborts a part and races its own audio buffer, and recovers: the
// report still lists it.) An H.264 source plays through its full playlist,
// an HEVC one through its H.264 rendition.
#include "integration/mirror_fixture.h"
#include "support/fixtures.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>

namespace mirror::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Plays stream `name`, published by the sender `make_sender(srt_port)`
// gives, from the player page for 30 s; returns play.mjs's report.
nlohmann::json play_for_thirty_seconds(const std::function<std::vector<std::string>(int)>& make_sender,
                                       const std::string& name) {
  MirrorInstance mirror;
  EXPECT_TRUE(mirror.wait_ready()) << mirror.process().stderr_text();
  Process sender(make_sender(mirror.ports().srt));
  bool playable = false;
  for (int i = 0; i < 300 && !playable; ++i) {
    playable = http_get(mirror.ports().http, "/streams/" + name + "/index.m3u8").status == 200;
    if (!playable) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(playable) << mirror.process().stderr_text();
  if (!playable) return nlohmann::json();
  const std::string report = mirror.dir() + "/playback.json";
  auto r = run({node_binary(), source_dir() + "/tests/browser/play.mjs", "--page",
                "http://127.0.0.1:" + std::to_string(mirror.ports().http) + "/", "--stream", name,
                "--seconds", "30", "--max-stall-ms", "200", "--warmup-ms", "5000", "--allow-error",
                "bufferStalledError", "--json", report},
               {{"CHROMIUM", chromium_binary()}}, {}, 120s);
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  auto json = nlohmann::json::parse(read_file(report), nullptr, false);
  EXPECT_FALSE(json.is_discarded()) << read_file(report);
  std::cout << "playback: " << json.dump() << "\n";
  sender.signal(SIGKILL);
  return json;
}

bool browser_available() {
  return !chromium_binary().empty() && !node_binary().empty() &&
         fs::exists(source_dir() + "/node_modules/playwright-core");
}

TEST(HlsBrowser, HlsJsPlaysAnSrtFedStreamForThirtySeconds) {
  if (!browser_available()) GTEST_SKIP() << "chromium or npm packages missing";
  const auto json = play_for_thirty_seconds([](int port) { return live_srt_sender(port, "browser"); }, "browser");
  if (json.is_object()) {
    EXPECT_NE(json.value("playlistUrl", "").find("/streams/browser/index.m3u8"), std::string::npos);
  }
}

// Chromium cannot decode HEVC here: the player page plays such a source
// through its H.264 rendition (the multiview playlist).
TEST(HlsBrowser, HevcSourcePlaysThroughItsH264Rendition) {
  if (!browser_available()) GTEST_SKIP() << "chromium or npm packages missing";
  const auto json = play_for_thirty_seconds(
      [](int port) {
        return std::vector<std::string>{
            "/usr/bin/ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi", "-i",
            "testsrc2=size=640x360:rate=30", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
            "-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "keyint=30:log-level=error",
            "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-pes_payload_size", "0", "-f", "mpegts",
            "srt://127.0.0.1:" + std::to_string(port) + "?mode=caller&pkt_size=1316&streamid=hevc"};
      },
      "hevc");
  if (json.is_object()) {
    EXPECT_NE(json.value("playlistUrl", "").find("/streams/hevc/multiview.m3u8"), std::string::npos) << json.dump();
  }
}

}  // namespace
}  // namespace mirror::testing
