// Pulls one rendition of another node's stream into a PartStore of this node,
// the way an LL-HLS player would, over one keep-alive connection: a blocking
// playlist reload for the part the origin hints at next (_HLS_msn/_HLS_part),
// then each new part as soon as it is listed, published here with the
// origin's numbers, durations, independence, program date times,
// discontinuities and init segments. Viewers of this node are then served by
// the store like viewers of a local stream; no viewer request goes on to the
// origin.
//
// It starts at the oldest segment whose parts the origin still lists, and
// stops (ending the store) when the origin ends the rendition, loses it
// (404), stays unreachable, or answers something that is not a Mirror
// playlist; the relay service then decides what comes next.
//
// Threads: its own thread does everything; stop() from any thread.
#pragma once

#include "core/metrics.h"
#include "package/hls/part_store.h"
#include "package/hls/presentation.h"

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

namespace mirror::relay {

struct PullerSettings {
  std::string origin_url;  // the origin's delivery base URL
  std::string stream;
  std::string rendition;
  // Appended to every request ("token=..."), or null.
  std::function<std::string()> query;
  int window_segments = 20;
};

struct RelayMetrics {
  core::Counter* parts = nullptr;
  core::Counter* bytes = nullptr;
  core::CounterFamily* errors = nullptr;  // {cause}
};

class RenditionPuller {
 public:
  RenditionPuller(PullerSettings settings, std::shared_ptr<package::hls::Presentation> presentation,
                  RelayMetrics metrics);
  ~RenditionPuller();
  RenditionPuller(const RenditionPuller&) = delete;
  RenditionPuller& operator=(const RenditionPuller&) = delete;

  void start();
  void stop();
  // The thread has finished (origin ended, lost or unreachable).
  bool finished() const { return finished_.load(std::memory_order_acquire); }
  const std::string& rendition() const { return settings_.rendition; }

 private:
  void run();

  PullerSettings settings_;
  std::shared_ptr<package::hls::Presentation> presentation_;
  RelayMetrics metrics_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> finished_{false};
  std::thread thread_;
};

}  // namespace mirror::relay
