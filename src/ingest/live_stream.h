// LiveStream: one ingested stream as the rest of the server sees it: its name,
// state (connecting -> live -> reconnecting -> ended), publisher, codecs,
// rates and error counts, and the StreamHub that carries its frames.
//
// Threads: the publisher's ingest thread writes (record_*, set_*); the admin
// API and metrics read from any thread. Counters are relaxed atomics; the few
// strings and codec configurations sit behind a mutex touched only on changes.
#pragma once

#include "ingest/rate_meter.h"
#include "ingest/stream_hub.h"
#include "media/media_frame.h"

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace mirror::ingest {

enum class StreamState { kConnecting, kLive, kReconnecting, kEnded };
const char* stream_state_name(StreamState state);

// Error kinds counted per stream.
enum class StreamError { kContinuity, kPes, kBitstream, kTransport, kRtpLoss, kBitrate, kCount };
const char* stream_error_name(StreamError kind);

class LiveStream {
 public:
  LiveStream(std::string name, std::string protocol);

  const std::string& name() const { return name_; }
  const std::string& protocol() const { return protocol_; }
  StreamHub& hub() { return hub_; }
  const StreamHub& hub() const { return hub_; }

  StreamState state() const { return state_.load(std::memory_order_acquire); }
  void set_state(StreamState s) { state_.store(s, std::memory_order_release); }

  // --- publisher side (ingest thread) ---
  void set_publisher(std::string remote_address, std::function<void()> disconnect,
                     std::function<nlohmann::json()> link_stats);
  void clear_publisher();
  void record_bytes(std::size_t n);
  // Publishes the frame to the hub and keeps the stream's figures.
  void publish(media::MediaFrame frame);
  void record_error(StreamError kind, std::uint64_t n = 1);
  // The next published frame carries a discontinuity (publisher came back).
  void mark_discontinuity() { discontinuity_pending_ = true; }
  // The source carries a track Mirror does not ingest ("mpeg2-video").
  void record_ignored_track(media::TrackKind kind, std::string codec);

  // --- any thread ---
  // Asks the publisher's transport to hang up (admin DELETE).
  void disconnect_publisher();
  std::uint64_t errors(StreamError kind) const;
  std::uint64_t bytes() const { return byte_rate_.total(); }
  std::uint64_t video_frames() const { return video_frames_.load(std::memory_order_relaxed); }
  std::uint64_t audio_frames() const { return audio_frames_.load(std::memory_order_relaxed); }
  std::uint64_t keyframes() const { return keyframes_.load(std::memory_order_relaxed); }
  double bitrate_bps(int seconds) const { return byte_rate_.per_second(seconds) * 8; }
  std::chrono::system_clock::time_point started_at() const { return started_at_; }

  // Tracks of the source that Mirror does not ingest, by codec name.
  struct IgnoredTrack {
    media::TrackKind kind;
    std::string codec;
  };
  std::vector<IgnoredTrack> ignored_tracks() const;

  // The transport's link statistics (SRT or RTP figures); empty without a publisher.
  nlohmann::json link_stats() const;
  // Summary for lists; `detailed` adds codecs, link statistics and errors.
  nlohmann::json to_json(bool detailed) const;

 private:
  std::string name_;
  std::string protocol_;
  StreamHub hub_;
  std::chrono::system_clock::time_point started_at_ = std::chrono::system_clock::now();
  std::atomic<StreamState> state_{StreamState::kConnecting};

  mutable std::mutex mutex_;
  std::string remote_address_;
  std::function<void()> disconnect_;
  std::function<nlohmann::json()> link_stats_;
  media::CodecConfigPtr video_config_;
  media::CodecConfigPtr audio_config_;
  std::vector<IgnoredTrack> ignored_tracks_;  // a few at most

  RateMeter byte_rate_;
  RateMeter video_frame_rate_;
  std::atomic<std::uint64_t> video_frames_{0};
  std::atomic<std::uint64_t> audio_frames_{0};
  std::atomic<std::uint64_t> keyframes_{0};
  std::atomic<std::int64_t> last_keyframe_dts_{-1};
  std::atomic<double> keyframe_interval_s_{0};
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(StreamError::kCount)> errors_{};
  bool discontinuity_pending_ = false;  // ingest thread only
};

}  // namespace mirror::ingest
