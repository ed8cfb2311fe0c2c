// TranscodingService: a StreamTranscoder for every live stream, fed from the
// stream's hub through a queue of transcoding.max_queue_size frames and run
// on a pool of transcoding.worker_threads threads (never on ingest or HTTP
// threads). Each rendition's frames go out through a hub of its own, which
// the packaging service packages beside the source (see on_renditions).
//
// GPUs are probed once at start (when transcoding.use_gpu is set): a stream
// goes to the least busy usable GPU (NVDEC + NVENC, or the hybrid path when
// the device has no NVENC), else to the CPU; why no GPU is used is logged
// once.
//
// A transcoder that falls behind loses whole GOPs before decoding: a video
// keyframe that waited longer than a second starts a skip to the next one
// (the hub also skips to a keyframe when the queue is full). It is counted,
// and the stream shows as degraded in /health and the API for ten seconds;
// the source rendition and other streams are untouched.
//
// Threads: start/stop on the control thread; everything else from any thread.
// A housekeeping thread answers late thumbnail requests and adds the audio
// level series once a stream's channels are known.
#pragma once

#include "api/thumbnail_routes.h"
#include "core/config.h"
#include "core/metrics.h"
#include "core/service.h"
#include "ingest/stream_table.h"
#include "server/packaging_service.h"
#include "transcode/gpu_devices.h"
#include "transcode/stream_transcoder.h"
#include "transcode/worker_pool.h"

#include <nlohmann/json.hpp>

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace mirror::server {

class TranscodingService final : public core::Service {
 public:
  using RenditionsCallback =
      std::function<void(const std::shared_ptr<ingest::LiveStream>&, std::vector<RenditionFeed>)>;

  // keyframe_interval: the longest the packager lets a segment run without a
  // keyframe (PackagerSettings::effective_max_segment_duration); renditions
  // make a keyframe at least this often.
  TranscodingService(core::TranscodingConfig config, std::chrono::nanoseconds keyframe_interval,
                     ingest::StreamTable& streams, core::MetricsRegistry& metrics,
                     RenditionsCallback on_renditions);
  ~TranscodingService() override;

  std::string_view name() const override { return "transcoding"; }
  core::Status start() override;
  void stop(core::Deadline deadline) override;
  core::Health health() const override;

  // ---- any thread ----
  // What the admin API shows under "transcode" for a stream; null when the
  // stream is not transcoded.
  std::optional<nlohmann::json> stream_json(const std::string& stream) const;
  // The stream's thumbnail (see ThumbnailBox::request).
  void thumbnail(const std::string& stream, api::ThumbnailReply reply) const;
  // The GPU probe's findings (empty when use_gpu is off).
  const std::vector<transcode::GpuProbe>& gpu_probes() const { return gpus_.probes(); }

 private:
  class Job;
  struct Entry;
  void add(const std::shared_ptr<ingest::LiveStream>& stream);
  void add_metrics(const std::shared_ptr<Entry>& entry);
  void remove_metrics(const Entry& entry);
  void housekeeping();
  std::shared_ptr<Entry> find(const std::string& stream) const;
  transcode::TranscodeSettings settings_for_stream(std::size_t streams) const;

  const core::TranscodingConfig config_;
  const std::chrono::nanoseconds keyframe_interval_;
  ingest::StreamTable& streams_;
  core::MetricsRegistry& metrics_;
  RenditionsCallback on_renditions_;
  transcode::GpuDevices gpus_;
  std::unique_ptr<transcode::WorkerPool> pool_;
  core::Histogram* latency_ = nullptr;

  mutable std::mutex mutex_;  // entries_, stopping_
  std::map<std::string, std::shared_ptr<Entry>> entries_;
  bool stopping_ = true;
  std::condition_variable wake_;
  std::thread housekeeper_;
  std::atomic<bool> started_{false};
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace mirror::server
