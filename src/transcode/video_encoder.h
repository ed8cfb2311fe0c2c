// VideoEncoder: H.264 for one rendition, with libx264 on the CPU (veryfast,
// zerolatency: no lookahead, no B-frames, one picture in, one access unit
// out) or h264_nvenc on a GPU (low-latency tuning). Keyframes come exactly
// where the caller asks (where the source has one), never elsewhere (no
// scene-cut keyframes), so that segments are independent and parts stay
// small. The
// bitrate is capped by a VBV buffer for a steady low-latency rate.
//
// Encoded access units come out as MediaFrames (length-prefixed NAL units,
// parameter sets in the shared CodecConfig, times in 90 kHz) ready for the
// packager.
//
// Threads: owned by its transcoder (one worker at a time).
#pragma once

#include "core/errors.h"
#include "media/media_frame.h"
#include "media/video_access_unit.h"
#include "transcode/av_handles.h"
#include "transcode/frame_cadence.h"

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <functional>
#include <memory>
#include <string>

extern "C" {
struct AVBufferRef;
struct AVFrame;
}

namespace mirror::transcode {

class VideoEncoder final : public av::CodecErrorCounter {
 public:
  struct Options {
    int width = 640;
    int height = 360;
    Rate rate{30, 1};
    std::int64_t bitrate = 400000;
    std::string profile = "baseline";
    int keyframe_every = 15;  // frames; the caller forces them anyway
    // h264_nvenc on the device of these frames (CUDA); null: libx264.
    AVBufferRef* cuda_frames = nullptr;
    // Colour description of the source, written into the VUI.
    int color_primaries = 2, color_trc = 2, colorspace = 2;  // 2: unspecified
  };
  // An encoded picture, and when the source frame that completed it (the
  // decoder's output) arrived: what the transcoder's own latency counts from.
  using FrameSink = std::function<void(media::MediaFrame frame, std::chrono::steady_clock::time_point started)>;

  static core::Result<std::unique_ptr<VideoEncoder>> open(const Options& options, FrameSink sink);
  ~VideoEncoder();
  VideoEncoder(const VideoEncoder&) = delete;
  VideoEncoder& operator=(const VideoEncoder&) = delete;

  // Encodes `picture` as output frame number `index` (in 1/rate units from
  // the start of the grid) at `time90k`. `arrival` is the source picture's
  // (it becomes the output frame's), `started` see FrameSink.
  // `origin`, for a keyframe: the source keyframe it stands for
  // (MediaFrame::source_keyframe of the access unit).
  core::Status encode(const AVFrame& picture, std::int64_t index, std::int64_t time90k, bool keyframe,
                      std::chrono::system_clock::time_point arrival, std::chrono::steady_clock::time_point started,
                      std::optional<media::MediaFrame::SourceKeyframe> origin = std::nullopt);
  // Every access unit still inside (none with x264's zerolatency).
  void drain();

  bool nvenc() const { return nvenc_; }
  const Options& options() const { return options_; }
  std::uint64_t frames_out() const { return frames_out_; }

 private:
  explicit VideoEncoder(FrameSink sink);
  void receive();

  Options options_;
  FrameSink sink_;
  bool nvenc_ = false;
  av::CodecContextPtr context_;
  av::FramePtr input_;
  av::PacketPtr packet_;
  // Access units become MediaFrames through the same assembler as ingest.
  std::unique_ptr<media::VideoAccessUnitAssembler> assembler_;
  // Output time and arrival of each picture sent, matched by index.
  struct Pending {
    std::int64_t index;
    std::int64_t time90k;
    std::chrono::system_clock::time_point arrival;
    std::chrono::steady_clock::time_point started;
    std::optional<media::MediaFrame::SourceKeyframe> origin;
  };
  std::deque<Pending> pending_;
  std::uint64_t frames_out_ = 0;
  std::chrono::steady_clock::time_point started_{};  // of the access unit being assembled
  std::optional<media::MediaFrame::SourceKeyframe> origin_;               // of the access unit being assembled
};

}  // namespace mirror::transcode
