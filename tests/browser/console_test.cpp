// The operator console and signed playback URLs in headless Chromium against
// the real binary.
#include "browser/browser_support.h"
#include "integration/mirror_fixture.h"
#include "support/fixtures.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <iostream>

namespace mirror::testing {
namespace {

using namespace std::chrono_literals;

// Sign-in (a wrong token, then the right one), the table filling as three
// streams start and showing the one whose publisher left as ended, the
// Disconnect action, the RTP declaration form (with markup in its SDP that
// must not run) and signing out: tests/browser/console.mjs drives it.
TEST(ConsoleBrowser, OperatorSignsInWatchesStreamsAndActs) {
  if (!browser_available()) GTEST_SKIP() << "chromium or npm packages missing";
  MirrorInstance mirror("  admin_token: \"console-browser-token\"\n", {{"MIRROR_INGESTION_RECONNECT_DELAY", "1s"}});
  ASSERT_TRUE(mirror.wait_ready()) << mirror.process().stderr_text();
  const std::string report = mirror.dir() + "/console.json";
  auto r = run({node_binary(), source_dir() + "/tests/browser/console.mjs", "--admin",
                "http://127.0.0.1:" + std::to_string(mirror.ports().admin), "--token", "console-browser-token",
                "--srt-port", std::to_string(mirror.ports().srt), "--sdp-port", std::to_string(free_tcp_udp_port()),
                "--shots", artifacts("console"), "--json", report},
               {{"CHROMIUM", chromium_binary()}}, {}, 240s);
  EXPECT_EQ(r.status, 0) << r.out << r.err << read_file(report) << mirror.process().stderr_text().substr(0, 4000);
  std::cout << r.out;
}

// A signed playback URL plays in hls.js from the player page; the same
// stream without its token, with another stream's, or with an expired one is
// refused with 403 JSON (the integration tests check each refusal).
TEST(ConsoleBrowser, SignedPlaybackUrlPlaysInHlsJs) {
  if (!browser_available()) GTEST_SKIP() << "chromium or npm packages missing";
  MirrorInstance mirror("  admin_token: \"console-browser-token\"\n  playback_secret: \"a-playback-secret-for-tests\"\n");
  ASSERT_TRUE(mirror.wait_ready()) << mirror.process().stderr_text();
  Process sender(live_srt_sender(mirror.ports().srt, "signed"));
  auto minted = http_request(mirror.ports().admin, "POST", "/api/v1/streams/signed/token",
                             {{"Authorization", "Bearer console-browser-token"}});
  ASSERT_EQ(minted.status, 200) << minted.body;
  const std::string token = nlohmann::json::parse(minted.body)["token"];
  ASSERT_TRUE(eventually(
      [&] { return http_get(mirror.ports().http, "/streams/signed/index.m3u8?token=" + token).status == 200; }, 30s))
      << mirror.process().stderr_text();
  EXPECT_EQ(http_get(mirror.ports().http, "/streams/signed/index.m3u8").status, 403);
  const std::string report = mirror.dir() + "/playback.json";
  auto r = run({node_binary(), source_dir() + "/tests/browser/play.mjs", "--page",
                "http://127.0.0.1:" + std::to_string(mirror.ports().http) + "/?token=" + token, "--stream", "signed",
                "--seconds", "10", "--max-stall-ms", "500", "--warmup-ms", "5000", "--allow-error",
                "bufferStalledError", "--json", report},
               {{"CHROMIUM", chromium_binary()}}, {}, 120s);
  EXPECT_EQ(r.status, 0) << r.out << r.err << read_file(report);
  sender.signal(SIGKILL);
}

}  // namespace
}  // namespace mirror::testing
