// The player page's DVR in headless Chromium against the real binary: after
// 75 s of a live SRT stream, "−1 min" plays the recording a minute behind,
// the slider seeks further back, "Live" returns to the edge, and a
// ?start=&end= window plays to its end in hls.js (tests/browser/dvr.mjs).
#include "browser/browser_support.h"
#include "integration/mirror_fixture.h"
#include "support/fixtures.h"

#include <gtest/gtest.h>

#include <csignal>
#include <iostream>
#include <thread>

namespace mirror::testing {
namespace {

using namespace std::chrono_literals;

TEST(DvrBrowser, SeeksBackAMinuteAndReturnsToLive) {
  if (!browser_available()) GTEST_SKIP() << "chromium or npm packages missing";
  MirrorInstance mirror("", {{"MIRROR_TRANSCODING_ENABLED", "false"}});
  ASSERT_TRUE(mirror.wait_ready()) << mirror.process().stderr_text();
  Process sender(live_srt_sender(mirror.ports().srt, "dvr"));
  ASSERT_TRUE(eventually([&] { return http_get(mirror.ports().http, "/streams/dvr/index.m3u8").status == 200; }, 30s))
      << mirror.process().stderr_text();
  // A minute and a quarter of recording to go back into.
  std::this_thread::sleep_for(75s);
  const std::string report = mirror.dir() + "/dvr.json";
  auto r = run({node_binary(), source_dir() + "/tests/browser/dvr.mjs", "--page",
                "http://127.0.0.1:" + std::to_string(mirror.ports().http) + "/", "--stream", "dvr", "--shots",
                artifacts("dvr"), "--json", report},
               {{"CHROMIUM", chromium_binary()}}, {}, 240s);
  EXPECT_EQ(r.status, 0) << r.out << r.err << mirror.process().stderr_text().substr(0, 3000);
  std::cout << r.out;
  sender.signal(SIGKILL);
}

}  // namespace
}  // namespace mirror::testing
