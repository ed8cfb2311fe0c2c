// The multiview wall in headless Chromium against the real binary: nine live
// streams over HTTP/2 (tests/browser/wall.mjs drives the page).
#include "browser/browser_support.h"
#include "integration/mirror_fixture.h"
#include "support/fixtures.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <iostream>

namespace mirror::testing {
namespace {

using namespace std::chrono_literals;

// Nine streams fill a 3x3 wall in name order and play for 20 s; tones move
// their meters and a silent feed is flagged; a stream that ends shows its
// last picture and resumes; a stopped picture is flagged frozen; clicks,
// keys, the player link, the layout menu and the URL work. The renditions
// are 320x180 at 15 fps so that nine senders, nine transcoders and nine
// players fit on two cores; screenshots go to build/dev/test-artifacts/wall.
TEST(WallBrowser, NineStreamsPlayWithMetersWarningsAndSlates) {
  if (!browser_available()) GTEST_SKIP() << "chromium or npm packages missing";
  // Looped files (B-frames, a 1 s GOP), so that senders cost next to nothing.
  auto clip = [](const std::string& name, const std::string& sound) {
    return fixture(name, "-f lavfi -i testsrc2=size=320x180:rate=15 -f lavfi -i " + sound +
                             " -t 20 -c:v libx264 -preset veryfast -bf 2 -g 15 -pix_fmt yuv420p -threads 1"
                             " -c:a aac -b:a 64k -pes_payload_size 0 -f mpegts");
  };
  const auto tone = clip("wall_tone_180p15.ts", "sine=frequency=440:sample_rate=48000");
  const auto silence = clip("wall_silence_180p15.ts", "anullsrc=channel_layout=stereo:sample_rate=48000");
  ASSERT_FALSE(tone.empty() || silence.empty());
  MirrorInstance mirror("", {{"MIRROR_INGESTION_RECONNECT_DELAY", "1s"},
                             {"MIRROR_TRANSCODE_RENDITIONS", "180p:320x180:150k:15"}});
  ASSERT_TRUE(mirror.wait_ready()) << mirror.process().stderr_text();
  const std::string spki = logged_spki(mirror);
  ASSERT_FALSE(spki.empty()) << mirror.process().stderr_text();
  const std::string report = mirror.dir() + "/wall.json";
  auto r = run({node_binary(), source_dir() + "/tests/browser/wall.mjs", "--page",
                "https://127.0.0.1:" + std::to_string(mirror.ports().https) + "/wall", "--srt-port",
                std::to_string(mirror.ports().srt), "--tone-file", tone, "--silent-file", silence, "--spki", spki, "--shots", artifacts("wall"), "--json",
                report},
               {{"CHROMIUM", chromium_binary()}}, {}, 290s);
  EXPECT_EQ(r.status, 0) << r.out << r.err << read_file(report) << mirror.process().stderr_text().substr(0, 4000);
  std::cout << r.out;
}

}  // namespace
}  // namespace mirror::testing
