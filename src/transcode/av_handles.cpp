#include "transcode/av_handles.h"

#include "core/logging.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/buffer.h>
#include <libavutil/error.h>
#include <libavutil/frame.h>
#include <libavutil/log.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>
}

#include <cstdarg>
#include <cstdio>
#include <mutex>
#include <string_view>

namespace mirror::transcode::av {

void CodecContextDeleter::operator()(AVCodecContext* c) const noexcept { avcodec_free_context(&c); }
void FrameDeleter::operator()(AVFrame* f) const noexcept { av_frame_free(&f); }
void PacketDeleter::operator()(AVPacket* p) const noexcept { av_packet_free(&p); }
void SwsDeleter::operator()(SwsContext* s) const noexcept { sws_freeContext(s); }
void SwrDeleter::operator()(SwrContext* s) const noexcept { swr_free(&s); }
void BufferRefDeleter::operator()(AVBufferRef* b) const noexcept { av_buffer_unref(&b); }
void AudioFifoDeleter::operator()(AVAudioFifo* f) const noexcept { av_audio_fifo_free(f); }

FramePtr make_frame() { return FramePtr(av_frame_alloc()); }
PacketPtr make_packet() { return PacketPtr(av_packet_alloc()); }

BufferRefPtr ref(AVBufferRef* buffer) {
  return BufferRefPtr(buffer != nullptr ? av_buffer_ref(buffer) : nullptr);
}

FramePtr ref_frame(const AVFrame* frame) {
  FramePtr out = make_frame();
  if (out && av_frame_ref(out.get(), frame) < 0) out.reset();
  return out;
}

std::string error_text(int code) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(code, text, sizeof text);
  return std::string(text) + " (" + std::to_string(code) + ")";
}

namespace {

core::log::KeyedLogLimiter& ffmpeg_log() {
  static auto* const limiter = new core::log::KeyedLogLimiter(std::chrono::seconds(10), 256);
  return *limiter;  // immortal: FFmpeg threads may log while the process exits
}

void bridge(void* avcl, int level, const char* format, va_list args) {
  if (level > av_log_get_level()) return;
  const AVClass* cls = avcl != nullptr ? *static_cast<const AVClass* const*>(avcl) : nullptr;
  if (level <= AV_LOG_ERROR && cls == avcodec_get_class()) {
    auto* ctx = static_cast<AVCodecContext*>(avcl);
    if (ctx->opaque != nullptr) static_cast<CodecErrorCounter*>(ctx->opaque)->count_logged_error();
  }
  char line[512];
  int print_prefix = 0;
  va_list copy;
  va_copy(copy, args);
  av_log_format_line2(avcl, level, format, copy, line, sizeof line, &print_prefix);
  va_end(copy);
  std::string_view text(line);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  if (text.empty()) return;
  const char* component = cls != nullptr && cls->class_name != nullptr ? cls->class_name : "ffmpeg";
  // One line per component and level per 10 s: a corrupt stream makes the
  // decoder complain for every slice.
  const std::string key = std::string(component) + (level <= AV_LOG_ERROR ? ":error" : ":warning");
  ffmpeg_log().log(key, level <= AV_LOG_ERROR ? core::log::Level::kWarn : core::log::Level::kDebug,
                   "ffmpeg", {{"component", component}, {"text", text}});
}

}  // namespace

void install_log_bridge() {
  static std::once_flag once;
  std::call_once(once, [] {
    av_log_set_level(AV_LOG_WARNING);
    av_log_set_callback(bridge);
  });
}

}  // namespace mirror::transcode::av
