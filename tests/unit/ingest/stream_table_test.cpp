#include "ingest/stream_table.h"

#include "state/memory_registry.h"

#include <gtest/gtest.h>

namespace mirror::ingest {
namespace {

using namespace std::chrono_literals;

TEST(StreamTable, AdmitsUpToMaxStreamsAcrossProtocols) {
  StreamTable t(2, 5s);
  ASSERT_TRUE(t.admit("a", "srt"));
  ASSERT_TRUE(t.admit("b", "rtp"));
  auto third = t.admit("c", "srt");
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error().code, core::ErrorCode::kCapacityFull);
  EXPECT_EQ(t.check("c").error().code, core::ErrorCode::kCapacityFull);
}

TEST(StreamTable, SecondPublisherOfALiveNameIsRefused) {
  StreamTable t(25, 5s);
  ASSERT_TRUE(t.admit("cam1", "srt"));
  EXPECT_EQ(t.check("cam1").error().code, core::ErrorCode::kAlreadyExists);
  EXPECT_EQ(t.admit("cam1", "srt").error().code, core::ErrorCode::kAlreadyExists);
}

TEST(StreamTable, BadNameIsRefused) {
  StreamTable t(25, 5s);
  EXPECT_EQ(t.check("bad name").error().code, core::ErrorCode::kInvalidInput);
  EXPECT_FALSE(t.admit("../x", "srt"));
}

TEST(StreamTable, ReconnectWithinTheDelayResumesTheSameStream) {
  StreamTable t(25, 5s);
  auto first = t.admit("cam1", "srt").value();
  t.publisher_left(first);
  EXPECT_EQ(first->state(), StreamState::kReconnecting);
  EXPECT_TRUE(t.check("cam1"));
  auto again = t.admit("cam1", "srt").value();
  EXPECT_EQ(again, first);
  // Its next frame is marked as a discontinuity.
  auto sub = again->hub().subscribe("p", 8);
  media::MediaFrame f;
  f.keyframe = true;
  again->publish(f);
  auto got = sub->pop();
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->discontinuity);
  EXPECT_EQ(again->state(), StreamState::kLive);
}

TEST(StreamTable, StreamEndsWhenTheDelayPasses) {
  StreamTable t(25, 100ms);
  int ended = 0;
  t.on_stream_ended([&](const auto&) { ++ended; });
  auto s = t.admit("cam1", "srt").value();
  auto sub = s->hub().subscribe("p", 8);
  t.publisher_left(s);
  t.expire(StreamTable::Clock::now());
  EXPECT_EQ(t.size(), 1u);
  t.expire(StreamTable::Clock::now() + 200ms);
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(s->state(), StreamState::kEnded);
  EXPECT_TRUE(sub->finished());
  EXPECT_EQ(ended, 1);
}

TEST(StreamTable, EndStreamHangsUpThePublisher) {
  StreamTable t(25, 5s);
  auto s = t.admit("cam1", "srt").value();
  bool hung_up = false;
  s->set_publisher("127.0.0.1:1234", [&] { hung_up = true; }, nullptr);
  ASSERT_TRUE(t.end_stream("cam1"));
  EXPECT_TRUE(hung_up);
  EXPECT_FALSE(t.find("cam1"));
  EXPECT_EQ(t.end_stream("cam1").error().code, core::ErrorCode::kNotFound);
  // The publisher's own departure afterwards changes nothing.
  t.publisher_left(s);
  EXPECT_EQ(t.size(), 0u);
}

TEST(StreamTable, RegistryFollowsTheStreams) {
  state::MemoryStreamRegistry reg;
  StreamTable t(25, 0s, &reg, "node-a");
  auto s = t.admit("cam1", "srt").value();
  ASSERT_TRUE(reg.find("cam1"));
  EXPECT_EQ(reg.find("cam1")->node, "node-a");
  t.publisher_left(s);  // no reconnect window: ends at once
  EXPECT_FALSE(reg.find("cam1"));
}

TEST(LiveStream, JsonDescribesStateCodecsAndErrors) {
  LiveStream s("cam1", "srt");
  auto cfg = std::make_shared<media::CodecConfig>();
  cfg->codec_string = "avc1.64001f";
  cfg->width = 1280;
  cfg->height = 720;
  media::MediaFrame f;
  f.keyframe = true;
  f.config = cfg;
  f.config_changed = true;
  s.publish(f);
  s.record_error(StreamError::kContinuity, 3);
  auto j = s.to_json(true);
  EXPECT_EQ(j["state"], "live");
  EXPECT_EQ(j["video"]["codec"], "avc1.64001f");
  EXPECT_EQ(j["video"]["width"], 1280);
  EXPECT_EQ(j["errors"]["continuity"], 3);
  EXPECT_EQ(j["frames"]["keyframes"], 1);
}

}  // namespace
}  // namespace mirror::ingest
