// PackagingService: the LL-HLS packaging of every live stream. Each stream has
// a Presentation holding one StreamPackager per feed: the stream's own hub
// (the source) and the hub of each of its transcoded renditions, so that
// every feed fills its PartStores as frames arrive. Delivery (HTTP) finds
// presentations here by name.
//
// One packaging thread serves all feeds: a hub's on_ready marks its feed as
// due (an atomic flag, then one queue push) and the thread drains due feeds'
// queues in turn, flushing each feed's chunks when its queue is empty. The
// same thread answers blocking requests whose deadline passed (every 20 ms)
// and forgets ended streams after `linger` (their final playlists stay
// readable until then, or until a new stream takes the name).
//
// With a StorageService that records, each instance of a stream is a
// recording session (its id: the stream's first segment number), and every
// completed segment of every rendition is handed to it as it completes; the
// session's multivariant playlist follows the renditions as they appear.
#pragma once

#include "core/config.h"
#include "core/metrics.h"
#include "core/service.h"
#include "ingest/stream_table.h"
#include "package/hls/presentation.h"
#include "package/hls/stream_packager.h"
#include "storage/storage_service.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace mirror::server {

// A transcoded rendition of a stream, as a hub of its own.
struct RenditionFeed {
  std::string name;  // its folder in playback URLs ("360p")
  std::shared_ptr<ingest::StreamHub> hub;
  bool carries_audio = false;  // the stream's transcoded audio travels in this hub
};

inline constexpr const char* kTranscodedAudioRendition = "transcoded-audio";

class PackagingService final : public core::Service {
 public:
  PackagingService(package::hls::PackagerSettings settings, ingest::StreamTable& streams,
                   core::MetricsRegistry& metrics,
                   std::chrono::nanoseconds linger = std::chrono::seconds{60},
                   storage::StorageService* storage = nullptr);
  ~PackagingService() override;

  std::string_view name() const override { return "packaging"; }
  core::Status start() override;
  void stop(core::Deadline deadline) override;
  core::Health health() const override;

  // Any thread: packages transcoded renditions of `stream` beside its source.
  void add_renditions(const std::shared_ptr<ingest::LiveStream>& stream,
                      std::vector<RenditionFeed> renditions);

  // Any thread.
  std::shared_ptr<package::hls::Presentation> find(const std::string& stream) const;
  std::vector<std::shared_ptr<package::hls::Presentation>> list() const;

 private:
  struct Feed;
  struct Entry;
  std::shared_ptr<Entry> entry_for(const std::shared_ptr<ingest::LiveStream>& stream);
  void add(const std::shared_ptr<ingest::LiveStream>& stream);
  void attach(const std::shared_ptr<Entry>& entry, const std::shared_ptr<Feed>& feed,
              ingest::StreamHub& hub, package::hls::VariantRole role);
  void schedule(const std::shared_ptr<Feed>& feed);
  void run();
  void drain(Feed& feed);
  void housekeeping(std::chrono::steady_clock::time_point now);
  std::vector<std::shared_ptr<Feed>> all_feeds() const;
  // Recording (when storage records): sessions and segments.
  void record_segments(const Entry& entry, const package::hls::StreamPackager& packager);
  void end_recording(Entry& entry);
  void describe_recording(Entry& entry, std::chrono::steady_clock::time_point now);

  package::hls::PackagerSettings settings_;
  ingest::StreamTable& streams_;
  core::MetricsRegistry& metrics_;
  const std::chrono::nanoseconds linger_;
  storage::StorageService* const storage_;

  mutable std::mutex mutex_;  // entries_, every entry's feeds, due_
  std::condition_variable wake_;
  std::map<std::string, std::shared_ptr<Entry>> entries_;
  std::deque<std::shared_ptr<Feed>> due_;
  bool stopping_ = false;
  std::thread thread_;
  std::atomic<bool> started_{false};
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);

  core::Counter* frames_ = nullptr;
};

}  // namespace mirror::server
