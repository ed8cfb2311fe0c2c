#include "ingest/stream_hub.h"

#include <gtest/gtest.h>

#include <thread>

namespace mirror::ingest {
namespace {

media::MediaFrame video(std::int64_t pts, bool key) {
  media::MediaFrame f;
  f.kind = media::TrackKind::kVideo;
  f.codec = media::Codec::kH264;
  f.pts = f.dts = pts;
  f.keyframe = key;
  return f;
}

media::MediaFrame audio(std::int64_t pts) {
  media::MediaFrame f;
  f.track = 1;
  f.kind = media::TrackKind::kAudio;
  f.codec = media::Codec::kAac;
  f.pts = f.dts = pts;
  f.keyframe = true;
  return f;
}

std::vector<std::int64_t> drain(Subscription& s) {
  std::vector<std::int64_t> out;
  while (auto f = s.pop()) out.push_back(f->pts);
  return out;
}

TEST(StreamHub, EverySubscriberGetsEveryFrameFromTheFirstKeyframe) {
  StreamHub hub("cam1");
  auto a = hub.subscribe("packager", 64);
  auto b = hub.subscribe("transcoder", 64);
  hub.publish(video(0, false));  // before any keyframe: undecodable, skipped
  hub.publish(video(1, true));
  hub.publish(audio(2));
  hub.publish(video(3, false));
  EXPECT_EQ(drain(*a), (std::vector<std::int64_t>{1, 2, 3}));
  EXPECT_EQ(drain(*b), (std::vector<std::int64_t>{1, 2, 3}));
}

TEST(StreamHub, LateSubscriberStartsWithTheCurrentGop) {
  StreamHub hub("cam1");
  hub.publish(video(0, true));
  hub.publish(video(1, false));
  hub.publish(video(2, true));
  hub.publish(video(3, false));
  auto late = hub.subscribe("late", 64);
  EXPECT_EQ(drain(*late), (std::vector<std::int64_t>{2, 3}));
}

TEST(StreamHub, LaggingSubscriberLosesWholeGopsWithoutSlowingOthers) {
  StreamHub hub("cam1");
  auto slow = hub.subscribe("slow", 3);
  auto fast = hub.subscribe("fast", 100);
  // GOPs of 4 frames: 0-3, 4-7, 8-11.
  for (int i = 0; i < 12; ++i) hub.publish(video(i, i % 4 == 0));
  EXPECT_EQ(drain(*fast).size(), 12u);
  // The slow one got 0,1,2, overflowed at 3, skipped to the keyframe at 4,
  // which did not fit either, and so on: nothing partial is delivered.
  EXPECT_EQ(drain(*slow), (std::vector<std::int64_t>{0, 1, 2}));
  EXPECT_GE(slow->stats().dropped_gops, 1u);
  for (int i = 12; i < 16; ++i) hub.publish(video(i, i % 4 == 0));
  EXPECT_EQ(drain(*slow), (std::vector<std::int64_t>{12, 13, 14}));
}

TEST(StreamHub, AudioOnlyStreamResumesOnAnyFrame) {
  StreamHub hub("radio");
  auto s = hub.subscribe("packager", 2);
  for (int i = 0; i < 5; ++i) hub.publish(audio(i));
  EXPECT_EQ(drain(*s), (std::vector<std::int64_t>{0, 1}));
  hub.publish(audio(5));
  EXPECT_EQ(drain(*s), (std::vector<std::int64_t>{5}));
}

TEST(StreamHub, EndIsSeenAfterTheQueueDrains) {
  StreamHub hub("cam1");
  auto s = hub.subscribe("p", 8);
  hub.publish(video(0, true));
  hub.end();
  EXPECT_FALSE(s->finished());
  EXPECT_TRUE(s->pop());
  EXPECT_TRUE(s->finished());
  auto after = hub.subscribe("after-end", 8);
  EXPECT_TRUE(after->finished());
}

TEST(StreamHub, CancelledSubscriptionIsForgotten) {
  StreamHub hub("cam1");
  auto s = hub.subscribe("p", 8);
  EXPECT_EQ(hub.subscriber_count(), 1u);
  s->cancel();
  hub.publish(video(0, true));
  EXPECT_EQ(hub.subscriber_count(), 0u);
  EXPECT_FALSE(s->pop());
}

TEST(StreamHub, ReadyCallbackRunsWhenFramesArrive) {
  StreamHub hub("cam1");
  int calls = 0;
  auto s = hub.subscribe("p", 8, [&] { ++calls; });
  hub.publish(video(0, true));
  EXPECT_EQ(calls, 1);
}

TEST(StreamHub, ConcurrentProducerAndConsumersStress) {
  StreamHub hub("cam1");
  constexpr int kFrames = 20000;
  std::vector<std::shared_ptr<Subscription>> subs;
  for (int i = 0; i < 3; ++i) subs.push_back(hub.subscribe("s" + std::to_string(i), 256));
  std::atomic<bool> done{false};
  std::vector<std::thread> consumers;
  std::vector<std::uint64_t> received(subs.size(), 0);
  for (std::size_t i = 0; i < subs.size(); ++i) {
    consumers.emplace_back([&, i] {
      std::int64_t last = -1;
      while (!subs[i]->finished()) {
        if (auto f = subs[i]->pop()) {
          EXPECT_GT(f->pts, last);  // order is kept even when GOPs are dropped
          last = f->pts;
          ++received[i];
        } else {
          std::this_thread::yield();
        }
      }
    });
  }
  std::thread late([&] {
    while (!done.load()) {
      auto s = hub.subscribe("late", 16);
      s->cancel();
    }
  });
  for (int i = 0; i < kFrames; ++i) hub.publish(video(i, i % 25 == 0));
  hub.end();
  done = true;
  late.join();
  for (auto& c : consumers) c.join();
  for (std::size_t i = 0; i < subs.size(); ++i) {
    auto st = subs[i]->stats();
    EXPECT_EQ(st.delivered, received[i]);
    EXPECT_EQ(st.delivered + st.dropped_frames, static_cast<std::uint64_t>(kFrames));
  }
}

}  // namespace
}  // namespace mirror::ingest
