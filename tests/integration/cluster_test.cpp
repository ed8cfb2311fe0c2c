// Several real mirror nodes sharing one real redis-server (and Sentinel),
// all on loopback: every node lists every stream, any node serves any stream
// through a relay, a name live on one node is refused on another, a node's
// death hands its streams over, and Redis may go away without stopping
// anything.
#include "integration/cluster_fixture.h"
#include "integration/mirror_fixture.h"
#include "support/fixtures.h"
#include "support/redis.h"
#include "support/s3rver.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <filesystem>
#include <iostream>
#include <sstream>

namespace mirror::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const auto& kLight = kLightNode;

nlohmann::json get_json(int port, const std::string& path) {
  const auto r = http_get(port, path);
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  return r.status == 200 && !j.is_discarded() ? j : nlohmann::json();
}

// The stream as a node's admin API lists it, or null.
nlohmann::json listed(MirrorInstance& node, const std::string& name) {
  const auto list = get_json(node.ports().admin, "/api/v1/streams");
  if (!list.contains("streams")) return nullptr;
  for (const auto& s : list["streams"]) {
    if (s.value("name", "") == name) return s;
  }
  return nullptr;
}

// A string field of a JSON object, or "" (also for null).
std::string field(const nlohmann::json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

std::string service_health(MirrorInstance& node, const std::string& service) {
  const auto h = get_json(node.ports().admin, "/health");
  if (!h.contains("services") || !h["services"].contains(service)) return {};
  return h["services"][service].value("status", "") + ": " + h["services"][service].value("message", "");
}

double metric(MirrorInstance& node, const std::string& series) {
  const std::string text = http_get(node.ports().admin, "/metrics").body;
  const auto at = text.find("\n" + series + " ");
  return at == std::string::npos ? -1 : std::stod(text.substr(at + series.size() + 2));
}

// The newest part the playlist lists, as "MSN.PART", or "".
std::string last_part(int port, const std::string& playlist) {
  const std::string text = http_get(port, playlist).body;
  const auto at = text.rfind("URI=\"part-");
  if (at == std::string::npos) return {};
  return text.substr(at + 10, text.find(".m4s", at) - at - 10);
}

bool advances(int port, const std::string& playlist) {
  const std::string before = last_part(port, playlist);
  return !before.empty() && eventually([&] { return last_part(port, playlist) != before; }, 5s);
}

// The newest complete segment's number in a media playlist, or "".
std::string newest_segment(const std::string& text) {
  const auto at = text.rfind("\nseg-");
  if (at == std::string::npos) return {};
  return text.substr(at + 5, text.find(".m4s", at) - at - 5);
}

std::string without_bandwidths(std::string text) {
  for (const std::string key : {"AVERAGE-BANDWIDTH=", "BANDWIDTH="}) {
    for (auto at = text.find(key); at != std::string::npos; at = text.find(key, at + key.size())) {
      auto end = at + key.size();
      while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end]))) ++end;
      text.erase(at + key.size(), end - at - key.size());
    }
  }
  return text;
}

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = make_temp_dir("mirror-cluster");
    redis_ = std::make_unique<RedisServer>(dir_ + "/redis");
    if (!redis_->ready()) GTEST_SKIP() << "redis-server is not installed";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<MirrorInstance> node(const std::string& id, const std::string& more = {},
                                       std::map<std::string, std::string> env = kLight) {
    auto n = std::make_unique<MirrorInstance>(cluster_config(redis_->address(), id, more), std::move(env));
    EXPECT_TRUE(n->wait_ready()) << n->process().stderr_text();
    return n;
  }

  std::string dir_;
  std::unique_ptr<RedisServer> redis_;
};

TEST_F(ClusterTest, EveryNodeListsServesAndGuardsAStreamOfAnother) {
  auto a = node("node-a");
  auto b = node("node-b");
  auto c = node("node-c");
  Process sender(live_srt_sender(a->ports().srt, "cam"));
  ASSERT_TRUE(eventually([&] { return http_get(a->ports().http, "/streams/cam/index.m3u8").status == 200; }, 30s))
      << a->process().stderr_text();

  // Listed by every node, with its node; every node sees three nodes.
  for (auto* n : {b.get(), c.get()}) {
    ASSERT_TRUE(eventually([&] { return field(listed(*n, "cam"), "state") == "live"; }, 5s))
        << get_json(n->ports().admin, "/api/v1/streams").dump();
    EXPECT_EQ(listed(*n, "cam")["node"], "node-a");
    EXPECT_EQ(listed(*n, "cam")["remote"], true);
  }
  EXPECT_EQ(listed(*a, "cam")["node"], "node-a");
  ASSERT_TRUE(eventually([&] { return get_json(c->ports().admin, "/api/v1/nodes")["nodes"].size() == 3; }, 5s));
  const auto detail = get_json(b->ports().admin, "/api/v1/streams/cam");
  EXPECT_EQ(detail["node"], "node-a") << detail.dump();

  // Served by B through a relay: the same renditions, the same segments,
  // byte for byte, and a playlist that keeps up.
  const auto multivariant = http_get(b->ports().http, "/streams/cam/index.m3u8");
  ASSERT_EQ(multivariant.status, 200) << multivariant.body;
  // The origin's own text (its bandwidth figures move with every segment).
  EXPECT_EQ(without_bandwidths(multivariant.body), without_bandwidths(http_get(a->ports().http, "/streams/cam/index.m3u8").body));
  ASSERT_TRUE(eventually([&] { return !newest_segment(http_get(b->ports().http, "/streams/cam/source/playlist.m3u8").body).empty(); }, 10s));
  const std::string seg = newest_segment(http_get(b->ports().http, "/streams/cam/source/playlist.m3u8").body);
  const auto from_b = http_get(b->ports().http, "/streams/cam/source/seg-" + seg + ".m4s");
  const auto from_a = http_get(a->ports().http, "/streams/cam/source/seg-" + seg + ".m4s");
  ASSERT_EQ(from_b.status, 200);
  EXPECT_EQ(from_b.body, from_a.body) << "segment " << seg;
  EXPECT_TRUE(advances(b->ports().http, "/streams/cam/source/playlist.m3u8"));
  EXPECT_TRUE(advances(b->ports().http, "/streams/cam/audio/playlist.m3u8"));
  const auto probe = run({find_program("ffprobe", "FFPROBE"), "-v", "error", "-show_entries", "stream=codec_name",
                          "-of", "csv=p=0", "http://127.0.0.1:" + std::to_string(b->ports().http) + "/streams/cam/index.m3u8"},
                         {}, {}, 30s);
  EXPECT_NE(probe.out.find("h264"), std::string::npos) << probe.out << probe.err;
  EXPECT_NE(probe.out.find("aac"), std::string::npos) << probe.out << probe.err;
  EXPECT_GT(metric(*b, "mirror_relay_parts_total"), 0);

  // Not only x264 at a round rate: open-GOP HEVC from x265 with B-frames at
  // 29.97 fps goes through the relay byte for byte, and decodes there.
  Process hevc(live_srt_sender(a->ports().srt, "hevc", "30000/1001",
                               {"-c:v", "libx265", "-preset", "ultrafast", "-x265-params",
                                "keyint=30:bframes=3:log-level=error", "-pix_fmt", "yuv420p"}));
  ASSERT_TRUE(eventually([&] {
    return !newest_segment(http_get(b->ports().http, "/streams/hevc/source/playlist.m3u8").body).empty();
  }, 30s)) << a->process().stderr_text();
  ASSERT_TRUE(advances(b->ports().http, "/streams/hevc/source/playlist.m3u8"));
  const std::string hevc_seg = newest_segment(http_get(b->ports().http, "/streams/hevc/source/playlist.m3u8").body);
  const auto hevc_b = http_get(b->ports().http, "/streams/hevc/source/seg-" + hevc_seg + ".m4s");
  ASSERT_EQ(hevc_b.status, 200);
  EXPECT_EQ(hevc_b.body, http_get(a->ports().http, "/streams/hevc/source/seg-" + hevc_seg + ".m4s").body);
  const auto hevc_probe = run({find_program("ffprobe", "FFPROBE"), "-v", "error", "-show_entries",
                               "stream=codec_name,r_frame_rate", "-of", "csv=p=0",
                               "http://127.0.0.1:" + std::to_string(b->ports().http) +
                                   "/streams/hevc/source/playlist.m3u8"},
                              {}, {}, 30s);
  EXPECT_NE(hevc_probe.out.find("hevc,30000/1001"), std::string::npos) << hevc_probe.out << hevc_probe.err;
  // Both relays run on B (a viewer request keeps cam's alive: a relay stops
  // 30 s after its last one), none on A.
  EXPECT_EQ(http_get(b->ports().http, "/streams/cam/index.m3u8").status, 200);
  EXPECT_TRUE(eventually([&] { return metric(*b, "mirror_relay_streams") == 2; }, 10s));
  EXPECT_EQ(metric(*a, "mirror_relay_streams"), 0);
  hevc.signal(SIGKILL);

  // A second publisher of the name, on C: refused in the handshake.
  Process duplicate(live_srt_sender(c->ports().srt, "cam"));
  EXPECT_TRUE(duplicate.wait(15s).has_value()) << "the duplicate publisher was let in";
  // At least once: a caller that hears nothing repeats its handshake.
  EXPECT_GE(metric(*c, "mirror_cluster_publishers_refused_total"), 1);
  EXPECT_EQ(listed(*c, "cam")["node"], "node-a");

  // Ending it from C reaches A.
  const auto del = http_request(c->ports().admin, "DELETE", "/api/v1/streams/cam");
  EXPECT_EQ(del.status, 202) << del.body;
  EXPECT_NE(del.body.find("\"node\":\"node-a\""), std::string::npos) << del.body;
  EXPECT_TRUE(eventually([&] { return listed(*a, "cam").is_null() && listed(*c, "cam").is_null(); }, 10s));
  EXPECT_EQ(http_request(c->ports().admin, "DELETE", "/api/v1/streams/nothing").status, 404);
  sender.signal(SIGKILL);
}

TEST_F(ClusterTest, ANodeKilledHandsItsStreamsOverWhenTheirPublishersComeBack) {
  auto a = node("node-a");
  auto b = node("node-b");
  Process moving(live_srt_sender(a->ports().srt, "moving"));
  Process orphan(live_srt_sender(a->ports().srt, "orphan"));
  for (const char* name : {"moving", "orphan"}) {
    ASSERT_TRUE(eventually([&] { return field(listed(*b, name), "state") == "live"; }, 30s))
        << get_json(b->ports().admin, "/api/v1/streams").dump() << a->process().stderr_text();
  }
  ASSERT_TRUE(eventually([&] { return http_get(b->ports().http, "/streams/moving/index.m3u8").status == 200; }, 10s));

  const auto killed = Clock::now();
  a->process().signal(SIGKILL);
  moving.signal(SIGKILL);
  orphan.signal(SIGKILL);
  // Its lease runs out within three heartbeats: its streams show as reconnecting.
  ASSERT_TRUE(eventually([&] { return field(listed(*b, "orphan"), "state") == "reconnecting"; }, 15s));
  const double reconnecting_s = std::chrono::duration<double>(Clock::now() - killed).count();

  // The publisher comes back through B: admitted once A's claim is dead.
  // Admitted once B lists the stream as its own; a refused publisher exits
  // and tries again.
  std::unique_ptr<Process> back;
  for (int attempt = 0; attempt < 30 && !back; ++attempt) {
    back = std::make_unique<Process>(live_srt_sender(b->ports().srt, "moving"));
    const bool admitted = eventually([&] {
      return field(get_json(b->ports().admin, "/api/v1/streams/moving"), "node") == "node-b" || !back->running();
    }, 3s) && back->running();
    if (!admitted) {
      back->signal(SIGKILL);
      back->wait(5s);
      back.reset();
    }
  }
  ASSERT_TRUE(back) << "the publisher was never admitted by B";
  const double admitted_s = std::chrono::duration<double>(Clock::now() - killed).count();
  ASSERT_TRUE(eventually([&] {
    const auto r = http_get(b->ports().http, "/streams/moving/source/playlist.m3u8?_HLS_msn=0");
    return r.status == 200 && r.body.find("#EXTINF") != std::string::npos;
  }, 15s)) << b->process().stderr_text();
  const double playing_s = std::chrono::duration<double>(Clock::now() - killed).count();
  std::cout << "failover: reconnecting after " << reconnecting_s << " s, publisher admitted by B after " << admitted_s
            << " s, B serves a new segment after " << playing_s << " s\n";
  EXPECT_LT(playing_s, 15.0);
  EXPECT_EQ(listed(*b, "moving")["node"], "node-b");
  // The stream nobody republished ends after the reconnect window.
  EXPECT_TRUE(eventually([&] { return listed(*b, "orphan").is_null(); }, 15s));
  back->signal(SIGKILL);
}

TEST_F(ClusterTest, RedisAwayForTwentySecondsStopsNothingAndEverythingComesBack) {
  auto a = node("node-a");
  auto b = node("node-b");
  Process sender(live_srt_sender(a->ports().srt, "steady"));
  ASSERT_TRUE(eventually([&] { return http_get(b->ports().http, "/streams/steady/index.m3u8").status == 200; }, 30s))
      << a->process().stderr_text() << b->process().stderr_text();
  ASSERT_TRUE(eventually([&] { return !last_part(b->ports().http, "/streams/steady/source/playlist.m3u8").empty(); }, 10s));

  redis_->stop();
  ASSERT_TRUE(eventually([&] { return service_health(*a, "state").starts_with("degraded"); }, 10s));
  EXPECT_NE(service_health(*b, "state").find("Redis unreachable"), std::string::npos) << service_health(*b, "state");
  // Publishers are admitted on local knowledge meanwhile.
  Process newcomer(live_srt_sender(b->ports().srt, "newcomer"));
  const auto away = Clock::now();
  int samples = 0;
  while (Clock::now() - away < 20s) {
    EXPECT_TRUE(advances(a->ports().http, "/streams/steady/source/playlist.m3u8")) << "origin";
    EXPECT_TRUE(advances(b->ports().http, "/streams/steady/source/playlist.m3u8")) << "relay";
    ++samples;
    std::this_thread::sleep_for(1s);
  }
  EXPECT_GE(samples, 5);
  EXPECT_TRUE(eventually([&] { return http_get(b->ports().http, "/streams/newcomer/index.m3u8").status == 200; }, 10s));
  EXPECT_EQ(metric(*a, "mirror_redis_up"), 0);

  // An empty Redis comes back: both nodes and all their streams are there again.
  ASSERT_TRUE(redis_->start());
  const auto back = Clock::now();
  ASSERT_TRUE(eventually([&] {
    return redis_->cli({"EXISTS", "mirror:node:node-a", "mirror:node:node-b", "mirror:stream:steady",
                        "mirror:stream:newcomer"}) == "4";
  }, 10s)) << redis_->cli({"KEYS", "*"});
  std::cout << "re-registered " << std::chrono::duration<double>(Clock::now() - back).count()
            << " s after Redis came back\n";
  EXPECT_TRUE(eventually([&] { return service_health(*a, "state").starts_with("healthy"); }, 5s));
  EXPECT_TRUE(eventually([&] { return field(listed(*a, "newcomer"), "node") == "node-b"; }, 5s));
  EXPECT_TRUE(advances(b->ports().http, "/streams/steady/source/playlist.m3u8"));
  sender.signal(SIGKILL);
  newcomer.signal(SIGKILL);
}

TEST_F(ClusterTest, NodesFollowASentinelFailover) {
  RedisServer replica(dir_ + "/replica", RedisServer::Options{.password = {}, .replica_of = redis_->port()});
  ASSERT_TRUE(replica.ready());
  RedisSentinel sentinel(dir_ + "/sentinel", redis_->port(), "primary");
  if (!sentinel.ready()) GTEST_SKIP() << "redis-sentinel is not installed";
  ASSERT_TRUE(eventually([&] { return replica.cli({"INFO", "replication"}).find("master_link_status:up") != std::string::npos; }, 20s));
  auto sentinel_node = [&](const std::string& id) {
    auto n = std::make_unique<MirrorInstance>(
        "redis:\n  sentinels: [\"" + sentinel.address() + "\"]\n  master_name: primary\n  dial_timeout: 500ms\n"
        "cluster:\n  node_id: " + id + "\n  advertise_url: http://127.0.0.1:${HTTP_PORT}\n",
        kLight);
    EXPECT_TRUE(n->wait_ready()) << n->process().stderr_text();
    return n;
  };
  auto a = sentinel_node("node-a");
  auto b = sentinel_node("node-b");
  Process sender(live_srt_sender(a->ports().srt, "cam"));
  ASSERT_TRUE(eventually([&] { return field(listed(*b, "cam"), "state") == "live"; }, 30s));

  ASSERT_EQ(sentinel.cli({"SENTINEL", "FAILOVER", "primary"}), "OK");
  ASSERT_TRUE(eventually([&] { return sentinel.master_port() == replica.port(); }, 20s));
  // Both nodes find the new master, and the claims and leases live there.
  ASSERT_TRUE(eventually([&] {
    return replica.cli({"EXISTS", "mirror:node:node-a", "mirror:node:node-b", "mirror:stream:cam"}) == "3" &&
           replica.cli({"ROLE"}).starts_with("master");
  }, 20s));
  for (auto* n : {a.get(), b.get()}) {
    EXPECT_TRUE(eventually([&] {
      const auto h = get_json(n->ports().admin, "/health");
      return h["services"]["state"]["details"].value("redis", "") == replica.address() &&
             h["services"]["state"].value("status", "") == "healthy";
    }, 20s)) << get_json(n->ports().admin, "/health")["services"]["state"].dump();
  }
  EXPECT_TRUE(eventually([&] { return field(listed(*b, "cam"), "node") == "node-a"; }, 5s))
      << get_json(b->ports().admin, "/api/v1/streams").dump() << b->process().stderr_text();
  sender.signal(SIGKILL);
}

TEST_F(ClusterTest, BadInputFromRedisAndTheOperatorGetsClearAnswers) {
  // A wrong password: the node does not start, and says why.
  RedisServer locked(dir_ + "/locked", RedisServer::Options{.password = "s3cret", .replica_of = 0});
  ASSERT_TRUE(locked.ready());
  {
    MirrorInstance wrong("redis:\n  addr: " + locked.address() + "\n  password: guess\n", kLight);
    ASSERT_TRUE(wrong.process().wait(20s).has_value());
    EXPECT_NE(wrong.process().stderr_text().find("Redis refused the password"), std::string::npos)
        << wrong.process().stderr_text();
    EXPECT_EQ(wrong.process().stderr_text().find("guess"), std::string::npos) << "the password itself is never logged";
  }

  // Garbage and huge values planted under Mirror's keys by another client.
  redis_->cli({"SET", "mirror:stream:junk", "{\"name\":"});
  redis_->cli({"SET", "mirror:stream:huge", std::string(200000, 'x')});
  redis_->cli({"HSET", "mirror:node:wrongtype", "a", "b"});
  redis_->cli({"SET", "mirror:node:ghost", "{\"id\":\"ghost\",\"instance\":\"g\",\"url\":\"http://127.0.0.1:1\","
                                            "\"version\":\"x\",\"streams\":[],\"load\":{\"cpu_percent\":0,"
                                            "\"egress_bps\":0,\"viewers\":0},\"started_at_ms\":1,\"heartbeat_at_ms\":1}"});
  auto a = node("node-a");
  // The same node id a second time: reported, never two nodes under one id.
  auto twin = node("node-a");
  ASSERT_TRUE(eventually([&] { return service_health(*twin, "state").find("held by another process") != std::string::npos; }, 10s))
      << service_health(*twin, "state");
  EXPECT_EQ(metric(*twin, "mirror_cluster_node_id_conflict"), 1);
  EXPECT_TRUE(service_health(*a, "state").starts_with("healthy")) << service_health(*a, "state");

  // A node whose clock is two hours ahead: leases are Redis's, not its.
  std::map<std::string, std::string> skewed = kLight;
  const std::string faketime = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
  // A sanitizer's runtime must be the first library loaded: no preloading there.
  const bool can_skew = std::filesystem::exists(faketime) && std::string_view(MIRROR_TEST_SANITIZER).empty();
  if (can_skew) {
    skewed["LD_PRELOAD"] = faketime;
    skewed["FAKETIME"] = "+2h";
    skewed["FAKETIME_DONT_FAKE_MONOTONIC"] = "1";
  }
  auto b = node("node-b", {}, skewed);
  Process sender(live_srt_sender(a->ports().srt, "cam"));
  Process other(live_srt_sender(b->ports().srt, "far"));
  ASSERT_TRUE(eventually([&] { return field(listed(*b, "cam"), "state") == "live"; }, 30s))
      << get_json(b->ports().admin, "/api/v1/streams").dump();
  ASSERT_TRUE(eventually([&] { return field(listed(*a, "far"), "state") == "live"; }, 30s))
      << get_json(a->ports().admin, "/api/v1/streams").dump();
  if (can_skew) {
    const auto far = listed(*a, "far");
    ASSERT_TRUE(far.is_object());
    EXPECT_GT(far.value("heartbeat_at_ms", 0LL),
              std::chrono::duration_cast<std::chrono::milliseconds>(
                  (std::chrono::system_clock::now() + 1h).time_since_epoch()).count())
        << "node-b's clock runs two hours ahead";
  }
  // Both stay live for longer than a lease, and the skewed node is served.
  std::this_thread::sleep_for(4s);
  EXPECT_EQ(field(listed(*b, "cam"), "state"), "live");
  EXPECT_EQ(field(listed(*a, "far"), "state"), "live");
  EXPECT_EQ(http_get(a->ports().http, "/streams/far/index.m3u8").status, 200);

  // What was planted is skipped and counted; nothing of it is listed.
  EXPECT_GE(metric(*a, "mirror_cluster_bad_records_total"), 3);
  EXPECT_TRUE(listed(*a, "junk").is_null());
  EXPECT_TRUE(listed(*a, "huge").is_null());
  const auto nodes = get_json(a->ports().admin, "/api/v1/nodes")["nodes"];
  EXPECT_EQ(nodes.size(), 2u) << nodes.dump();  // node-a and node-b; the ghost has no lease
  sender.signal(SIGKILL);
  other.signal(SIGKILL);
}

TEST_F(ClusterTest, AnotherNodesRecordingPlaysFromThisNodeThroughS3) {
  S3rver s3(source_dir(), dir_ + "/s3", "dvr");
  if (!s3.ready()) GTEST_SKIP() << "node or npm @20minutes/s3rver missing";
  std::map<std::string, std::string> env = kLight;
  env.insert({{"MIRROR_STORAGE_S3_ENABLED", "true"}, {"MIRROR_STORAGE_S3_ENDPOINT", s3.endpoint()},
              {"MIRROR_STORAGE_S3_BUCKET", "dvr"}, {"MIRROR_STORAGE_S3_ACCESS_KEY_ID", "S3RVER"},
              {"MIRROR_STORAGE_S3_SECRET_ACCESS_KEY", "S3RVER"}, {"MIRROR_STORAGE_S3_USE_SSL", "false"}});
  auto a = node("node-a", {}, env);
  auto b = node("node-b", {}, env);
  Process sender(live_srt_sender(a->ports().srt, "rec"));
  ASSERT_TRUE(eventually([&] { return field(listed(*b, "rec"), "state") == "live"; }, 30s));
  const auto started = std::chrono::system_clock::now();
  std::this_thread::sleep_for(8s);

  // The playlist is the recording node's, each segment with its time.
  const auto start_s = std::chrono::duration_cast<std::chrono::seconds>(started.time_since_epoch()).count() + 1;
  const std::string window = "?start=" + std::to_string(start_s) + "&end=" + std::to_string(start_s + 4);
  const auto playlist = http_get(b->ports().http, "/streams/rec/dvr/source/playlist.m3u8" + window);
  ASSERT_EQ(playlist.status, 200) << playlist.body;
  EXPECT_NE(playlist.body.find("#EXT-X-ENDLIST"), std::string::npos) << playlist.body;
  std::vector<std::string> uris;
  std::istringstream lines(playlist.body);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line[0] != '#') uris.push_back(line);
  }
  ASSERT_GE(uris.size(), 2u) << playlist.body;
  // Each segment from S3 through B, the same bytes as A's.
  for (const auto& uri : uris) {
    ASSERT_NE(uri.find("?at="), std::string::npos) << uri;
    const std::string path = "/streams/rec/dvr/source/" + uri;
    HttpReply from_b;
    ASSERT_TRUE(eventually([&] { return (from_b = http_get(b->ports().http, path)).status == 200; }, 20s))
        << path << " " << from_b.body;
    const auto from_a = http_get(a->ports().http, "/streams/rec/dvr/source/" + uri.substr(0, uri.find('?')));
    ASSERT_EQ(from_a.status, 200);
    EXPECT_EQ(from_b.body, from_a.body) << uri;
  }
  EXPECT_GE(metric(*b, "mirror_storage_remote_reads_total"), static_cast<double>(uris.size()));
  const auto sessions = get_json(b->ports().http, "/streams/rec/dvr/sessions.json");
  EXPECT_EQ(sessions.value("stream", ""), "rec") << sessions.dump();
  EXPECT_EQ(get_json(b->ports().admin, "/api/v1/streams/rec/recordings").value("stream", ""), "rec");
  const auto probe = run({find_program("ffprobe", "FFPROBE"), "-v", "error", "-show_entries", "stream=codec_name",
                          "-of", "csv=p=0",
                          "http://127.0.0.1:" + std::to_string(b->ports().http) + "/streams/rec/dvr/index.m3u8" + window},
                         {}, {}, 60s);
  EXPECT_NE(probe.out.find("h264"), std::string::npos) << probe.out << probe.err;
  // A time that is not one is refused.
  EXPECT_EQ(http_get(b->ports().http, "/streams/rec/dvr/source/" + uris[0].substr(0, uris[0].find('?')) + "?at=soon").status, 400);
  sender.signal(SIGKILL);
}

}  // namespace
}  // namespace mirror::testing
