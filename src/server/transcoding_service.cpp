#include "server/transcoding_service.h"

#include "core/logging.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <thread>

namespace mirror::server {

using transcode::StreamTranscoder;
using transcode::TranscodePath;

namespace {

// A keyframe that waited longer than this in the queue starts a skip of its
// GOP: the transcoder is behind and must catch up with the live edge.
constexpr std::chrono::milliseconds kMaxLag{1000};
// Frames per turn on a worker: enough to amortise the scheduling, few enough
// that other streams get their turn within a frame's time.
constexpr int kFramesPerTurn = 8;
// A stream that lost a GOP this recently is "degraded".
constexpr std::chrono::seconds kDegradedFor{10};
// The transcode workers' nice value above the process's.
constexpr int kWorkerNice = 5;

nlohmann::json decibels(double db) {
  // JSON has no -inf: silence is null.
  return std::isfinite(db) ? nlohmann::json(std::round(db * 100) / 100) : nlohmann::json(nullptr);
}

}  // namespace

struct TranscodingService::Entry {
  std::shared_ptr<ingest::LiveStream> stream;
  std::shared_ptr<ingest::Subscription> subscription;
  std::shared_ptr<StreamTranscoder> transcoder;
  std::vector<std::shared_ptr<ingest::StreamHub>> hubs;
  std::shared_ptr<Job> job;
  std::shared_ptr<transcode::GpuDevice> gpu;
  std::atomic<bool> ended{false};
  int level_channels = 0;  // audio level series registered (housekeeping thread)
};

// One stream's turn on a worker: frames from the hub into the transcoder.
class TranscodingService::Job final : public transcode::WorkerPool::Job {
 public:
  explicit Job(std::weak_ptr<Entry> entry) : entry_(std::move(entry)) {}

  bool run() override {
    auto entry = entry_.lock();
    if (!entry || entry->ended.load(std::memory_order_acquire)) return false;
    auto& transcoder = *entry->transcoder;
    auto& subscription = *entry->subscription;
    // The hub skipped to a keyframe because the queue was full.
    const auto hub_drops = subscription.stats().dropped_gops;
    if (hub_drops != hub_drops_seen_) {
      hub_drops_seen_ = hub_drops;
      transcoder.on_input_dropped();
    }
    int n = 0;
    const auto now = std::chrono::system_clock::now();
    while (n < kFramesPerTurn) {
      auto frame = subscription.pop();
      if (!frame) break;
      ++n;
      if (frame->kind == media::TrackKind::kVideo) {
        if (frame->keyframe) {
          const bool late = frame->arrival.time_since_epoch().count() != 0 && now - frame->arrival > kMaxLag;
          if (late) {
            // Behind: this whole GOP is left out, never a part of one. The
            // renditions repeat their last picture meanwhile, so that their
            // video keeps pace with the audio, which goes on.
            skipping_ = true;
            transcoder.on_input_dropped();
            transcoder.on_video_skipped(*frame);
            continue;
          }
          skipping_ = false;
        } else if (skipping_) {
          transcoder.on_video_skipped(*frame);
          continue;
        }
      }
      transcoder.on_frame(*frame);
    }
    if (subscription.finished()) {
      transcoder.end();
      entry->ended.store(true, std::memory_order_release);
      return false;
    }
    return n == kFramesPerTurn;
  }

 private:
  std::weak_ptr<Entry> entry_;
  bool skipping_ = false;
  std::uint64_t hub_drops_seen_ = 0;
};

TranscodingService::TranscodingService(core::TranscodingConfig config, std::chrono::nanoseconds keyframe_interval,
                                       ingest::StreamTable& streams, core::MetricsRegistry& metrics,
                                       RenditionsCallback on_renditions)
    : config_(std::move(config)),
      keyframe_interval_(keyframe_interval),
      streams_(streams),
      metrics_(metrics),
      on_renditions_(std::move(on_renditions)) {
  latency_ = &metrics_
                  .histogram("mirror_transcode_latency_seconds",
                             "From the ingest's publishing of the source frame that completed a picture "
                             "(the decoder's output) to the picture encoded in a rendition: queueing, "
                             "decoding, scaling, encoding; not the source's own B-frame reordering",
                             {0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.06, 0.075, 0.1, 0.125,
                              0.15, 0.2, 0.3, 0.5, 1, 2})
                  .get();
  metrics_.gauge("mirror_transcode_streams", "Streams being transcoded")
      .with_callback({}, [this] {
        std::lock_guard lock(mutex_);
        return static_cast<double>(entries_.size());
      });
  std::weak_ptr<bool> alive = alive_;
  streams_.on_stream_added([this, alive](const std::shared_ptr<ingest::LiveStream>& s) {
    if (alive.lock() && started_.load(std::memory_order_acquire)) add(s);
  });
}

TranscodingService::~TranscodingService() {
  stop(std::chrono::steady_clock::now());
  alive_.reset();
}

transcode::TranscodeSettings TranscodingService::settings_for_stream(std::size_t streams) const {
  transcode::TranscodeSettings s;
  for (const auto& r : core::effective_renditions(config_)) {
    s.renditions.push_back({r.name, r.width, r.height, r.bitrate, r.fps});
  }
  s.profile = config_.profile;
  s.audio_bitrate = config_.audio_bitrate;
  s.audio_sample_rate = config_.audio_sample_rate;
  // As long as the packager lets a segment run without a keyframe.
  s.keyframe_interval = keyframe_interval_;
  // Frame threads sized to the pool: at most its share for each stream being
  // transcoded, and no more than the machine has; a decoder takes fewer when
  // its source needs fewer (StreamTranscoder). With many streams each
  // decoder gets one thread and the pool runs them side by side, which
  // spends the least CPU.
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int share = config_.worker_threads / static_cast<int>(std::max<std::size_t>(1, streams));
  s.decoder_threads = std::clamp(share, 1, cores);
  return s;
}

core::Status TranscodingService::start() {
  if (!config_.enabled) {
    core::log::info("transcoding disabled: streams are delivered as their source only");
    return core::Ok{};
  }
  transcode::av::install_log_bridge();
  if (config_.use_gpu) {
    gpus_ = transcode::GpuDevices::probe(config_.gpu_devices);
    if (gpus_.usable()) {
      for (const auto& p : gpus_.probes()) {
        core::log::info("GPU for transcoding", {{"device", p.index}, {"cuda", p.cuda}, {"nvenc", p.nvenc},
                                                {"note", p.reason}});
      }
    } else {
      // Said once, here: every stream is transcoded on the CPU.
      core::log::warn("transcoding.use_gpu is set but no GPU is usable; transcoding on the CPU",
                      {{"reason", gpus_.refusal()}});
    }
  }
  // Below the ingest, packaging and delivery threads: when the machine is
  // short of CPU the renditions wait (and drop GOPs), the sources never do.
  pool_ = std::make_unique<transcode::WorkerPool>(config_.worker_threads, "transcode", kWorkerNice);
  pool_->start();
  {
    std::lock_guard lock(mutex_);
    stopping_ = false;
  }
  housekeeper_ = std::thread([this] { housekeeping(); });
  started_.store(true, std::memory_order_release);
  for (const auto& s : streams_.list()) add(s);
  const auto renditions = core::effective_renditions(config_);
  core::log::info("transcoding started", {{"renditions", renditions.size()},
                                          {"first", renditions.front().name},
                                          {"workers", config_.worker_threads},
                                          {"gpu", gpus_.usable()}});
  return core::Ok{};
}

void TranscodingService::stop(core::Deadline) {
  started_.store(false, std::memory_order_release);
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (housekeeper_.joinable()) housekeeper_.join();
  if (pool_) pool_->stop();
  std::map<std::string, std::shared_ptr<Entry>> entries;
  {
    std::lock_guard lock(mutex_);
    entries.swap(entries_);
  }
  // No worker runs any more: what is still inside goes out here.
  for (auto& [name, e] : entries) {
    e->subscription->cancel();
    if (!e->ended.exchange(true)) e->transcoder->end();
    remove_metrics(*e);
  }
}

core::Health TranscodingService::health() const {
  core::Health h;
  if (!config_.enabled) {
    h.details = {{"enabled", false}};
    return h;
  }
  std::vector<std::shared_ptr<Entry>> entries;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [name, e] : entries_) entries.push_back(e);
  }
  nlohmann::json degraded = nlohmann::json::array();
  nlohmann::json paths = nlohmann::json::object();
  const auto now = std::chrono::steady_clock::now();
  for (const auto& e : entries) {
    const auto st = e->transcoder->status();
    paths[st.path] = paths.value(st.path, 0) + 1;
    if (st.last_drop && now - *st.last_drop < kDegradedFor) degraded.push_back(e->stream->name());
  }
  h.details = {{"streams", entries.size()}, {"paths", paths}, {"degraded", degraded},
               {"gpu", gpus_.usable()}};
  if (!degraded.empty()) {
    h.status = core::HealthStatus::kDegraded;
    h.message = "transcoders behind the live edge dropped whole GOPs";
  }
  return h;
}

void TranscodingService::add(const std::shared_ptr<ingest::LiveStream>& stream) {
  auto entry = std::make_shared<Entry>();
  entry->stream = stream;
  transcode::StreamTranscoder::Placement placement;
  if (gpus_.usable()) {
    entry->gpu = gpus_.acquire();
    placement.gpu = entry->gpu;
    placement.path = entry->gpu && entry->gpu->nvenc() ? TranscodePath::kGpu : TranscodePath::kHybrid;
  }
  std::size_t streams = 1;
  {
    std::lock_guard lock(mutex_);
    streams += entries_.size();
  }
  auto settings = settings_for_stream(streams);
  std::vector<RenditionFeed> feeds;
  for (std::size_t i = 0; i < settings.renditions.size(); ++i) {
    auto hub = std::make_shared<ingest::StreamHub>(stream->name() + "/" + settings.renditions[i].name);
    feeds.push_back({settings.renditions[i].name, hub, i == 0});
    entry->hubs.push_back(std::move(hub));
  }
  // The outputs hold the hubs, not the entry: the transcoder lives inside it.
  StreamTranscoder::Outputs outputs;
  outputs.publish = [hubs = entry->hubs](std::size_t i, media::MediaFrame f) {
    if (i < hubs.size()) hubs[i]->publish(f);
  };
  outputs.finish = [hubs = entry->hubs](std::size_t i) {
    if (i < hubs.size()) hubs[i]->end();
  };
  entry->transcoder = std::make_shared<StreamTranscoder>(stream->name(), std::move(settings), placement,
                                                         std::move(outputs), latency_);
  entry->job = std::make_shared<Job>(entry);
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    auto it = entries_.find(stream->name());
    if (it != entries_.end() && it->second->stream == stream) return;  // already transcoded
    entries_[stream->name()] = entry;
  }
  on_renditions_(stream, std::move(feeds));
  add_metrics(entry);
  std::weak_ptr<Job> job = entry->job;
  std::weak_ptr<bool> alive = alive_;
  // Subscribing replays the current GOP, so decoding starts on a keyframe.
  entry->subscription = stream->hub().subscribe(
      "transcode", static_cast<std::size_t>(config_.max_queue_size), [this, job, alive] {
        if (!alive.lock()) return;
        if (auto j = job.lock()) pool_->schedule(j);
      });
  pool_->schedule(entry->job);
  core::log::info("transcoding stream", {{"stream", stream->name()},
                                         {"path", transcode::transcode_path_name(placement.path)},
                                         {"gpu", entry->gpu ? entry->gpu->index() : -1}});
}

std::shared_ptr<TranscodingService::Entry> TranscodingService::find(const std::string& stream) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(stream);
  return it == entries_.end() ? nullptr : it->second;
}

void TranscodingService::thumbnail(const std::string& stream, api::ThumbnailReply reply) const {
  auto entry = find(stream);
  if (!entry) {
    reply(core::Error(core::ErrorCode::kNotFound, "no such stream"));
    return;
  }
  entry->transcoder->thumbnails().request(std::move(reply));
}

std::optional<nlohmann::json> TranscodingService::stream_json(const std::string& stream) const {
  auto entry = find(stream);
  if (!entry) return std::nullopt;
  auto st = entry->transcoder->status();
  // A track the ingest left out explains why there is no video (or audio).
  for (const auto& t : entry->stream->ignored_tracks()) {
    const bool video = t.kind == media::TrackKind::kVideo;
    auto& state = video ? st.video_state : st.audio_state;
    auto& reason = video ? st.video_reason : st.audio_reason;
    if (state == "waiting" || state == "absent") {
      state = "skipped";
      reason = "the source's " + std::string(video ? "video" : "audio") + " is " + t.codec +
               ", which Mirror does not transcode (" + (video ? "H.264 and HEVC" : "AAC") + " only)";
    }
  }
  const auto now = std::chrono::steady_clock::now();
  const bool degraded = st.last_drop && now - *st.last_drop < kDegradedFor;
  nlohmann::json renditions = nlohmann::json::array();
  for (const auto& r : st.renditions) {
    renditions.push_back({{"name", r.name}, {"width", r.width}, {"height", r.height},
                          {"frame_rate", r.frame_rate}, {"bitrate", r.bitrate}, {"state", r.state},
                          {"reason", r.reason}, {"frames", r.frames}, {"repeated_frames", r.duplicated},
                          {"encoder", r.encoder},
                          {"playlist", "/streams/" + stream + "/" + r.name + "/playlist.m3u8"}});
  }
  nlohmann::json j = {
      {"path", st.path},
      {"state", degraded ? "degraded" : "ok"},
      {"video", {{"state", st.video_state}, {"reason", st.video_reason}}},
      {"audio", {{"state", st.audio_state}, {"reason", st.audio_reason}}},
      {"renditions", std::move(renditions)},
      {"multiview_url", "/streams/" + stream + "/multiview.m3u8"},
      {"frames_in", st.frames_in},
      {"pictures_decoded", st.pictures_decoded},
      {"pictures_not_decoded", st.pictures_not_decoded},
      {"decode_errors", st.decode_errors},
      {"audio_errors", st.audio_errors},
      {"dropped_gops", st.dropped_gops},
      {"breaks", st.breaks},
      {"gpu_fallbacks", st.gpu_fallbacks},
      {"queue", {{"capacity", config_.max_queue_size},
                 {"dropped_frames", entry->subscription ? entry->subscription->stats().dropped_frames : 0}}}};
  const auto levels = entry->transcoder->audio_levels();
  if (levels.valid) {
    nlohmann::json channels = nlohmann::json::array();
    for (std::size_t c = 0; c < levels.peak_dbfs.size(); ++c) {
      channels.push_back({{"peak_dbfs", decibels(levels.peak_dbfs[c])}, {"rms_dbfs", decibels(levels.rms_dbfs[c])}});
    }
    j["audio_levels"] = {{"window_ms", 100}, {"channels", std::move(channels)},
                         {"momentary_lufs", decibels(levels.momentary_lufs)},
                         {"age_ms", std::chrono::duration_cast<std::chrono::milliseconds>(now - levels.updated).count()}};
  } else {
    j["audio_levels"] = nullptr;
  }
  return j;
}

void TranscodingService::add_metrics(const std::shared_ptr<Entry>& entry) {
  std::weak_ptr<StreamTranscoder> weak = entry->transcoder;
  auto read = [weak](auto fn) {
    return [weak, fn]() -> double {
      auto t = weak.lock();
      return t ? fn(t->status()) : 0.0;
    };
  };
  const std::vector<std::string> labels{entry->stream->name()};
  using Status = transcode::TranscoderStatus;
  metrics_.counter("mirror_transcode_frames_in_total", "Source frames handed to the transcoder", {"stream"})
      .with_callback(labels, read([](const Status& s) { return double(s.frames_in); }));
  metrics_.counter("mirror_transcode_pictures_not_decoded_total",
                   "Source pictures left undecoded: wanted by no rendition, referenced by no picture",
                   {"stream"})
      .with_callback(labels, read([](const Status& s) { return double(s.pictures_not_decoded); }));
  metrics_.counter("mirror_transcode_decode_errors_total", "Video decoding errors", {"stream"})
      .with_callback(labels, read([](const Status& s) { return double(s.decode_errors); }));
  metrics_.counter("mirror_transcode_audio_errors_total", "Audio decoding and encoding errors", {"stream"})
      .with_callback(labels, read([](const Status& s) { return double(s.audio_errors); }));
  metrics_.counter("mirror_transcode_dropped_gops_total",
                   "Whole GOPs left out because the transcoder fell behind", {"stream"})
      .with_callback(labels, read([](const Status& s) { return double(s.dropped_gops); }));
  metrics_.counter("mirror_transcode_gpu_fallbacks_total",
                   "GPU work refused (NVDEC, NVENC sessions) and done on the CPU instead", {"stream"})
      .with_callback(labels, read([](const Status& s) { return double(s.gpu_fallbacks); }));
  for (const char* path : {"cpu", "gpu", "hybrid"}) {
    metrics_.gauge("mirror_transcode_path", "1 for the path the stream's transcoding takes", {"stream", "path"})
        .with_callback({entry->stream->name(), path},
                       read([path](const Status& s) { return s.path == path ? 1.0 : 0.0; }));
  }
  const auto renditions = core::effective_renditions(config_);
  for (std::size_t i = 0; i < renditions.size(); ++i) {
    metrics_.counter("mirror_transcode_frames_out_total", "Pictures encoded, by rendition", {"stream", "rendition"})
        .with_callback({entry->stream->name(), renditions[i].name}, read([i](const Status& s) {
                         return i < s.renditions.size() ? double(s.renditions[i].frames) : 0.0;
                       }));
  }
  std::weak_ptr<StreamTranscoder> lufs = entry->transcoder;
  metrics_.gauge("mirror_audio_momentary_lufs", "EBU R128 momentary loudness (400 ms), LUFS", {"stream"})
      .with_callback(labels, [lufs] {
        auto t = lufs.lock();
        const auto l = t ? t->audio_levels() : transcode::AudioLevels{};
        return l.valid ? l.momentary_lufs : -std::numeric_limits<double>::infinity();
      });
}

void TranscodingService::remove_metrics(const Entry& entry) {
  const std::vector<std::string> labels{entry.stream->name()};
  for (const char* name :
       {"mirror_transcode_frames_in_total", "mirror_transcode_pictures_not_decoded_total",
        "mirror_transcode_decode_errors_total", "mirror_transcode_audio_errors_total",
        "mirror_transcode_dropped_gops_total", "mirror_transcode_gpu_fallbacks_total"}) {
    metrics_.counter(name, "", {"stream"}).remove(labels);
  }
  for (const char* path : {"cpu", "gpu", "hybrid"}) {
    metrics_.gauge("mirror_transcode_path", "", {"stream", "path"}).remove({entry.stream->name(), path});
  }
  for (const auto& r : core::effective_renditions(config_)) {
    metrics_.counter("mirror_transcode_frames_out_total", "", {"stream", "rendition"})
        .remove({entry.stream->name(), r.name});
  }
  metrics_.gauge("mirror_audio_momentary_lufs", "", {"stream"}).remove(labels);
  for (int c = 0; c < entry.level_channels; ++c) {
    for (const char* name : {"mirror_audio_peak_dbfs", "mirror_audio_rms_dbfs"}) {
      metrics_.gauge(name, "", {"stream", "channel"}).remove({entry.stream->name(), std::to_string(c)});
    }
  }
}

void TranscodingService::housekeeping() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stopping_; });
    if (stopping_) break;
    std::vector<std::shared_ptr<Entry>> entries;
    for (auto it = entries_.begin(); it != entries_.end();) {
      entries.push_back(it->second);
      ++it;
    }
    lock.unlock();
    std::vector<std::shared_ptr<Entry>> gone;
    for (const auto& e : entries) {
      e->transcoder->thumbnails().expire();
      if (e->ended.load(std::memory_order_acquire)) {
        gone.push_back(e);
        continue;
      }
      // Level series appear once the source's channels are known.
      const auto levels = e->transcoder->audio_levels();
      const int channels = levels.valid ? static_cast<int>(levels.peak_dbfs.size()) : 0;
      for (int c = e->level_channels; c < channels; ++c) {
        std::weak_ptr<StreamTranscoder> weak = e->transcoder;
        auto level = [weak, c](bool peak) {
          return [weak, c, peak] {
            auto t = weak.lock();
            const auto l = t ? t->audio_levels() : transcode::AudioLevels{};
            const auto& v = peak ? l.peak_dbfs : l.rms_dbfs;
            return static_cast<std::size_t>(c) < v.size() ? v[static_cast<std::size_t>(c)]
                                                            : -std::numeric_limits<double>::infinity();
          };
        };
        metrics_.gauge("mirror_audio_peak_dbfs", "Sample peak of the last 100 ms, dBFS", {"stream", "channel"})
            .with_callback({e->stream->name(), std::to_string(c)}, level(true));
        metrics_.gauge("mirror_audio_rms_dbfs", "RMS of the last 100 ms, dBFS (a sine reads its peak level)",
                       {"stream", "channel"})
            .with_callback({e->stream->name(), std::to_string(c)}, level(false));
      }
      e->level_channels = std::max(e->level_channels, channels);
    }
    for (const auto& e : gone) remove_metrics(*e);
    lock.lock();
    for (const auto& e : gone) {
      auto it = entries_.find(e->stream->name());
      if (it != entries_.end() && it->second == e) entries_.erase(it);
    }
  }
}

}  // namespace mirror::server
