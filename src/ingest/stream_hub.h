// StreamHub: the fan-out point of one live stream. The ingest thread publishes
// each MediaFrame once; every subscriber (packager, transcoder) gets it through
// its own bounded queue. A subscriber that falls behind loses whole GOPs: its
// queue is not allowed to stall the producer or the other subscribers, so when
// it is full the subscriber skips everything up to the next video keyframe.
// A new subscriber starts with the current GOP (frames since the last
// keyframe), so it can begin decoding or packaging at once.
//
// Threads: publish() and end() from the stream's ingest thread only;
// subscribe() from any thread; each Subscription is drained by one consumer.
#pragma once

#include "core/spsc_ring.h"
#include "media/media_frame.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace mirror::ingest {

class StreamHub;

struct SubscriptionStats {
  std::uint64_t delivered = 0;       // frames queued for the consumer
  std::uint64_t dropped_frames = 0;  // frames skipped because the consumer lagged
  std::uint64_t dropped_gops = 0;    // times the consumer had to skip to a keyframe
};

class Subscription {
 public:
  // Consumer thread. The next frame, or nothing when the queue is empty.
  std::optional<media::MediaFrame> pop() { return queue_.try_pop(); }
  // True once the stream has ended and every queued frame has been popped.
  bool finished() const { return ended_.load(std::memory_order_acquire) && queue_.size_approx() == 0; }
  const std::string& name() const { return name_; }
  SubscriptionStats stats() const;
  // Stops delivery; the hub forgets this subscription at its next publish.
  void cancel() { cancelled_.store(true, std::memory_order_release); }

  Subscription(std::string name, std::size_t capacity, std::function<void()> on_ready)
      : name_(std::move(name)), queue_(capacity), on_ready_(std::move(on_ready)) {}

 private:
  friend class StreamHub;
  // Producer side (the hub).
  void offer(const media::MediaFrame& frame, bool stream_has_video);
  void finish();

  std::string name_;
  core::SpscRing<media::MediaFrame> queue_;
  std::function<void()> on_ready_;
  bool skipping_ = true;  // producer-only: waiting for a keyframe
  std::atomic<bool> ended_{false};
  std::atomic<bool> cancelled_{false};
  std::atomic<std::uint64_t> delivered_{0};
  std::atomic<std::uint64_t> dropped_frames_{0};
  std::atomic<std::uint64_t> dropped_gops_{0};
};

class StreamHub {
 public:
  // `gop_cache_limit`: most frames kept for late joiners (a GOP longer than
  // this is simply not replayed in full).
  explicit StreamHub(std::string stream, std::size_t gop_cache_limit = 1024)
      : stream_(std::move(stream)), gop_cache_limit_(gop_cache_limit) {}

  const std::string& stream() const { return stream_; }

  // `capacity` frames of queue; `on_ready` runs on the producer thread after
  // frames were queued (post to the consumer's loop; keep it cheap).
  std::shared_ptr<Subscription> subscribe(std::string name, std::size_t capacity,
                                          std::function<void()> on_ready = {});

  void publish(const media::MediaFrame& frame);
  // The stream is over; subscribers see finished() once drained.
  void end();

  std::size_t subscriber_count() const;
  std::uint64_t frames_published() const { return published_.load(std::memory_order_relaxed); }
  // Aggregated over current subscribers.
  SubscriptionStats total_stats() const;

 private:
  std::string stream_;
  std::size_t gop_cache_limit_;
  mutable std::mutex mutex_;  // guards subscribers_ and gop_cache_ (per frame: uncontended)
  std::vector<std::shared_ptr<Subscription>> subscribers_;
  std::vector<media::MediaFrame> gop_cache_;
  bool ended_ = false;
  bool has_video_ = false;
  std::atomic<std::uint64_t> published_{0};
};

}  // namespace mirror::ingest
