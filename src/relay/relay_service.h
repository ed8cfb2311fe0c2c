// Any node serves any stream: when a viewer asks this node for a stream that
// another node ingests, the relay service starts a relay of it and hands the
// playback routes a relayed Presentation, which they serve like a local one.
//
//   - The stream's owner and its delivery URL come from the registry; a
//     stream whose node is gone is not relayed.
//   - A relay reads the origin's multivariant playlists (with and without
//     audio, all renditions and the transcoded ones) every 2 s, and starts a
//     RenditionPuller (one thread, one keep-alive connection) per rendition
//     folder they name.
//   - DVR requests for the stream have their playlists from the origin (its
//     index) and their segments from here (dvr_forwarder.h).
//   - It stops when no viewer has asked for the stream for `idle_timeout`,
//     or when its origin ended or lost the stream; the next request after
//     that starts a new relay from whichever node holds the name then.
//
// Threads: find()/list() from any thread (event loops: no waiting, threads
// are started, never joined there); a reaper thread times out waiting
// requests and stops idle or finished relays; each relay has a controller
// thread and its pullers' threads.
#pragma once

#include "core/metrics.h"
#include "core/service.h"
#include "package/hls/presentation.h"
#include "relay/dvr_forwarder.h"
#include "state/stream_registry.h"

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace mirror::relay {

struct RelaySettings {
  int window_segments = 20;  // packaging.playlist_segments
  std::chrono::nanoseconds idle_timeout = std::chrono::seconds{30};
  std::size_t max_relays = 100;
  // The query that lets this node read a stream where playback URLs are
  // signed ("token=..."), asked for each request; null when they are not.
  std::function<std::string(const std::string& stream)> query;
};

class RelayService final : public core::Service {
 public:
  RelayService(RelaySettings settings, state::StreamRegistry& registry, core::MetricsRegistry& metrics);
  ~RelayService() override;

  // The relayed presentation of another node's stream (started now if need
  // be), or null when no other node that is up holds `name`.
  std::shared_ptr<package::hls::Presentation> find(const std::string& name);
  std::vector<std::shared_ptr<package::hls::Presentation>> list() const;
  // The relayed presentation of `name` while a relay runs; none is started.
  std::shared_ptr<package::hls::Presentation> running(const std::string& name) const;
  // The DVR of another node's stream (see dvr_forwarder.h): `target` (path
  // and query) fetched from the node that holds `name`. False when no other
  // node that is up holds it, or when too many fetches wait (`busy`).
  bool forward_dvr(const std::string& name, std::string target, bool media, DvrForwarder::Reply reply, bool* busy);

  std::string_view name() const override { return "relay"; }
  core::Status start() override;
  void stop(core::Deadline deadline) override;
  core::Health health() const override;

  struct Relay;

 private:
  void reap();
  // The node that holds `name` and its URL, when it is another node that is up.
  std::optional<std::pair<std::string, std::string>> owner(const std::string& name) const;
  void finish(const std::shared_ptr<Relay>& relay);

  RelaySettings settings_;
  state::StreamRegistry& registry_;
  core::Gauge& active_;
  core::Counter& started_;
  core::Counter& parts_;
  core::Counter& bytes_;
  core::CounterFamily& errors_;

  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Relay>> relays_;
  std::vector<std::shared_ptr<Relay>> retired_;  // stopped by the reaper
  bool stopping_ = false;
  std::condition_variable wake_;
  std::thread reaper_;
  DvrForwarder dvr_;
};

}  // namespace mirror::relay
