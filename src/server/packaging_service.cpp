#include "server/packaging_service.h"

#include "core/logging.h"

namespace mirror::server {

struct PackagingService::Entry {
  std::shared_ptr<ingest::LiveStream> stream;
  std::shared_ptr<ingest::Subscription> subscription;
  std::shared_ptr<package::hls::StreamPackager> packager;
  std::atomic<bool> due{false};
  bool ended = false;  // packaging thread only
  std::chrono::steady_clock::time_point ended_at{};
};

PackagingService::PackagingService(package::hls::PackagerSettings settings,
                                   ingest::StreamTable& streams, core::MetricsRegistry& metrics,
                                   std::chrono::nanoseconds linger)
    : settings_(settings), streams_(streams), metrics_(metrics), linger_(linger) {
  auto& delay = metrics_.histogram(
      "mirror_hls_part_publish_delay_seconds",
      "From the arrival of a part's last frame at the ingest to the release of the requests "
      "waiting for the part",
      {0.0005, 0.001, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25},
      {"track"});
  settings_.video_publish_delay = &delay.with({"video"});
  settings_.audio_publish_delay = &delay.with({"audio"});
  frames_ = &metrics_.counter("mirror_packaging_frames_total", "Frames handed to the LL-HLS packager").get();
  metrics_.gauge("mirror_hls_held_requests", "Playlist requests held for a part that is not published yet")
      .with_callback({}, [this] {
        double held = 0;
        for (const auto& p : list()) {
          for (const char* r : {package::hls::kVideoRendition, package::hls::kAudioRendition}) {
            held += static_cast<double>(p->store(r)->waiter_count());
          }
        }
        return held;
      });
  metrics_.gauge("mirror_hls_streams", "Streams with LL-HLS packaging (live or lingering after the end)")
      .with_callback({}, [this] { return static_cast<double>(list().size()); });
  // Streams admitted before start() are picked up in start().
  std::weak_ptr<bool> alive = alive_;
  streams_.on_stream_added([this, alive](const std::shared_ptr<ingest::LiveStream>& s) {
    if (alive.lock() && started_.load(std::memory_order_acquire)) add(s);
  });
}

PackagingService::~PackagingService() {
  stop(std::chrono::steady_clock::now());
  alive_.reset();
}

core::Status PackagingService::start() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { run(); });
  started_.store(true, std::memory_order_release);
  for (const auto& s : streams_.list()) add(s);
  core::log::info("packaging started",
                  {{"part_duration_ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                            settings_.part_duration).count()},
                   {"segment_length_ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                             settings_.segment_length).count()},
                   {"playlist_segments", settings_.playlist_segments}});
  return core::Ok{};
}

void PackagingService::stop(core::Deadline) {
  started_.store(false, std::memory_order_release);
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::map<std::string, std::shared_ptr<Entry>> entries;
  {
    std::lock_guard lock(mutex_);
    entries.swap(entries_);
    due_.clear();
  }
  // Held requests get the final playlists.
  for (auto& [name, e] : entries) {
    e->subscription->cancel();
    e->packager->end();
  }
}

core::Health PackagingService::health() const {
  core::Health h;
  h.details = {{"streams", list().size()}};
  return h;
}

void PackagingService::add(const std::shared_ptr<ingest::LiveStream>& stream) {
  auto entry = std::make_shared<Entry>();
  entry->stream = stream;
  entry->packager = std::make_shared<package::hls::StreamPackager>(stream->name(), settings_);
  std::weak_ptr<Entry> weak = entry;
  std::weak_ptr<bool> alive = alive_;
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(stream->name());
    if (it != entries_.end()) {
      if (it->second->stream == stream) return;  // already packaged
      it->second->subscription->cancel();
      it->second->packager->end();
    }
    entries_[stream->name()] = entry;
  }
  // Subscribing replays the current GOP, so packaging starts on a keyframe.
  entry->subscription = stream->hub().subscribe("hls", 4096, [this, weak, alive] {
    if (!alive.lock()) return;
    if (auto e = weak.lock()) schedule(e);
  });
  schedule(entry);
}

void PackagingService::schedule(const std::shared_ptr<Entry>& entry) {
  if (entry->due.exchange(true, std::memory_order_acq_rel)) return;
  {
    std::lock_guard lock(mutex_);
    due_.push_back(entry);
  }
  wake_.notify_one();
}

void PackagingService::run() {
  auto next_housekeeping = std::chrono::steady_clock::now();
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_until(lock, next_housekeeping, [this] { return stopping_ || !due_.empty(); });
    if (stopping_) break;
    while (!due_.empty()) {
      auto entry = std::move(due_.front());
      due_.pop_front();
      lock.unlock();
      // Cleared before draining: a frame queued meanwhile schedules it again.
      entry->due.store(false, std::memory_order_release);
      if (entry->subscription) drain(*entry);
      lock.lock();
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= next_housekeeping) {
      lock.unlock();
      housekeeping(now);
      lock.lock();
      next_housekeeping = now + std::chrono::milliseconds{20};
    }
  }
}

void PackagingService::drain(Entry& entry) {
  if (entry.ended) return;
  std::uint64_t n = 0;
  while (auto frame = entry.subscription->pop()) {
    entry.packager->on_frame(*frame);
    ++n;
  }
  frames_->inc(n);
  entry.packager->flush();
  if (entry.subscription->finished()) {
    entry.packager->end();
    entry.ended = true;
    entry.ended_at = std::chrono::steady_clock::now();
    core::log::info("stream packaging ended", {{"stream", entry.stream->name()}});
  }
}

void PackagingService::housekeeping(std::chrono::steady_clock::time_point now) {
  std::vector<std::shared_ptr<Entry>> entries;
  {
    std::lock_guard lock(mutex_);
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (it->second->ended && now - it->second->ended_at > linger_) {
        it = entries_.erase(it);
      } else {
        entries.push_back(it->second);
        ++it;
      }
    }
  }
  for (const auto& e : entries) {
    for (const char* r : {package::hls::kVideoRendition, package::hls::kAudioRendition}) {
      e->packager->store(r)->expire(now);
    }
  }
}

std::shared_ptr<package::hls::StreamPackager> PackagingService::find(const std::string& stream) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(stream);
  return it == entries_.end() ? nullptr : it->second->packager;
}

std::vector<std::shared_ptr<package::hls::StreamPackager>> PackagingService::list() const {
  std::lock_guard lock(mutex_);
  std::vector<std::shared_ptr<package::hls::StreamPackager>> out;
  out.reserve(entries_.size());
  for (const auto& [name, e] : entries_) out.push_back(e->packager);
  return out;
}

}  // namespace mirror::server
