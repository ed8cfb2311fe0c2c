// Owning handles for the FFmpeg objects the transcoder uses (codec contexts,
// frames, packets, scalers, resamplers, hardware contexts), FFmpeg's error
// codes as text, and the bridge that sends FFmpeg's log lines to Mirror's log
// (rate limited) and counts codec errors per codec context.
//
// Threads: the handles are plain owners (one thread at a time, like
// unique_ptr). install_log_bridge() is idempotent and thread-safe; the bridge
// itself runs on whatever thread FFmpeg logs from.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

extern "C" {
struct AVBufferRef;
struct AVCodecContext;
struct AVFrame;
struct AVPacket;
struct SwsContext;
struct SwrContext;
struct AVAudioFifo;
}

namespace mirror::transcode::av {

struct CodecContextDeleter {
  void operator()(AVCodecContext* c) const noexcept;
};
struct FrameDeleter {
  void operator()(AVFrame* f) const noexcept;
};
struct PacketDeleter {
  void operator()(AVPacket* p) const noexcept;
};
struct SwsDeleter {
  void operator()(SwsContext* s) const noexcept;
};
struct SwrDeleter {
  void operator()(SwrContext* s) const noexcept;
};
struct BufferRefDeleter {
  void operator()(AVBufferRef* b) const noexcept;
};
struct AudioFifoDeleter {
  void operator()(AVAudioFifo* f) const noexcept;
};

using CodecContextPtr = std::unique_ptr<AVCodecContext, CodecContextDeleter>;
using FramePtr = std::unique_ptr<AVFrame, FrameDeleter>;
using PacketPtr = std::unique_ptr<AVPacket, PacketDeleter>;
using SwsPtr = std::unique_ptr<SwsContext, SwsDeleter>;
using SwrPtr = std::unique_ptr<SwrContext, SwrDeleter>;
using BufferRefPtr = std::unique_ptr<AVBufferRef, BufferRefDeleter>;
using AudioFifoPtr = std::unique_ptr<AVAudioFifo, AudioFifoDeleter>;

FramePtr make_frame();
PacketPtr make_packet();
// A new reference to the same buffer (hardware device and frame contexts).
BufferRefPtr ref(AVBufferRef* buffer);
// A new reference to a frame (shares its data).
FramePtr ref_frame(const AVFrame* frame);

// "Invalid data found when processing input (-1094995529)".
std::string error_text(int code);

// Counts the errors FFmpeg logs for one codec context: a codec sets its
// context's opaque to itself (as a CodecErrorCounter) and reads the count.
// Decoding errors inside frame threads only ever reach the log, so this is
// where they can be counted.
class CodecErrorCounter {
 public:
  std::uint64_t logged_errors() const { return logged_errors_.load(std::memory_order_relaxed); }
  void count_logged_error() { logged_errors_.fetch_add(1, std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> logged_errors_{0};
};

// Sends FFmpeg's warnings and errors to Mirror's log (at most one line per
// kind of message per 10 s) and counts errors per codec context.
void install_log_bridge();

}  // namespace mirror::transcode::av
