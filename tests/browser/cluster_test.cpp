// hls.js in headless Chromium plays a stream of node A from node B (a relay)
// beside a player on A, then from node C once B is killed: any node serves
// any stream, with the same URLs (tests/browser/play.mjs).
#include "browser/browser_support.h"
#include "integration/cluster_fixture.h"
#include "integration/mirror_fixture.h"
#include "support/fixtures.h"
#include "support/redis.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <iostream>

namespace mirror::testing {
namespace {

using namespace std::chrono_literals;

std::string page(const MirrorInstance& node) { return "http://127.0.0.1:" + std::to_string(node.ports().http) + "/"; }

nlohmann::json play(const std::vector<std::string>& pages, const std::string& stream, int seconds,
                    const std::string& report) {
  std::vector<std::string> argv = {node_binary(), source_dir() + "/tests/browser/play.mjs"};
  for (const auto& p : pages) argv.insert(argv.end(), {"--page", p, "--stream", stream});
  argv.insert(argv.end(), {"--seconds", std::to_string(seconds), "--max-stall-ms", "1000", "--warmup-ms", "5000",
                           "--allow-error", "bufferStalledError", "--allow-error", "bufferNudgeOnStall",
                           "--json", report});
  auto r = run(argv, {{"CHROMIUM", chromium_binary()}}, {}, 120s);
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  auto json = nlohmann::json::parse(read_file(report), nullptr, false);
  EXPECT_FALSE(json.is_discarded()) << read_file(report);
  return json;
}

TEST(ClusterBrowser, HlsJsPlaysThroughARelayAndThroughAThirdNodeOnceTheRelayIsGone) {
  if (!browser_available()) GTEST_SKIP() << "chromium or npm packages missing";
  const std::string dir = make_temp_dir("mirror-cluster-browser");
  RedisServer redis(dir + "/redis");
  if (!redis.ready()) GTEST_SKIP() << "redis-server is not installed";
  MirrorInstance a(cluster_config(redis.address(), "node-a"), kLightNode);
  MirrorInstance b(cluster_config(redis.address(), "node-b"), kLightNode);
  MirrorInstance c(cluster_config(redis.address(), "node-c"), kLightNode);
  for (auto* n : {&a, &b, &c}) ASSERT_TRUE(n->wait_ready()) << n->process().stderr_text();
  Process sender(live_srt_sender(a.ports().srt, "cam"));
  ASSERT_TRUE(eventually([&] { return http_get(b.ports().http, "/streams/cam/index.m3u8").status == 200; }, 30s))
      << a.process().stderr_text() << b.process().stderr_text();

  // The origin and the relay side by side: both play, and how far behind live.
  auto both = play({page(a), page(b)}, "cam", 20, dir + "/both.json");
  ASSERT_TRUE(both.contains("streams") && both["streams"].size() == 2u) << both.dump();
  const auto& on_a = both["streams"][0];
  const auto& on_b = both["streams"][1];
  EXPECT_TRUE(on_a.value("ok", false)) << on_a["reasons"].dump();
  EXPECT_TRUE(on_b.value("ok", false)) << on_b["reasons"].dump();
  std::cout << "latency on the origin: " << on_a["latencyMs"].dump() << "\nlatency through the relay: "
            << on_b["latencyMs"].dump() << "\npart target: " << on_b["level"]["partTarget"].dump() << "\n";

  // B goes; C serves the same stream to a new viewer.
  b.process().signal(SIGKILL);
  auto third = play({page(c)}, "cam", 10, dir + "/third.json");
  EXPECT_TRUE(third.value("ok", false)) << third.dump().substr(0, 3000);
  sender.signal(SIGKILL);
}

}  // namespace
}  // namespace mirror::testing
