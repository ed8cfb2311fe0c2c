// VideoDecoder: decodes a stream's H.264 or HEVC access units (MediaFrames:
// length-prefixed NAL units, parameter sets out of band) with libavcodec, on
// the CPU with frame threads, or with NVDEC through FFmpeg's h264_cuvid and
// hevc_cuvid decoders, which can also scale the picture down while decoding
// (no separate scaling step, and only the small picture ever leaves the
// GPU). One decoder serves every rendition of its stream.
//
// A decoding error is counted and decoding goes on with the next access unit
// (the decoder conceals what it can); errors FFmpeg reports only in its log
// (from frame threads) are counted too.
//
// Threads: owned by its stream's transcoder (one worker at a time).
#pragma once

#include "core/errors.h"
#include "media/media_frame.h"
#include "transcode/av_handles.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

extern "C" {
struct AVBufferPool;
struct AVBufferRef;
struct AVFrame;
}

namespace mirror::transcode {

class VideoDecoder final : public av::CodecErrorCounter {
 public:
  struct Options {
    int threads = 1;
    // A CUDA device context (borrowed): decode with NVDEC. Null: the CPU.
    AVBufferRef* cuda_device = nullptr;
    // NVDEC only: hand out CUDA frames (for NVENC) rather than NV12 pictures
    // in system memory (for x264), and the size NVDEC scales to (0: the
    // source's).
    bool keep_on_gpu = true;
    int resize_width = 0;
    int resize_height = 0;
    // Skip the deblocking of pictures nothing refers to: invisible once
    // scaled down, and no error can drift into other pictures.
    bool skip_nonref_loop_filter = true;
  };
  using PictureSink = std::function<void(AVFrame* picture)>;

  static core::Result<std::unique_ptr<VideoDecoder>> open(const media::CodecConfig& config,
                                                          const Options& options);
  ~VideoDecoder();
  VideoDecoder(const VideoDecoder&) = delete;
  VideoDecoder& operator=(const VideoDecoder&) = delete;

  // Decodes one access unit; every picture it completes (in presentation
  // order, pts in 90 kHz) goes to `sink`. False when the decoder refused it.
  bool decode(const media::MediaFrame& frame, const PictureSink& sink);
  // Hands out every picture still inside, then takes input again.
  void drain(const PictureSink& sink);
  // Forgets what is inside (after input was dropped): the next access unit
  // must be a keyframe.
  void discard();

  bool on_gpu() const { return on_gpu_; }
  // Access units refused plus errors the decoder logged.
  std::uint64_t errors() const { return refused_ + logged_errors(); }

 private:
  VideoDecoder() = default;
  void receive(const PictureSink& sink);

  // Packet buffers, reused: a copy of each access unit (with the zeroed
  // padding FFmpeg reads past the end) without a fresh allocation, and its
  // page faults, per picture. One pool per power-of-two size.
  AVBufferRef* packet_buffer(std::size_t size);

  av::CodecContextPtr context_;
  av::PacketPtr packet_;
  std::vector<std::unique_ptr<AVBufferPool, void (*)(AVBufferPool*)>> pools_;
  av::FramePtr picture_;
  bool on_gpu_ = false;
  std::uint64_t refused_ = 0;
};

}  // namespace mirror::transcode
