// hls.js (lowLatencyMode) in headless Chromium plays an SRT-fed live stream
// from Mirror's own player page for 30 s: playback starts, currentTime keeps
// up with the wall clock, no stall longer than a part, no hls.js error.
#include "integration/mirror_fixture.h"
#include "support/fixtures.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

namespace mirror::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

TEST(HlsBrowser, HlsJsPlaysAnSrtFedStreamForThirtySeconds) {
  if (!fs::exists("/usr/bin/chromium")) GTEST_SKIP() << "chromium not installed";
  if (!fs::exists(source_dir() + "/node_modules/playwright-core")) GTEST_SKIP() << "npm packages missing";
  MirrorInstance mirror;
  ASSERT_TRUE(mirror.wait_ready()) << mirror.process().stderr_text();
  Process sender(live_srt_sender(mirror.ports().srt, "browser"));
  bool playable = false;
  for (int i = 0; i < 200 && !playable; ++i) {
    playable = http_get(mirror.ports().http, "/streams/browser/index.m3u8").status == 200;
    if (!playable) std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(playable) << mirror.process().stderr_text();
  const std::string report = mirror.dir() + "/playback.json";
  auto r = run({"/usr/bin/node", source_dir() + "/tests/browser/play.mjs", "--page",
                "http://127.0.0.1:" + std::to_string(mirror.ports().http) + "/", "--stream", "browser",
                "--seconds", "30", "--max-stall-ms", "200", "--json", report},
               {}, {}, 120s);
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  auto json = nlohmann::json::parse(read_file(report), nullptr, false);
  ASSERT_FALSE(json.is_discarded()) << read_file(report);
  std::cout << "playback: " << json.dump() << "\n";
  sender.signal(SIGKILL);
}

}  // namespace
}  // namespace mirror::testing
