#include "state/redis/cluster_records.h"

#include <gtest/gtest.h>

namespace mirror::state::redis {
namespace {

using namespace std::chrono_literals;

StreamRecord stream(std::string name = "cam1") {
  StreamRecord r;
  r.name = std::move(name);
  r.node = "node-a:8000";
  r.instance = "0123456789abcdef";
  r.protocol = "srt";
  r.status = "live";
  r.started_at = std::chrono::system_clock::time_point(1700000000000ms);
  r.heartbeat_at = std::chrono::system_clock::time_point(1700000001000ms);
  return r;
}

NodeRecord node() {
  NodeRecord n;
  n.id = "node-a:8000";
  n.instance = "0123456789abcdef";
  n.url = "http://10.0.0.5:8000";
  n.version = "1.2.3";
  n.streams = {"cam1", "cam2"};
  n.load = {12.5, 4e6, 42};
  n.started_at = std::chrono::system_clock::time_point(1700000000000ms);
  n.heartbeat_at = std::chrono::system_clock::time_point(1700000002000ms);
  return n;
}

TEST(ClusterRecords, StreamsAndNodesReadBackAsWritten) {
  const auto s = decode_stream(encode_stream(stream()), "cam1");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->name, "cam1");
  EXPECT_EQ(s->node, "node-a:8000");
  EXPECT_EQ(s->instance, "0123456789abcdef");
  EXPECT_EQ(s->status, "live");
  EXPECT_EQ(s->started_at, stream().started_at);
  const auto n = decode_node(encode_node(node()), "node-a:8000");
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(n->url, "http://10.0.0.5:8000");
  EXPECT_EQ(n->streams, (std::vector<std::string>{"cam1", "cam2"}));
  EXPECT_EQ(n->load, (NodeLoad{12.5, 4e6, 42}));
  EXPECT_EQ(n->heartbeat_at, node().heartbeat_at);
}

TEST(ClusterRecords, AStreamValueThatIsNotARecordIsRefusedWithItsFault) {
  const std::string good = encode_stream(stream());
  auto with = [&](const char* key, nlohmann::json value) {
    auto doc = nlohmann::json::parse(good);
    doc[key] = std::move(value);
    return doc.dump();
  };
  const std::pair<std::string, std::string> cases[] = {
      {"", "not JSON"},
      {"garbage", "not JSON"},
      {"[1,2]", "not a JSON object"},
      {"{}", "\"name\" is not a string"},
      {std::string(70000, ' '), "larger than 64 KiB"},
      {with("name", "../etc"), "\"name\" is not valid"},
      {with("name", 5), "\"name\" is not a string"},
      {with("node", "a b"), "\"node\" is not valid"},
      {with("instance", ""), "\"instance\" is not valid"},
      {with("instance", std::string(65, 'x')), "\"instance\" is too long"},
      {with("protocol", "rtmp"), "\"protocol\" is not valid"},
      {with("status", "ended"), "\"status\" is not valid"},
      {with("started_at_ms", -1), "\"started_at_ms\" is out of range"},
      {with("started_at_ms", 253402300799999LL), "\"started_at_ms\" is out of range"},
      {with("started_at_ms", 1.5), "\"started_at_ms\" is not an integer"},
      {with("heartbeat_at_ms", "now"), "\"heartbeat_at_ms\" is not an integer"},
  };
  for (const auto& [text, fault] : cases) {
    const auto r = decode_stream(text, "cam1");
    ASSERT_FALSE(r) << text.substr(0, 80);
    EXPECT_EQ(r.error().message, fault) << text.substr(0, 80);
    EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidInput);
  }
  EXPECT_EQ(decode_stream(good, "cam2").error().message, "names another stream than its key");
}

TEST(ClusterRecords, ANodeValueThatIsNotARecordIsRefusedWithItsFault) {
  const std::string good = encode_node(node());
  auto with = [&](const char* key, nlohmann::json value) {
    auto doc = nlohmann::json::parse(good);
    doc[key] = std::move(value);
    return doc.dump();
  };
  nlohmann::json many = nlohmann::json::array();
  for (int i = 0; i < 1001; ++i) many.push_back("s" + std::to_string(i));
  const std::pair<std::string, std::string> cases[] = {
      {with("url", "ftp://x"), "\"url\" is not valid"},
      {with("url", "http://" + std::string(3000, 'a')), "\"url\" is too long"},
      {with("streams", "cam1"), "\"streams\" is not an array"},
      {with("streams", many), "\"streams\" has too many entries"},
      {with("streams", nlohmann::json::array({"ok", 7})), "\"streams\" holds something that is not a stream name"},
      {with("load", nlohmann::json::array()), "\"load\" is not an object"},
      {with("load", {{"cpu_percent", -1}, {"egress_bps", 0}, {"viewers", 0}}), "\"cpu_percent\" is out of range"},
      {with("load", {{"cpu_percent", 1}, {"egress_bps", 0}}), "\"viewers\" is not a number"},
      {with("version", "a\nb"), "\"version\" is not valid"},
  };
  for (const auto& [text, fault] : cases) {
    const auto r = decode_node(text, "node-a:8000");
    ASSERT_FALSE(r) << text.substr(0, 80);
    EXPECT_EQ(r.error().message, fault) << text.substr(0, 80);
  }
  EXPECT_EQ(decode_node(good, "node-b").error().message, "names another node than its key");
}

TEST(ClusterRecords, EventsReadBackAndStrangersAreRefused) {
  const std::string added = R"({"event":"added","stream":)" + encode_stream(stream()) + "}";
  auto ev = decode_event(added);
  ASSERT_TRUE(ev) << ev.error().message;
  EXPECT_EQ(ev->kind, ClusterEvent::Kind::kAdded);
  EXPECT_EQ(ev->stream.name, "cam1");

  ev = decode_event(encode_ended(stream()));
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->kind, ClusterEvent::Kind::kEnded);
  EXPECT_EQ(ev->stream.instance, "0123456789abcdef");

  ev = decode_event(encode_end_request(stream("cam9")));
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->kind, ClusterEvent::Kind::kEndRequest);
  EXPECT_EQ(ev->stream.name, "cam9");
  EXPECT_EQ(ev->stream.node, "node-a:8000");

  EXPECT_EQ(decode_event(R"({"event":"explode"})").error().message, "unknown event");
  EXPECT_EQ(decode_event(R"({"event":"added"})").error().message, "\"stream\" is not an object");
  EXPECT_EQ(decode_event(R"({"event":"ended","name":"x y","node":"n","instance":"i"})").error().message,
            "\"name\" is not valid");
  EXPECT_FALSE(decode_event("[[[[[[[[[[[[[[[[[[[[[["));
}

TEST(ClusterRecords, KeysNameOnlyValidStreamsAndNodes) {
  KeySpace keys;
  EXPECT_EQ(keys.stream("cam1"), "mirror:stream:cam1");
  EXPECT_EQ(keys.stream_of("mirror:stream:cam1"), "cam1");
  EXPECT_EQ(keys.stream_of("mirror:stream:../x"), "");
  EXPECT_EQ(keys.stream_of("other:stream:cam1"), "");
  EXPECT_EQ(keys.node_of("mirror:node:host:8000"), "host:8000");
  EXPECT_EQ(keys.node_of("mirror:node:"), "");
}

}  // namespace
}  // namespace mirror::state::redis
