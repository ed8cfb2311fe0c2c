// StreamTranscoder: the transcoding of one live stream. The source's frames
// go in (decode order, as the stream's hub delivers them); the MediaFrames
// of its renditions come out through Outputs, ready to be packaged like any
// source:
//   video: decode once (skipping pictures that no rendition needs and nothing
//          refers to) -> per rendition: frame-rate cap, scale to fit (pad),
//          H.264 with a keyframe at every segment start. On a GPU, NVDEC
//          scales to the first rendition's size while decoding; NVENC takes
//          those pictures as they are (no padding: a source of another shape
//          gives a rendition of its shape), any other rendition gets them in
//          system memory for x264;
//   audio: AAC -> AAC-LC stereo, continuous timestamps, with the level meter
//          on the decoded samples; it travels with rendition 0.
// The latest decoded keyframe is kept for thumbnails.
//
// A break in the source (a reconnect, an unflagged timeline jump, new
// parameter sets, another codec) drains everything, rebuilds decoder, scalers
// and encoders for what comes next, and the next output frame of each
// rendition carries a discontinuity. A source without video gives an
// audio-only rendition 0; one without audio gives video-only renditions; a
// codec that cannot be decoded is skipped with its reason in the status.
//
// Threads: on_frame(), on_input_dropped() and end() from one worker at a time
// (the service's scheduling serialises them, with the ordering that implies);
// status(), audio_levels() and thumbnails() from any thread.
#pragma once

#include "core/metrics.h"
#include "media/media_frame.h"
#include "media/timeline_watch.h"
#include "transcode/audio_meter.h"
#include "transcode/audio_transcoder.h"
#include "transcode/frame_cadence.h"
#include "transcode/gpu_devices.h"
#include "transcode/picture_scaler.h"
#include "transcode/thumbnail.h"
#include "transcode/transcode_settings.h"
#include "transcode/video_decoder.h"
#include "transcode/video_encoder.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace mirror::transcode {

struct RenditionStatus {
  std::string name;
  int width = 0, height = 0;
  double frame_rate = 0;
  std::int64_t bitrate = 0;
  std::string state;  // "starting", "running", "failed"
  std::string reason;
  std::uint64_t frames = 0;      // encoded
  std::uint64_t duplicated = 0;  // encoded again to fill a hole in the source
  std::string encoder;           // "libx264" or "h264_nvenc"
};

struct TranscoderStatus {
  std::string path;           // "cpu", "gpu", "hybrid"
  std::string video_state;    // "waiting", "running", "absent" (no video), "skipped", "ended"
  std::string video_reason;   // why skipped
  std::string audio_state;    // "waiting", "running", "absent", "skipped", "ended"
  std::string audio_reason;
  std::uint64_t frames_in = 0;
  std::uint64_t pictures_decoded = 0;
  std::uint64_t pictures_not_decoded = 0;  // needed by no rendition and by no other picture
  std::uint64_t decode_errors = 0;
  std::uint64_t audio_errors = 0;
  std::uint64_t dropped_gops = 0;  // whole GOPs left out because the transcoder fell behind
  std::uint64_t breaks = 0;        // rebuilds after a break in the source
  std::uint64_t gpu_fallbacks = 0;  // GPU work that failed and moved to the CPU
  std::optional<std::chrono::steady_clock::time_point> last_drop;
  std::vector<RenditionStatus> renditions;
};

class StreamTranscoder {
 public:
  struct Outputs {
    // A frame of rendition `index` (audio goes with rendition 0).
    std::function<void(std::size_t index, media::MediaFrame frame)> publish;
    // Rendition `index` will get nothing more.
    std::function<void(std::size_t index)> finish;
  };
  struct Placement {
    TranscodePath path = TranscodePath::kCpu;
    std::shared_ptr<GpuDevice> gpu;  // for kGpu and kHybrid
  };

  StreamTranscoder(std::string stream, TranscodeSettings settings, Placement placement, Outputs outputs,
                   core::Histogram* latency = nullptr);
  ~StreamTranscoder();
  StreamTranscoder(const StreamTranscoder&) = delete;
  StreamTranscoder& operator=(const StreamTranscoder&) = delete;

  const std::string& stream() const { return stream_; }

  // ---- worker ----
  void on_frame(const media::MediaFrame& frame);
  // Video frames were left out (the transcoder fell behind); the next video
  // frame starts a new GOP.
  void on_input_dropped();
  // A video frame left out on purpose (its GOP is being skipped): the
  // renditions repeat their last picture in its slot, so their timeline (and
  // the audio that waits for it in the packager) goes on.
  void on_video_skipped(const media::MediaFrame& frame);
  // The source ended: everything inside goes out, every rendition finishes.
  void end();

  // ---- any thread ----
  TranscoderStatus status() const;
  AudioLevels audio_levels() const { return meter_.levels(); }
  ThumbnailBox& thumbnails() { return thumbnails_; }

 private:
  struct Rendition;
  void on_video(const media::MediaFrame& frame);
  void on_audio(const media::MediaFrame& frame);
  bool open_decoder(const media::MediaFrame& frame);
  // Notes a source video frame's decode time; for a keyframe, what a
  // rendition keyframe standing for it carries.
  std::optional<media::MediaFrame::SourceKeyframe> note_source_frame(const media::MediaFrame& frame);
  void on_picture(AVFrame* picture);
  void start_cadence(std::int64_t origin90k, Rate source);
  void encode_rendition(Rendition& r, const AVFrame& picture, std::int64_t slot,
                        std::chrono::system_clock::time_point arrival);
  core::Result<const AVFrame*> prepare(Rendition& r, const AVFrame& picture);
  bool open_encoder(Rendition& r, const AVFrame& picture);
  void break_all();
  void drain_video();
  void drain_audio();
  void publish(std::size_t index, media::MediaFrame frame);
  void make_thumbnail();
  std::chrono::system_clock::time_point arrival_of(std::int64_t pts) const;
  void set_video_state(std::string state, std::string reason = {});
  void set_audio_state(std::string state, std::string reason = {});

  const std::string stream_;
  const TranscodeSettings settings_;
  Placement placement_;
  Outputs outputs_;
  core::Histogram* latency_;

  // Video (worker).
  std::unique_ptr<VideoDecoder> decoder_;
  media::CodecConfigPtr decoder_config_;
  std::vector<std::unique_ptr<Rendition>> renditions_;
  bool cadence_started_ = false;
  bool video_seen_ = false;
  bool need_keyframe_ = true;
  bool audio_only_ = false;
  int max_temporal_id_ = 0;
  // A hole in the source shorter than kMaxFillSeconds is filled by repeating
  // a picture, so the rendition stays constant-rate; a longer one is a jump.
  static constexpr std::int64_t kMaxFillSeconds = 5;
  media::TimelineWatch timeline_{{media::k90kHz, kMaxFillSeconds * media::k90kHz}};
  std::deque<std::pair<std::int64_t, std::chrono::system_clock::time_point>> arrivals_;
  // Source keyframes by presentation time, until their picture is decoded.
  std::deque<std::pair<std::int64_t, media::MediaFrame::SourceKeyframe>> source_keyframes_;
  std::optional<std::int64_t> last_source_dts_;
  // When the source frame being decoded was complete at the ingest: the
  // pictures it completes are timed from it (neither its own transmission
  // nor the source's B-frame reordering is the transcoder's delay).
  std::chrono::steady_clock::time_point completed_by_{};
  av::FramePtr latest_keyframe_;
  // The current picture in system memory when NVDEC left it on the GPU and a
  // rendition needs it on the CPU (downloaded once per picture).
  av::FramePtr system_copy_;
  bool system_copy_ready_ = false;
  std::unique_ptr<JpegEncoder> jpeg_;
  std::uint64_t video_errors_before_ = 0;  // of decoders already closed

  // Audio (worker).
  std::unique_ptr<AudioTranscoder> audio_;
  media::CodecConfigPtr audio_config_;
  std::optional<std::int64_t> first_audio_pts_;  // in its timescale, until video shows up
  std::uint64_t audio_errors_before_ = 0;

  std::vector<bool> discontinuity_pending_;  // per rendition: next output frame carries the flag
  std::vector<bool> finished_;               // per rendition: told it gets nothing more
  media::CodecConfigPtr skipped_video_config_;  // could not be decoded; retried when it changes

  // Status, readable from any thread.
  mutable std::mutex status_mutex_;
  TranscoderStatus status_;
  std::atomic<std::uint64_t> frames_in_{0};
  std::atomic<std::uint64_t> decoded_{0};
  std::atomic<std::uint64_t> not_decoded_{0};
  std::atomic<std::uint64_t> decode_errors_{0};
  std::atomic<std::uint64_t> audio_errors_{0};
  std::atomic<std::uint64_t> dropped_gops_{0};
  std::atomic<std::uint64_t> breaks_{0};
  std::atomic<std::uint64_t> gpu_fallbacks_{0};

  AudioLevelMeter meter_;
  ThumbnailBox thumbnails_;
};

}  // namespace mirror::transcode
