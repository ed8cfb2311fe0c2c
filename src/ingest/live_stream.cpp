#include "ingest/live_stream.h"

namespace mirror::ingest {

const char* stream_state_name(StreamState state) {
  switch (state) {
    case StreamState::kConnecting: return "connecting";
    case StreamState::kLive: return "live";
    case StreamState::kReconnecting: return "reconnecting";
    case StreamState::kEnded: return "ended";
  }
  return "ended";
}

const char* stream_error_name(StreamError kind) {
  switch (kind) {
    case StreamError::kContinuity: return "continuity";
    case StreamError::kPes: return "pes";
    case StreamError::kBitstream: return "bitstream";
    case StreamError::kTransport: return "transport";
    case StreamError::kRtpLoss: return "rtp_loss";
    case StreamError::kBitrate: return "bitrate";
    case StreamError::kCount: break;
  }
  return "unknown";
}

LiveStream::LiveStream(std::string name, std::string protocol)
    : name_(name), protocol_(std::move(protocol)), hub_(std::move(name)) {}

void LiveStream::set_publisher(std::string remote_address, std::function<void()> disconnect,
                               std::function<nlohmann::json()> link_stats) {
  std::lock_guard lock(mutex_);
  remote_address_ = std::move(remote_address);
  disconnect_ = std::move(disconnect);
  link_stats_ = std::move(link_stats);
}

void LiveStream::clear_publisher() {
  std::lock_guard lock(mutex_);
  disconnect_ = nullptr;
  link_stats_ = nullptr;
}

void LiveStream::disconnect_publisher() {
  std::function<void()> d;
  {
    std::lock_guard lock(mutex_);
    d = disconnect_;
  }
  if (d) d();
}

void LiveStream::record_bytes(std::size_t n) { byte_rate_.add(n); }

void LiveStream::record_error(StreamError kind, std::uint64_t n) {
  errors_[static_cast<std::size_t>(kind)].fetch_add(n, std::memory_order_relaxed);
}

std::uint64_t LiveStream::errors(StreamError kind) const {
  return errors_[static_cast<std::size_t>(kind)].load(std::memory_order_relaxed);
}

void LiveStream::publish(media::MediaFrame frame) {
  frame.received = std::chrono::steady_clock::now();
  if (frame.config_changed && frame.config) {
    std::lock_guard lock(mutex_);
    (frame.kind == media::TrackKind::kVideo ? video_config_ : audio_config_) = frame.config;
  }
  if (frame.kind == media::TrackKind::kVideo) {
    video_frames_.fetch_add(1, std::memory_order_relaxed);
    video_frame_rate_.add(1);
    if (frame.keyframe) {
      keyframes_.fetch_add(1, std::memory_order_relaxed);
      const std::int64_t last = last_keyframe_dts_.exchange(frame.dts, std::memory_order_relaxed);
      if (last >= 0 && frame.dts > last && frame.config) {
        keyframe_interval_s_.store(
            static_cast<double>(frame.dts - last) / frame.config->timescale,
            std::memory_order_relaxed);
      }
    }
  } else {
    audio_frames_.fetch_add(1, std::memory_order_relaxed);
  }
  if (state() == StreamState::kConnecting || state() == StreamState::kReconnecting) {
    set_state(StreamState::kLive);
  }
  if (discontinuity_pending_) {
    frame.discontinuity = true;
    discontinuity_pending_ = false;
    last_keyframe_dts_.store(-1, std::memory_order_relaxed);
  }
  hub_.publish(frame);
}

nlohmann::json LiveStream::link_stats() const {
  std::function<nlohmann::json()> fn;
  {
    std::lock_guard lock(mutex_);
    fn = link_stats_;
  }
  return fn ? fn() : nlohmann::json::object();
}

void LiveStream::record_ignored_track(media::TrackKind kind, std::string codec) {
  std::lock_guard lock(mutex_);
  for (const auto& t : ignored_tracks_) {
    if (t.kind == kind && t.codec == codec) return;
  }
  if (ignored_tracks_.size() < 8) ignored_tracks_.push_back({kind, std::move(codec)});
}

std::vector<LiveStream::IgnoredTrack> LiveStream::ignored_tracks() const {
  std::lock_guard lock(mutex_);
  return ignored_tracks_;
}

nlohmann::json LiveStream::to_json(bool detailed) const {
  nlohmann::json j;
  j["name"] = name_;
  j["state"] = stream_state_name(state());
  j["protocol"] = protocol_;
  j["started_at_ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(
                           started_at_.time_since_epoch())
                           .count();
  j["bitrate_1s_bps"] = bitrate_bps(1);
  j["bitrate_10s_bps"] = bitrate_bps(10);
  media::CodecConfigPtr video, audio;
  std::function<nlohmann::json()> link_stats;
  {
    std::lock_guard lock(mutex_);
    j["remote_address"] = remote_address_;
    video = video_config_;
    audio = audio_config_;
    link_stats = link_stats_;
  }
  if (video) {
    j["video"] = {{"codec", video->codec_string},
                  {"width", video->width},
                  {"height", video->height},
                  {"frame_rate", video->frame_rate > 0 ? video->frame_rate
                                                       : video_frame_rate_.per_second(5)}};
  }
  if (audio) {
    j["audio"] = {{"codec", audio->codec_string},
                  {"sample_rate", audio->sample_rate},
                  {"channels", audio->channels}};
  }
  if (!detailed) return j;
  j["bytes"] = bytes();
  j["frames"] = {{"video", video_frames()}, {"audio", audio_frames()}, {"keyframes", keyframes()}};
  j["keyframe_interval_s"] = keyframe_interval_s_.load(std::memory_order_relaxed);
  j["measured_frame_rate"] = video_frame_rate_.per_second(5);
  nlohmann::json errors = nlohmann::json::object();
  for (std::size_t i = 0; i < errors_.size(); ++i) {
    errors[stream_error_name(static_cast<StreamError>(i))] = errors_[i].load(std::memory_order_relaxed);
  }
  j["errors"] = std::move(errors);
  auto subs = hub_.total_stats();
  j["subscribers"] = {{"count", hub_.subscriber_count()},
                      {"dropped_frames", subs.dropped_frames},
                      {"dropped_gops", subs.dropped_gops}};
  j["link"] = link_stats ? link_stats() : nlohmann::json::object();
  nlohmann::json ignored = nlohmann::json::array();
  for (const auto& t : ignored_tracks()) {
    ignored.push_back({{"kind", t.kind == media::TrackKind::kVideo ? "video" : "audio"}, {"codec", t.codec}});
  }
  j["ignored_tracks"] = std::move(ignored);
  return j;
}

}  // namespace mirror::ingest
