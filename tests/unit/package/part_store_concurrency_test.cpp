// The PartStore under its real threading: one packaging thread writes while
// reader threads render playlists, fetch parts and segments, park blocking
// requests and stream the part being written (run under TSan in make test).
#include "package/hls/stream_packager.h"

#include "package_test_util.h"

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <thread>

namespace mirror::package::hls {
namespace {

TEST(PartStoreConcurrencyTest, ReadersAndWaitersRaceTheWriterSafely) {
  PackagerSettings settings;
  settings.playlist_segments = 4;
  settings.first_msn = 0;
  StreamPackager packager("race", settings);
  auto video = testing::video_config();
  auto audio = testing::audio_config();
  std::atomic<bool> done{false};
  std::atomic<int> released{0};
  std::atomic<int> streamed{0};
  // The writer starts once every reader runs: a machine that schedules the
  // writer first must not let it finish before anyone reads.
  std::latch readers_running{3};

  std::thread writer([&] {
    readers_running.wait();
    std::int64_t audio_pts = 0;
    for (int i = 0; i < 600; ++i) {
      packager.on_frame(testing::video_frame(video, i * 3000, i % 30 == 0, 2000));
      while (audio_pts * 90000 / 48000 < (i + 1) * 3000) {
        packager.on_frame(testing::audio_frame(audio, audio_pts));
        audio_pts += 1024;
      }
      packager.flush();
      if (i % 10 == 0) std::this_thread::yield();
    }
    packager.end();
    done = true;
  });

  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&, r] {
      readers_running.count_down();
      auto store = packager.store(r == 2 ? kAudioRendition : kVideoRendition);
      // A few requests parked at a time, as a player has: not one per spin.
      auto outstanding = std::make_shared<std::atomic<int>>(0);
      while (!done) {
        auto text = store->playlist(r == 1);
        EXPECT_TRUE(text.empty() || text.view().starts_with("#EXTM3U"));
        if (auto last = store->last_part()) {
          std::vector<core::SharedBytes> bytes;
          store->part(*last, &bytes, {});
          store->segment(last->msn - 1);
          if (outstanding->load() < 4) {
            outstanding->fetch_add(1);
            PlaylistRequest next{last->msn, last->part + 1, r == 1};
            store->wait(next, PartStore::Clock::now() + std::chrono::seconds(5),
                        [&released, outstanding](WaitOutcome, core::SharedBytes) {
                          released.fetch_add(1);
                          outstanding->fetch_sub(1);
                        });
            store->part({last->msn, last->part + 1}, &bytes,
                        [&streamed](const std::vector<core::SharedBytes>& chunks, bool, bool) {
                          if (!chunks.empty()) streamed.fetch_add(1);
                        });
          }
        }
        store->expire(PartStore::Clock::now());
      }
    });
  }
  writer.join();
  for (auto& t : readers) t.join();
  // Every parked request was answered (released, or with the final playlist).
  EXPECT_EQ(packager.store(kVideoRendition)->waiter_count(), 0u);
  EXPECT_EQ(packager.store(kAudioRendition)->waiter_count(), 0u);
  EXPECT_GT(released.load(), 0);
}

}  // namespace
}  // namespace mirror::package::hls
