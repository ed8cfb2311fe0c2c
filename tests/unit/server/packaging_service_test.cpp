#include "server/packaging_service.h"

#include "unit/transcode/transcode_fixtures.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace mirror::server {
namespace {

using namespace std::chrono_literals;

// A name republished hundreds of times, each time before the packaging
// thread has drained the last instance's frames, while a viewer holds
// blocking requests on whatever instance the name points to. The old
// packager is ended by the packaging thread, never from the publishing one
// (ThreadSanitizer runs this test), and every held request is answered.
TEST(PackagingServiceTest, RepublishingANameWhileViewersWaitIsSafe) {
  const auto frames = transcode::testing::frames_of(mirror::testing::h264_aac_720p30_ts());
  ASSERT_GT(frames.size(), 60u);
  core::MetricsRegistry metrics;
  ingest::StreamTable streams(25, 5s);
  package::hls::PackagerSettings settings;
  PackagingService service(settings, streams, metrics, 100ms);
  ASSERT_TRUE(service.start());

  std::atomic<bool> done{false};
  std::atomic<int> asked{0};
  std::atomic<int> answered{0};
  std::thread viewer([&] {
    while (!done.load()) {
      auto presentation = service.find("cam");
      auto store = presentation ? presentation->store("source") : nullptr;
      if (!store) {
        std::this_thread::yield();
        continue;
      }
      const auto last = store->last_part();
      package::hls::PlaylistRequest want;
      want.msn = last ? last->msn : store->last_segment_msn() + 1;
      want.part = last ? last->part + 1 : 0;
      ++asked;
      store->wait(want, package::hls::PartStore::Clock::now() + 50ms,
                  [&](package::hls::WaitOutcome, core::SharedBytes) { ++answered; });
      std::this_thread::sleep_for(1ms);
    }
  });

  for (int round = 0; round < 300; ++round) {
    auto stream = streams.admit("cam", "srt");
    ASSERT_TRUE(stream) << stream.error().message;
    // A few frames from the start (a keyframe first), published at once.
    const std::size_t count = 5 + static_cast<std::size_t>(round % 40);
    for (std::size_t i = 0; i < count && i < frames.size(); ++i) (*stream)->hub().publish(frames[i]);
    ASSERT_TRUE(streams.end_stream("cam"));
  }
  // Everything waiting is answered: by a part, a timeout or the final playlist.
  std::this_thread::sleep_for(200ms);
  done.store(true);
  viewer.join();
  EXPECT_GT(asked.load(), 0);
  EXPECT_TRUE([&] {
    for (int i = 0; i < 200 && answered.load() < asked.load(); ++i) std::this_thread::sleep_for(10ms);
    return answered.load() == asked.load();
  }()) << answered.load() << " of " << asked.load();
  service.stop(std::chrono::steady_clock::now() + 5s);
}

}  // namespace
}  // namespace mirror::server
