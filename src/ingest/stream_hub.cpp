#include "ingest/stream_hub.h"

#include "core/logging.h"

#include <algorithm>

namespace mirror::ingest {

namespace {
bool is_video_keyframe(const media::MediaFrame& f) {
  return f.kind == media::TrackKind::kVideo && f.keyframe;
}

// One line per subscriber name per 10 s when consumers lag, whatever the load.
core::log::KeyedLogLimiter& lag_log() {
  static auto* const limiter = new core::log::KeyedLogLimiter(std::chrono::seconds(10));
  return *limiter;  // immortal, like the logger itself
}
}  // namespace

SubscriptionStats Subscription::stats() const {
  return {delivered_.load(std::memory_order_relaxed), dropped_frames_.load(std::memory_order_relaxed),
          dropped_gops_.load(std::memory_order_relaxed)};
}

void Subscription::offer(const media::MediaFrame& frame, bool stream_has_video) {
  // Resume only at a video keyframe, so that what the consumer gets always
  // decodes. (In an audio-only stream every frame is a keyframe.)
  if (skipping_) {
    const bool resumable = stream_has_video ? is_video_keyframe(frame) : frame.keyframe;
    if (!resumable) {
      dropped_frames_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    skipping_ = false;
  }
  if (!queue_.try_push(frame)) {
    // Full: this consumer lags. Drop the rest of the GOP rather than stall.
    skipping_ = true;
    const auto gops = dropped_gops_.fetch_add(1, std::memory_order_relaxed) + 1;
    dropped_frames_.fetch_add(1, std::memory_order_relaxed);
    lag_log().log(name_, core::log::Level::kWarn, "subscriber lags: skipping to the next keyframe",
                  {{"subscriber", name_}, {"dropped_gops", gops}});
    return;
  }
  delivered_.fetch_add(1, std::memory_order_relaxed);
}

void Subscription::finish() { ended_.store(true, std::memory_order_release); }

std::shared_ptr<Subscription> StreamHub::subscribe(std::string name, std::size_t capacity,
                                                   std::function<void()> on_ready) {
  auto sub = std::make_shared<Subscription>(std::move(name), capacity, std::move(on_ready));
  std::lock_guard lock(mutex_);
  // The hub's lock serialises this with publish(): the replay below and later
  // offers come from one "producer" at a time, as the ring requires.
  for (const auto& f : gop_cache_) sub->offer(f, has_video_);
  if (ended_) sub->finish();
  subscribers_.push_back(sub);
  if (sub->on_ready_ && sub->queue_.size_approx() > 0) sub->on_ready_();
  return sub;
}

void StreamHub::publish(const media::MediaFrame& frame) {
  published_.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(mutex_);
  if (frame.kind == media::TrackKind::kVideo) has_video_ = true;
  if (is_video_keyframe(frame) || (!has_video_ && frame.keyframe && gop_cache_.size() > 0)) {
    gop_cache_.clear();
  }
  if (gop_cache_.size() < gop_cache_limit_) gop_cache_.push_back(frame);
  std::erase_if(subscribers_,
                [](const auto& s) { return s->cancelled_.load(std::memory_order_acquire); });
  for (const auto& s : subscribers_) {
    s->offer(frame, has_video_);
    if (s->on_ready_) s->on_ready_();
  }
}

void StreamHub::end() {
  std::lock_guard lock(mutex_);
  ended_ = true;
  gop_cache_.clear();
  for (const auto& s : subscribers_) {
    s->finish();
    if (s->on_ready_) s->on_ready_();
  }
}

std::size_t StreamHub::subscriber_count() const {
  std::lock_guard lock(mutex_);
  return static_cast<std::size_t>(std::count_if(
      subscribers_.begin(), subscribers_.end(),
      [](const auto& s) { return !s->cancelled_.load(std::memory_order_acquire); }));
}

SubscriptionStats StreamHub::total_stats() const {
  std::lock_guard lock(mutex_);
  SubscriptionStats t;
  for (const auto& s : subscribers_) {
    auto st = s->stats();
    t.delivered += st.delivered;
    t.dropped_frames += st.dropped_frames;
    t.dropped_gops += st.dropped_gops;
  }
  return t;
}

}  // namespace mirror::ingest
