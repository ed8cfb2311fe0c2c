#include "server/packaging_service.h"

#include "core/logging.h"

#include <cmath>

namespace mirror::server {

using package::hls::Presentation;
using package::hls::StreamPackager;
using package::hls::VariantRole;

struct PackagingService::Feed {
  std::shared_ptr<ingest::StreamHub> hub;  // a rendition's hub, kept alive here; null for the source
  std::shared_ptr<ingest::Subscription> subscription;
  std::shared_ptr<StreamPackager> packager;
  bool source = false;
  std::atomic<bool> due{false};
  // Set by another thread (a new stream took the name): the packaging thread
  // ends this feed the next time it runs it. No other thread touches a
  // packager that the packaging thread may be inside.
  std::atomic<bool> retire{false};
  // The subscription is in place: until then the hub's callback (which may
  // run at once, replaying the current GOP) schedules nothing.
  std::atomic<bool> attached{false};
  bool ended = false;  // packaging thread only
};

struct PackagingService::Entry {
  std::shared_ptr<ingest::LiveStream> stream;
  std::shared_ptr<Presentation> presentation;
  std::int64_t first_msn = 0;  // shared by every feed, so that aligned renditions number alike
  std::vector<std::shared_ptr<Feed>> feeds;  // guarded by the service's mutex
  bool has_source = false;                   // guarded by the service's mutex
  std::atomic<bool> ended{false};
  std::atomic<std::int64_t> ended_at_ns{0};  // steady clock
  // Its recording session (the storage records): id, and whether it ended.
  std::int64_t session = 0;
  std::atomic<bool> recording_ended{false};
  std::string described;  // the multivariant last recorded (packaging thread)
  std::chrono::steady_clock::time_point next_description{};
};

namespace {

std::int64_t unix_ms(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// How often a live stream's multivariant playlist is compared with the one
// its recording session keeps.
constexpr auto kDescribeEvery = std::chrono::seconds{2};

}  // namespace

PackagingService::PackagingService(package::hls::PackagerSettings settings,
                                   ingest::StreamTable& streams, core::MetricsRegistry& metrics,
                                   std::chrono::nanoseconds linger, storage::StorageService* storage)
    : settings_(settings), streams_(streams), metrics_(metrics), linger_(linger), storage_(storage) {
  auto& delay = metrics_.histogram(
      "mirror_hls_part_publish_delay_seconds",
      "From the arrival of a part's last frame at the ingest to the release of the requests "
      "waiting for the part (source renditions)",
      {0.0005, 0.001, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25},
      {"track"});
  settings_.video_publish_delay = &delay.with({"video"});
  settings_.audio_publish_delay = &delay.with({"audio"});
  frames_ = &metrics_.counter("mirror_packaging_frames_total", "Frames handed to the LL-HLS packager").get();
  metrics_.gauge("mirror_hls_held_requests", "Playlist requests held for a part that is not published yet")
      .with_callback({}, [this] {
        double held = 0;
        for (const auto& f : all_feeds()) {
          held += static_cast<double>(f->packager->video_store()->waiter_count() +
                                      f->packager->audio_store()->waiter_count());
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
  // With the DVR recording, the live window keeps in memory only what its
  // parts need; the cache serves the rest (storage starts first).
  settings_.spill_old_segments = storage_ != nullptr && storage_->recording();
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
  // The packaging thread is gone: this thread owns every packager now.
  std::map<std::string, std::shared_ptr<Entry>> entries;
  std::vector<std::shared_ptr<Feed>> feeds;
  {
    std::lock_guard lock(mutex_);
    entries.swap(entries_);
    // Feeds retired but not yet run (their name was just taken) end too.
    feeds.assign(due_.begin(), due_.end());
    due_.clear();
    for (const auto& [name, e] : entries) feeds.insert(feeds.end(), e->feeds.begin(), e->feeds.end());
  }
  // Held requests get the final playlists.
  for (const auto& f : feeds) {
    if (f->subscription) f->subscription->cancel();
    f->packager->end();
  }
  for (auto& [name, e] : entries) end_recording(*e);
}

core::Health PackagingService::health() const {
  core::Health h;
  h.details = {{"streams", list().size()}};
  return h;
}

std::shared_ptr<PackagingService::Entry> PackagingService::entry_for(
    const std::shared_ptr<ingest::LiveStream>& stream) {
  std::vector<std::shared_ptr<Feed>> replaced;
  std::shared_ptr<Entry> replaced_entry;
  std::shared_ptr<Entry> entry;
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(stream->name());
    if (it != entries_.end() && it->second->stream == stream) return it->second;
    if (it != entries_.end()) {
      replaced = it->second->feeds;
      replaced_entry = it->second;
    }
    entry = std::make_shared<Entry>();
    entry->stream = stream;
    // Segment numbers start at the creation time in hundredths of a second
    // (see PlaylistSettings): one base for every feed of this stream.
    entry->first_msn = settings_.first_msn >= 0
                           ? settings_.first_msn
                           : std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                     .count() /
                                 10;
    entry->session = std::max<std::int64_t>(entry->first_msn, 1);
    entry->presentation = std::make_shared<Presentation>(
        stream->name(), storage_ != nullptr && storage_->recording() ? entry->session : 0);
    entries_[stream->name()] = entry;
  }
  if (replaced_entry) end_recording(*replaced_entry);
  if (storage_ != nullptr) {
    storage_->open_session(stream->name(), entry->session, unix_ms(std::chrono::system_clock::now()));
  }
  // A new stream took the name: the old one's readers get its final
  // playlists, from the packaging thread, which owns its packagers.
  for (const auto& f : replaced) {
    f->retire.store(true, std::memory_order_release);
    schedule(f);
  }
  return entry;
}

void PackagingService::add(const std::shared_ptr<ingest::LiveStream>& stream) {
  auto entry = entry_for(stream);
  {
    std::lock_guard lock(mutex_);
    if (entry->has_source) return;  // already packaged
    entry->has_source = true;
  }
  auto settings = settings_;
  settings.first_msn = entry->first_msn;
  auto feed = std::make_shared<Feed>();
  feed->source = true;
  feed->packager = std::make_shared<StreamPackager>(stream->name(), settings);
  attach(entry, feed, stream->hub(), VariantRole::kSource);
}

void PackagingService::add_renditions(const std::shared_ptr<ingest::LiveStream>& stream,
                                      std::vector<RenditionFeed> renditions) {
  if (!started_.load(std::memory_order_acquire)) return;
  auto entry = entry_for(stream);
  for (auto& r : renditions) {
    auto settings = settings_;
    settings.first_msn = entry->first_msn;
    // The publish-delay histogram is the source's: a rendition's frames
    // arrive later by the transcoder's own latency, measured there.
    settings.video_publish_delay = nullptr;
    settings.audio_publish_delay = nullptr;
    package::hls::RenditionNames names;
    names.video = r.name;
    names.audio = r.carries_audio ? kTranscodedAudioRendition : "";
    auto feed = std::make_shared<Feed>();
    feed->hub = r.hub;
    feed->packager = std::make_shared<StreamPackager>(stream->name(), settings, std::move(names));
    attach(entry, feed, *r.hub, VariantRole::kTranscoded);
  }
}

void PackagingService::attach(const std::shared_ptr<Entry>& entry, const std::shared_ptr<Feed>& feed,
                              ingest::StreamHub& hub, VariantRole role) {
  record_segments(*entry, *feed->packager);
  entry->presentation->add(feed->packager, role);
  std::weak_ptr<Feed> weak = feed;
  std::weak_ptr<bool> alive = alive_;
  // Subscribing replays the current GOP, so packaging starts on a keyframe.
  auto subscription = hub.subscribe("hls", 4096, [this, weak, alive] {
    if (!alive.lock()) return;
    auto f = weak.lock();
    if (f && f->attached.load(std::memory_order_acquire)) schedule(f);
  });
  {
    std::lock_guard lock(mutex_);
    feed->subscription = std::move(subscription);
    entry->feeds.push_back(feed);
  }
  // Published (the mutex's release and this store) before anything can
  // schedule the feed; frames queued meanwhile are drained by this schedule.
  feed->attached.store(true, std::memory_order_release);
  schedule(feed);
}

void PackagingService::schedule(const std::shared_ptr<Feed>& feed) {
  if (feed->due.exchange(true, std::memory_order_acq_rel)) return;
  {
    std::lock_guard lock(mutex_);
    due_.push_back(feed);
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
      auto feed = std::move(due_.front());
      due_.pop_front();
      // Cleared before draining: a frame queued meanwhile schedules it again.
      feed->due.store(false, std::memory_order_release);
      if (feed->subscription) {
        lock.unlock();
        drain(*feed);
        lock.lock();
      }
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

void PackagingService::drain(Feed& feed) {
  if (feed.ended) return;
  if (feed.retire.load(std::memory_order_acquire)) {
    feed.subscription->cancel();
    feed.packager->end();
    feed.ended = true;
    return;
  }
  std::uint64_t n = 0;
  while (auto frame = feed.subscription->pop()) {
    feed.packager->on_frame(*frame);
    ++n;
  }
  frames_->inc(n);
  feed.packager->flush();
  if (feed.subscription->finished()) {
    feed.packager->end();
    feed.ended = true;
    core::log::info("stream packaging ended",
                    {{"stream", feed.packager->stream()},
                     {"rendition", feed.packager->names().video}});
  }
}

void PackagingService::housekeeping(std::chrono::steady_clock::time_point now) {
  const std::int64_t now_ns = now.time_since_epoch().count();
  std::vector<std::shared_ptr<Feed>> live;
  std::vector<std::shared_ptr<Feed>> forgotten;
  std::vector<std::shared_ptr<Entry>> described;
  {
    std::lock_guard lock(mutex_);
    for (auto it = entries_.begin(); it != entries_.end();) {
      Entry& e = *it->second;
      bool source_ended = false;
      for (const auto& f : e.feeds) source_ended |= f->source && f->packager->ended();
      if (source_ended && !e.ended.exchange(true)) {
        e.ended_at_ns.store(now_ns);
        end_recording(e);
      }
      if (!e.ended.load()) described.push_back(it->second);
      if (e.ended.load() && now_ns - e.ended_at_ns.load() > linger_.count()) {
        forgotten.insert(forgotten.end(), e.feeds.begin(), e.feeds.end());
        it = entries_.erase(it);
      } else {
        live.insert(live.end(), e.feeds.begin(), e.feeds.end());
        ++it;
      }
    }
  }
  for (const auto& f : forgotten) {
    f->subscription->cancel();
    f->packager->end();
  }
  for (const auto& e : described) describe_recording(*e, now);
  for (const auto& f : live) {
    f->packager->video_store()->expire(now);
    f->packager->audio_store()->expire(now);
  }
}

void PackagingService::record_segments(const Entry& entry, const StreamPackager& packager) {
  if (storage_ == nullptr || !storage_->recording()) return;
  for (const auto& store : {packager.video_store(), packager.audio_store()}) {
    // Runs under the store's lock on the packaging thread: it only queues.
    // The cache's confirmation goes back to the store as a note (see
    // PartStore::confirm_cached): only then may the segment leave memory.
    store->set_segment_observer([storage = storage_, stream = packager.stream(), session = entry.session,
                                 rendition = store->rendition(), weak = std::weak_ptr<package::hls::PartStore>(store)](
                                    const package::hls::CompletedSegment& done) {
      storage::SegmentJob job;
      job.record.key = {stream, rendition, session, done.msn};
      job.record.discontinuity_sequence = done.discontinuity_sequence;
      job.record.init_version = done.init_version;
      job.record.program_date_time_ms = unix_ms(done.program_date_time);
      job.record.duration_us = std::llround(done.duration * 1e6);
      job.bytes = done.bytes;
      if (!done.init.empty()) job.init = done.init;
      job.cached = [weak, msn = done.msn] {
        if (auto cached = weak.lock()) cached->confirm_cached(msn);
      };
      storage->record(std::move(job));
    });
  }
}

void PackagingService::end_recording(Entry& entry) {
  if (storage_ == nullptr || entry.recording_ended.exchange(true)) return;
  storage_->end_session(entry.stream->name(), entry.session, unix_ms(std::chrono::system_clock::now()));
}

// The session keeps the stream's multivariant playlist, so that its DVR
// lists the same renditions once the stream is gone.
void PackagingService::describe_recording(Entry& entry, std::chrono::steady_clock::time_point now) {
  if (storage_ == nullptr || !storage_->recording() || now < entry.next_description) return;
  entry.next_description = now + kDescribeEvery;
  if (entry.presentation->pending(package::hls::VariantScope::kAll)) return;  // not all playable yet
  std::string text = entry.presentation->multivariant_playlist(package::hls::VariantScope::kAll);
  if (text.empty() || text == entry.described) return;
  entry.described = text;
  storage_->describe_session(entry.stream->name(), entry.session, std::move(text));
}

std::vector<std::shared_ptr<PackagingService::Feed>> PackagingService::all_feeds() const {
  std::lock_guard lock(mutex_);
  std::vector<std::shared_ptr<Feed>> out;
  for (const auto& [name, e] : entries_) out.insert(out.end(), e->feeds.begin(), e->feeds.end());
  return out;
}

std::shared_ptr<Presentation> PackagingService::find(const std::string& stream) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(stream);
  return it == entries_.end() ? nullptr : it->second->presentation;
}

std::vector<std::shared_ptr<Presentation>> PackagingService::list() const {
  std::lock_guard lock(mutex_);
  std::vector<std::shared_ptr<Presentation>> out;
  out.reserve(entries_.size());
  for (const auto& [name, e] : entries_) out.push_back(e->presentation);
  return out;
}

}  // namespace mirror::server
