#include "transcode/video_decoder.h"

#include "media/h264.h"
#include "media/hevc.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/buffer.h>
#include <libavutil/hwcontext.h>
#include <libavutil/mem.h>
#include <libavutil/opt.h>
}

#include <cstring>
#include <string>

namespace mirror::transcode {
namespace {

core::Error decoder_error(std::string message) {
  return core::Error(core::ErrorCode::kInvalidInput, std::move(message));
}

AVPixelFormat prefer_cuda(AVCodecContext*, const AVPixelFormat* formats) {
  for (const AVPixelFormat* f = formats; *f != AV_PIX_FMT_NONE; ++f) {
    if (*f == AV_PIX_FMT_CUDA) return *f;
  }
  return formats[0];
}

AVPixelFormat prefer_system_memory(AVCodecContext*, const AVPixelFormat* formats) {
  for (const AVPixelFormat* f = formats; *f != AV_PIX_FMT_NONE; ++f) {
    if (*f != AV_PIX_FMT_CUDA) return *f;
  }
  return formats[0];
}

}  // namespace

core::Result<std::unique_ptr<VideoDecoder>> VideoDecoder::open(const media::CodecConfig& config,
                                                               const Options& options) {
  if (config.codec != media::Codec::kH264 && config.codec != media::Codec::kHevc) {
    return decoder_error(std::string("no video decoder for ") + media::codec_name(config.codec));
  }
  // The decoder reads length-prefixed access units once its extradata is a
  // decoder configuration record (avcC or hvcC) rather than Annex B.
  auto record = config.codec == media::Codec::kHevc ? media::build_hvcc(config.vps, config.sps, config.pps)
                                                    : media::build_avcc(config.sps, config.pps);
  if (!record) return record.error();
  const bool hevc = config.codec == media::Codec::kHevc;
  const bool nvdec = options.cuda_device != nullptr;
  const AVCodec* codec = nvdec ? avcodec_find_decoder_by_name(hevc ? "hevc_cuvid" : "h264_cuvid")
                               : avcodec_find_decoder(hevc ? AV_CODEC_ID_HEVC : AV_CODEC_ID_H264);
  if (codec == nullptr) {
    return decoder_error(nvdec ? "this FFmpeg has no NVDEC (cuvid) decoder" : "this FFmpeg has no H.264/HEVC decoder");
  }

  std::unique_ptr<VideoDecoder> d(new VideoDecoder());
  d->context_.reset(avcodec_alloc_context3(codec));
  d->packet_ = av::make_packet();
  d->picture_ = av::make_frame();
  if (!d->context_ || !d->packet_ || !d->picture_) {
    return core::Error(core::ErrorCode::kInternal, "out of memory for a video decoder");
  }
  AVCodecContext* c = d->context_.get();
  c->extradata = static_cast<std::uint8_t*>(av_mallocz(record->size() + AV_INPUT_BUFFER_PADDING_SIZE));
  if (c->extradata == nullptr) return core::Error(core::ErrorCode::kInternal, "out of memory");
  std::memcpy(c->extradata, record->data(), record->size());
  c->extradata_size = static_cast<int>(record->size());
  c->pkt_timebase = AVRational{1, 90000};
  c->opaque = static_cast<av::CodecErrorCounter*>(d.get());
  if (options.skip_nonref_loop_filter) c->skip_loop_filter = AVDISCARD_NONREF;
  if (nvdec) {
    c->hw_device_ctx = av_buffer_ref(options.cuda_device);
    c->get_format = options.keep_on_gpu ? prefer_cuda : prefer_system_memory;
    if (options.resize_width > 0 && options.resize_height > 0) {
      const std::string size = std::to_string(options.resize_width) + "x" + std::to_string(options.resize_height);
      av_opt_set(c->priv_data, "resize", size.c_str(), 0);
    }
    d->on_gpu_ = true;
  } else {
    c->thread_count = std::max(1, options.threads);
    c->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
  }
  if (const int ret = avcodec_open2(c, codec, nullptr); ret < 0) {
    return decoder_error("cannot open the " + std::string(codec->name) + " decoder: " + av::error_text(ret));
  }
  return d;
}

VideoDecoder::~VideoDecoder() = default;

bool VideoDecoder::decode(const media::MediaFrame& frame, const PictureSink& sink) {
  const auto payload = frame.payload.bytes();
  if (payload.empty()) return true;
  av_packet_unref(packet_.get());
  // The payload is shared and has no padding after it: the decoder gets a copy.
  AVBufferRef* buffer = packet_buffer(payload.size() + AV_INPUT_BUFFER_PADDING_SIZE);
  if (buffer == nullptr) {
    ++refused_;
    return false;
  }
  packet_->buf = buffer;
  packet_->data = buffer->data;
  packet_->size = static_cast<int>(payload.size());
  std::memcpy(packet_->data, payload.data(), payload.size());
  std::memset(packet_->data + payload.size(), 0, AV_INPUT_BUFFER_PADDING_SIZE);
  packet_->pts = frame.pts;
  packet_->dts = frame.dts;
  if (frame.keyframe) packet_->flags |= AV_PKT_FLAG_KEY;
  while (true) {
    const int ret = avcodec_send_packet(context_.get(), packet_.get());
    if (ret == AVERROR(EAGAIN)) {
      receive(sink);  // full: take pictures out, then send again
      continue;
    }
    if (ret < 0) {
      ++refused_;
      receive(sink);
      return false;
    }
    break;
  }
  receive(sink);
  return true;
}

AVBufferRef* VideoDecoder::packet_buffer(std::size_t size) {
  if (size > (std::size_t{1} << 28)) return nullptr;
  std::size_t index = 0;
  std::size_t capacity = 64 * 1024;
  while (capacity < size) {
    capacity *= 2;
    ++index;
  }
  while (pools_.size() <= index) pools_.emplace_back(nullptr, [](AVBufferPool* p) { av_buffer_pool_uninit(&p); });
  if (!pools_[index]) {
    pools_[index].reset(av_buffer_pool_init(capacity, nullptr));
    if (!pools_[index]) return nullptr;
  }
  return av_buffer_pool_get(pools_[index].get());
}

void VideoDecoder::receive(const PictureSink& sink) {
  while (true) {
    const int ret = avcodec_receive_frame(context_.get(), picture_.get());
    if (ret < 0) return;  // EAGAIN, EOF, or an error already counted in the log
    if (picture_->pts == AV_NOPTS_VALUE) picture_->pts = picture_->best_effort_timestamp;
    if (picture_->pts != AV_NOPTS_VALUE) sink(picture_.get());
    av_frame_unref(picture_.get());
  }
}

void VideoDecoder::drain(const PictureSink& sink) {
  if (avcodec_send_packet(context_.get(), nullptr) >= 0) receive(sink);
  avcodec_flush_buffers(context_.get());
}

void VideoDecoder::discard() { avcodec_flush_buffers(context_.get()); }

}  // namespace mirror::transcode
