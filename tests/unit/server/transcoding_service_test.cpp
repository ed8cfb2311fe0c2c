#include "server/transcoding_service.h"

#include "unit/transcode/transcode_fixtures.h"

#include <gtest/gtest.h>

#include <thread>

namespace mirror::server {
namespace {

using namespace std::chrono_literals;

core::TranscodingConfig config() {
  core::TranscodingConfig c;
  c.use_gpu = false;
  c.worker_threads = 2;
  // Whole sources are published at once here: the queue holds them all.
  c.max_queue_size = 4096;
  return c;
}

struct Renditions {
  std::mutex mutex;
  std::map<std::string, std::vector<RenditionFeed>> by_stream;
};

template <class F>
bool eventually(F done, std::chrono::seconds limit = 30s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return done();
}

// Publishes a real source into `stream` at once, each frame's arrival set as
// if it had come in real time starting `age` ago: an age of 2 s is a
// transcoder that far behind; 0 a source it can keep up with.
void publish_all(ingest::LiveStream& stream, const std::vector<media::MediaFrame>& frames,
                 std::chrono::milliseconds age, bool end = true) {
  const auto start = std::chrono::system_clock::now() - age;
  const std::int64_t first = frames.front().dts;
  for (auto f : frames) {
    const std::int64_t t90k = f.kind == media::TrackKind::kVideo ? f.dts : f.pts * 90000 / f.config->timescale;
    const auto offset = std::chrono::microseconds(std::max<std::int64_t>(0, t90k - first) * 100 / 9);
    f.arrival = age.count() > 0 ? start : start + std::chrono::duration_cast<std::chrono::system_clock::duration>(offset);
    stream.hub().publish(f);
  }
  if (end) stream.hub().end();
}

class TranscodingServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    frames_ = transcode::testing::frames_of(mirror::testing::h264_aac_720p30_ts());
    ASSERT_FALSE(frames_.empty());
  }

  std::vector<media::MediaFrame> frames_;
  core::MetricsRegistry metrics_;
  ingest::StreamTable streams_{25, 5s};
  Renditions renditions_;
  std::unique_ptr<TranscodingService> make(core::TranscodingConfig c = config()) {
    return std::make_unique<TranscodingService>(
        c, 2s, streams_, metrics_,
        [this](const std::shared_ptr<ingest::LiveStream>& s, std::vector<RenditionFeed> feeds) {
          std::lock_guard lock(renditions_.mutex);
          renditions_.by_stream[s->name()] = std::move(feeds);
        });
  }
};

TEST_F(TranscodingServiceTest, EveryStreamGetsItsRenditionHubs) {
  auto service = make();
  ASSERT_TRUE(service->start());
  auto stream = *streams_.admit("cam", "srt");
  std::shared_ptr<ingest::Subscription> out;
  {
    std::lock_guard lock(renditions_.mutex);
    ASSERT_EQ(renditions_.by_stream["cam"].size(), 1u);
    const auto& feed = renditions_.by_stream["cam"][0];
    EXPECT_EQ(feed.name, "360p");
    EXPECT_TRUE(feed.carries_audio);
    out = feed.hub->subscribe("test", 1 << 16);
  }
  // The source stays open while its state is read: an ended stream's entry
  // is let go by the service's housekeeping.
  publish_all(*stream, frames_, 0ms, /*end=*/false);
  int video = 0, audio = 0;
  auto drain = [&] {
    while (auto f = out->pop()) (f->kind == media::TrackKind::kVideo ? video : audio)++;
  };
  ASSERT_TRUE(eventually([&] {
    drain();
    return video >= 110 && audio > 150;
  })) << video << " video, " << audio << " audio";
  EXPECT_EQ(service->health().status, core::HealthStatus::kHealthy);
  const auto j = service->stream_json("cam");
  ASSERT_TRUE(j.has_value());
  EXPECT_EQ((*j)["state"], "ok");
  EXPECT_EQ((*j)["path"], "cpu");
  stream->hub().end();
  ASSERT_TRUE(eventually([&] {
    drain();
    return out->finished();
  }));
  EXPECT_TRUE(eventually([&] { return !service->stream_json("cam").has_value(); }));
  service->stop(std::chrono::steady_clock::now() + 5s);
}

TEST_F(TranscodingServiceTest, AStreamFarBehindDropsWholeGopsAndIsDegradedWhileOthersAreNot) {
  auto service = make();
  ASSERT_TRUE(service->start());
  auto late = *streams_.admit("late", "srt");
  auto fine = *streams_.admit("fine", "srt");
  // The source rendition's own subscriber sees every frame regardless.
  auto source = late->hub().subscribe("hls", 1 << 16);
  std::shared_ptr<ingest::Subscription> fine_out;
  {
    std::lock_guard lock(renditions_.mutex);
    fine_out = renditions_.by_stream["fine"][0].hub->subscribe("test", 1 << 16);
  }
  // Both sources stay open while their state is read (an ended stream's
  // entry is let go by the service's housekeeping).
  publish_all(*late, frames_, 2000ms, /*end=*/false);
  publish_all(*fine, frames_, 0ms, /*end=*/false);
  ASSERT_TRUE(eventually([&] {
    const auto j = service->stream_json("late");
    return j && (*j)["dropped_gops"].get<std::uint64_t>() >= 3;
  })) << service->stream_json("late").value_or(nlohmann::json()).dump();
  const auto late_json = *service->stream_json("late");
  EXPECT_EQ(late_json["state"], "degraded");
  EXPECT_EQ(late_json["decode_errors"], 0u);  // whole GOPs: nothing broken
  const auto health = service->health();
  EXPECT_EQ(health.status, core::HealthStatus::kDegraded);
  EXPECT_EQ(health.details["degraded"], nlohmann::json::array({"late"}));
  std::size_t seen = 0;
  while (source->pop()) ++seen;
  EXPECT_EQ(seen, frames_.size());
  int fine_video = 0;
  ASSERT_TRUE(eventually([&] {
    while (auto f = fine_out->pop()) fine_video += f->kind == media::TrackKind::kVideo;
    return fine_video >= 110;
  })) << fine_video;
  const auto fine_json = service->stream_json("fine");
  ASSERT_TRUE(fine_json.has_value());
  EXPECT_EQ((*fine_json)["state"], "ok");
  EXPECT_EQ((*fine_json)["dropped_gops"], 0u);
  late->hub().end();
  fine->hub().end();
  ASSERT_TRUE(eventually([&] {
    while (fine_out->pop()) {
    }
    return fine_out->finished();
  }));
  service->stop(std::chrono::steady_clock::now() + 5s);
}

TEST_F(TranscodingServiceTest, StoppingWithFramesQueuedFinishesEveryRendition) {
  auto service = make();
  ASSERT_TRUE(service->start());
  auto stream = *streams_.admit("cam", "srt");
  std::shared_ptr<ingest::Subscription> out;
  {
    std::lock_guard lock(renditions_.mutex);
    out = renditions_.by_stream["cam"][0].hub->subscribe("test", 1 << 16);
  }
  // Half the source, then the service stops with frames still queued.
  for (std::size_t i = 0; i < frames_.size() / 2; ++i) stream->hub().publish(frames_[i]);
  service->stop(std::chrono::steady_clock::now() + 5s);
  EXPECT_TRUE(eventually([&] {
    while (out->pop()) {
    }
    return out->finished();
  }));
  EXPECT_FALSE(service->stream_json("cam").has_value());
}

TEST_F(TranscodingServiceTest, DisabledServiceTranscodesNothing) {
  auto c = config();
  c.enabled = false;
  auto service = make(c);
  ASSERT_TRUE(service->start());
  auto stream = *streams_.admit("cam", "srt");
  std::lock_guard lock(renditions_.mutex);
  EXPECT_TRUE(renditions_.by_stream.empty());
  EXPECT_FALSE(service->stream_json("cam").has_value());
}

TEST_F(TranscodingServiceTest, UsesTheCpuWhenTheGpuProbeRefuses) {
  auto c = config();
  c.use_gpu = true;
  c.gpu_devices = {0};
  auto service = make(c);
  ASSERT_TRUE(service->start());
  ASSERT_EQ(service->gpu_probes().size(), 1u);
  if (service->gpu_probes()[0].cuda) GTEST_SKIP() << "this machine has a usable GPU";
  EXPECT_FALSE(service->gpu_probes()[0].reason.empty());
  auto stream = *streams_.admit("cam", "srt");
  const auto j = service->stream_json("cam");
  ASSERT_TRUE(j.has_value());
  EXPECT_EQ((*j)["path"], "cpu");
  EXPECT_EQ(service->health().details["gpu"], false);
  service->stop(std::chrono::steady_clock::now() + 5s);
}

}  // namespace
}  // namespace mirror::server
