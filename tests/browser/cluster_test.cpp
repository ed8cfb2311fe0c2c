// hls.js in headless Chromium plays a stream of node A from node B (a relay)
// beside a player on A, then from node C once B is killed: any node serves
// any stream, with the same URLs (tests/browser/play.mjs). And a viewer on B
// keeps playing when A dies and its publisher comes back through B.
#include "browser/browser_support.h"
#include "integration/cluster_fixture.h"
#include "integration/mirror_fixture.h"
#include "support/fixtures.h"
#include "support/redis.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <iostream>
#include <thread>

namespace mirror::testing {
namespace {

using namespace std::chrono_literals;

std::string page(const MirrorInstance& node) { return "http://127.0.0.1:" + std::to_string(node.ports().http) + "/"; }

double metric_value(MirrorInstance& node, const std::string& series) {
  const std::string text = http_get(node.ports().admin, "/metrics").body;
  const auto at = text.find("\n" + series + " ");
  return at == std::string::npos ? -1 : std::stod(text.substr(at + series.size() + 2));
}

// The node holds `stream` itself (not another node through it).
bool local_stream(MirrorInstance& node, const std::string& stream) {
  const auto r = http_get(node.ports().admin, "/api/v1/streams/" + stream);
  if (r.status != 200) return false;
  const auto j = nlohmann::json::parse(r.body, nullptr, false);
  return j.is_object() && !j.value("remote", false) && j.contains("node");
}

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

// A viewer watching through B when the origin A dies and the publisher
// comes back through B: the player keeps going on the same URL once B holds
// the stream (a new instance: new numbers, a new timeline).
TEST(ClusterBrowser, AViewerKeepsPlayingWhenTheNodeItWatchesThroughTakesTheStreamOver) {
  if (!browser_available()) GTEST_SKIP() << "chromium or npm packages missing";
  const std::string dir = make_temp_dir("mirror-cluster-failover-browser");
  RedisServer redis(dir + "/redis");
  if (!redis.ready()) GTEST_SKIP() << "redis-server is not installed";
  MirrorInstance a(cluster_config(redis.address(), "node-a"), kLightNode);
  MirrorInstance b(cluster_config(redis.address(), "node-b"), kLightNode);
  for (auto* n : {&a, &b}) ASSERT_TRUE(n->wait_ready()) << n->process().stderr_text();
  auto sender = std::make_unique<Process>(live_srt_sender(a.ports().srt, "cam"));
  ASSERT_TRUE(eventually([&] { return http_get(b.ports().http, "/streams/cam/index.m3u8").status == 200; }, 30s))
      << a.process().stderr_text() << b.process().stderr_text();

  const std::string report = dir + "/failover.json";
  Process viewer({node_binary(), source_dir() + "/tests/browser/play.mjs", "--page", page(b), "--stream", "cam",
                  "--seconds", "40", "--max-stall-ms", "15000", "--warmup-ms", "5000", "--json",
                  report},
                 {{"CHROMIUM", chromium_binary()}});
  // Playing for a while through the relay (about 10 s of both renditions'
  // parts)...
  ASSERT_TRUE(eventually([&] { return metric_value(b, "mirror_relay_parts_total") > 400; }, 60s));
  // ... then A dies, and the publisher comes back through B.
  a.process().signal(SIGKILL);
  sender->signal(SIGKILL);
  sender.reset();
  const auto killed = std::chrono::steady_clock::now();
  // A refused publisher exits; it tries again until B takes the name (once
  // A's lease has run out).
  const auto give_up = killed + 30s;
  while (!sender && std::chrono::steady_clock::now() < give_up) {
    sender = std::make_unique<Process>(live_srt_sender(b.ports().srt, "cam"));
    const bool admitted = eventually([&] { return !sender->running() || local_stream(b, "cam"); }, 3s) &&
                          sender->running();
    if (!admitted) {
      sender->signal(SIGKILL);
      sender->wait(5s);
      sender.reset();
      std::this_thread::sleep_for(200ms);
    }
  }
  ASSERT_TRUE(sender) << "B never admitted the publisher";
  std::cout << "publisher admitted by B "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count() << " s after the kill\n";
  ASSERT_TRUE(viewer.wait(120s).has_value());
  auto json = nlohmann::json::parse(read_file(report), nullptr, false);
  ASSERT_FALSE(json.is_discarded()) << read_file(report);
  // The player stalled once, for the handover, and plays again: a new
  // instance of the stream (new numbers, a new timeline) is a fresh start
  // for the page (web/live.js replacedInstance).
  std::cout << "viewer through B: longest stall " << json.value("longestStallMs", -1) << " ms, played "
            << json["playback"].dump() << ", stalls " << json["stalls"].dump() << "\n";
  for (const auto& e : json["hlsErrors"]) EXPECT_FALSE(e.value("fatal", false)) << e.dump();
  for (const auto& stall : json["stalls"]) EXPECT_FALSE(stall.value("ongoing", false)) << json["stalls"].dump();
  EXPECT_LT(json.value("longestStallMs", 1e9), 15000) << json["stalls"].dump();
  EXPECT_GT(json["playback"].value("ratio", 0.0), 0.6) << json["playback"].dump();
  EXPECT_TRUE(local_stream(b, "cam"));
}

}  // namespace
}  // namespace mirror::testing
