// The live picture that dashboards draw from. Once a second (and at once when
// a stream is added or ends) it looks at every stream and publishes what
// changed to an EventHub, which serves GET /api/v1/events:
//
//   hello           {"streams":[summary...],"server":{...}}: first, per client
//   stream.added    summary (name, state, protocol, publisher, codecs,
//                   transcoder path, playback URLs, last 60 s of bitrate,
//                   node; other nodes' streams with "remote": true and
//                   only what the registry knows)
//   stream.changed  summary, when its state, publisher, codecs or path changed
//   stream.ended    {"name"}
//   figures         {"time_ms","streams":{NAME:{bitrate, link, levels, frozen,
//                   silent, errors, last_error, dropped_gops}}}: every second
//   server          version, uptime, CPU, memory, connections, viewers per
//                   protocol and each service's health: every 5 s
//
// A picture is frozen when a live stream with video has sent no frame for 2 s;
// audio is silent when every channel has stayed under -60 dBFS, or no audio
// frame came, for 10 s.
//
// A second hub, wall_hub(), serves multiview walls (GET /streams/events on
// the delivery port) what a viewer may know, with the meters at 5 Hz:
//
//   hello           {"streams":[{name, state, video, audio_channels,
//                   multiview_url, thumbnail_url}...]}
//   stream.added, stream.changed (that summary), stream.ended {"name"}
//   health          {"streams":{NAME:{state, frozen, silent}}}: every second
//   levels          {"time_ms","streams":{NAME:{"peak":[dBFS|null per
//                   channel],"rms":[...]}}}: every 200 ms while a wall listens
//
// Threads: start/stop on the control thread; its own thread composes and
// publishes; hub() from any thread.
#pragma once

#include "api/event_stream.h"
#include "core/service.h"
#include "ingest/stream_table.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace mirror::server {

class EventService final : public core::Service {
 public:
  struct Sources {
    ingest::StreamTable* streams = nullptr;
    // Adds what other rooms know of a stream (transcoding, playback URLs).
    std::function<void(const std::string& name, nlohmann::json& out)> details;
    // The server panel's figures.
    std::function<nlohmann::json()> server;
    // This node's id, in every summary ("node").
    std::string node;
    // Other nodes' streams, as summaries (name, state, protocol,
    // started_at_ms, node, "remote": true, playback): listed with the local
    // ones, without figures.
    std::function<std::vector<nlohmann::json>()> cluster;
  };

  EventService(Sources sources, std::size_t max_clients);
  ~EventService() override;

  std::string_view name() const override { return "events"; }
  core::Status start() override;
  void stop(core::Deadline deadline) override;
  core::Health health() const override;

  const std::shared_ptr<api::EventHub>& hub() const { return hub_; }
  const std::shared_ptr<api::EventHub>& wall_hub() const { return wall_hub_; }

  // One round now: the thread calls it every second (`timed`: figures and a
  // bitrate sample), and early when a stream is added or ends.
  void tick(std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now(), bool timed = true);
  // The meters for walls (the thread calls it every 200 ms while one listens).
  void levels_tick();

 private:
  struct Tracked {
    nlohmann::json summary;  // without the bitrate history
    std::deque<double> bitrates;
    std::uint64_t video_frames = 0;
    std::chrono::steady_clock::time_point last_video{};
    std::uint64_t audio_frames = 0;
    std::chrono::steady_clock::time_point last_sound{};
    std::map<std::string, std::uint64_t> errors;
    nlohmann::json last_error;
  };
  void run();
  nlohmann::json summary_with_history(const Tracked& t) const;
  // What a wall may know of a stream.
  static nlohmann::json wall_summary(const nlohmann::json& summary);

  Sources sources_;
  std::shared_ptr<api::EventHub> hub_;
  std::shared_ptr<api::EventHub> wall_hub_;
  std::map<std::string, Tracked> tracked_;  // the thread's own
  nlohmann::json server_;
  std::chrono::steady_clock::time_point last_server_{};

  // Shared with the stream table's callbacks, which may outlive this service.
  struct Wake {
    std::mutex mutex;
    std::condition_variable cv;
    bool stopping = false;
    bool poke = false;
  };
  std::shared_ptr<Wake> wake_ = std::make_shared<Wake>();
  std::thread thread_;
};

}  // namespace mirror::server
