// PackagingService: subscribes to every live stream's hub and runs its
// StreamPackager, so that each stream's LL-HLS renditions fill their
// PartStores as frames arrive. Delivery (HTTP) finds packagers here by name.
//
// One packaging thread serves all streams: a hub's on_ready marks its stream
// as due (an atomic flag, then one queue push) and the thread drains due
// streams' queues in turn, flushing each stream's chunks when its queue is
// empty. The same thread answers blocking requests whose deadline passed
// (every 20 ms) and forgets ended streams after `linger` (their final
// playlists stay readable until then, or until a new stream takes the name).
#pragma once

#include "core/config.h"
#include "core/metrics.h"
#include "core/service.h"
#include "ingest/stream_table.h"
#include "package/hls/stream_packager.h"

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

class PackagingService final : public core::Service {
 public:
  PackagingService(package::hls::PackagerSettings settings, ingest::StreamTable& streams,
                   core::MetricsRegistry& metrics,
                   std::chrono::nanoseconds linger = std::chrono::seconds{60});
  ~PackagingService() override;

  std::string_view name() const override { return "packaging"; }
  core::Status start() override;
  void stop(core::Deadline deadline) override;
  core::Health health() const override;

  // Any thread.
  std::shared_ptr<package::hls::StreamPackager> find(const std::string& stream) const;
  std::vector<std::shared_ptr<package::hls::StreamPackager>> list() const;

 private:
  struct Entry;
  void add(const std::shared_ptr<ingest::LiveStream>& stream);
  void schedule(const std::shared_ptr<Entry>& entry);
  void run();
  void drain(Entry& entry);
  void housekeeping(std::chrono::steady_clock::time_point now);

  package::hls::PackagerSettings settings_;
  ingest::StreamTable& streams_;
  core::MetricsRegistry& metrics_;
  const std::chrono::nanoseconds linger_;

  mutable std::mutex mutex_;  // entries_, due_
  std::condition_variable wake_;
  std::map<std::string, std::shared_ptr<Entry>> entries_;
  std::deque<std::shared_ptr<Entry>> due_;
  bool stopping_ = false;
  std::thread thread_;
  std::atomic<bool> started_{false};
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);

  core::Counter* frames_ = nullptr;
};

}  // namespace mirror::server
