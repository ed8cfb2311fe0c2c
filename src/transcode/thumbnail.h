// Thumbnails of a stream: the latest decoded keyframe as a JPEG (libavcodec's
// mjpeg) at the rendition's size. Made only when someone asked since the last
// one, and at most once per refresh interval, so a stream nobody looks at
// costs nothing.
//
// ThumbnailBox is where the two sides meet: HTTP handlers ask (request), the
// transcoder's worker sees the wish (wanted), encodes and publishes; waiting
// askers are answered from the worker's thread. JpegEncoder is the worker's.
//
// Threads: ThumbnailBox from any thread (one mutex, never held while calling
// a reply); JpegEncoder owned by its transcoder.
#pragma once

#include "core/errors.h"
#include "core/shared_bytes.h"
#include "transcode/av_handles.h"
#include "transcode/picture_scaler.h"

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <vector>

namespace mirror::transcode {

class ThumbnailBox {
 public:
  using Clock = std::chrono::steady_clock;
  using Reply = std::function<void(core::Result<core::SharedBytes>)>;

  explicit ThumbnailBox(std::chrono::nanoseconds refresh = std::chrono::seconds{2}) : refresh_(refresh) {}

  // ---- any thread ----
  // Answers at once with a fresh enough JPEG, or with 404 before the first
  // picture; otherwise asks the worker and answers when it has made one (or,
  // after `wait`, with the last one or 503).
  void request(Reply reply, Clock::time_point now = Clock::now(),
               std::chrono::nanoseconds wait = std::chrono::seconds{3});
  // Answers waiters whose time is up. Called periodically.
  void expire(Clock::time_point now = Clock::now());
  // The stream is gone: every waiter gets the last JPEG or 404.
  void close();

  // ---- the transcoder's worker ----
  // A picture exists to make thumbnails from.
  void set_picture_available() { picture_available_.store(true, std::memory_order_release); }
  // True when someone asked since the last JPEG (and the interval passed).
  bool wanted() const { return wanted_.load(std::memory_order_acquire); }
  void publish(core::SharedBytes jpeg, Clock::time_point now = Clock::now());

 private:
  struct Waiter {
    Clock::time_point deadline;
    Reply reply;
  };
  static void answer(std::vector<Waiter>& waiters, const core::SharedBytes& jpeg, bool gone);

  const std::chrono::nanoseconds refresh_;
  std::atomic<bool> wanted_{false};
  std::atomic<bool> picture_available_{false};
  std::mutex mutex_;
  core::SharedBytes jpeg_;
  Clock::time_point made_{};
  bool closed_ = false;
  std::vector<Waiter> waiters_;
};

class JpegEncoder {
 public:
  JpegEncoder(int width, int height) : scaler_(width, height, AV_PIX_FMT_YUVJ420P) {}
  // Any picture in system memory (a CUDA picture is downloaded first).
  core::Result<core::SharedBytes> encode(const AVFrame& picture);

 private:
  PictureScaler scaler_;
  av::CodecContextPtr context_;
  av::PacketPtr packet_;
  av::FramePtr download_;
};

}  // namespace mirror::transcode
