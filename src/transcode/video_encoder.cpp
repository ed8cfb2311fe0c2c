#include "transcode/video_encoder.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/opt.h>
}

#include <fmt/format.h>

namespace mirror::transcode {
namespace {

core::Error encoder_error(std::string message) {
  return core::Error(core::ErrorCode::kServiceUnavailable, std::move(message));
}

}  // namespace

VideoEncoder::VideoEncoder(FrameSink sink) : sink_(std::move(sink)) {}

VideoEncoder::~VideoEncoder() = default;

core::Result<std::unique_ptr<VideoEncoder>> VideoEncoder::open(const Options& options, FrameSink sink) {
  const bool nvenc = options.cuda_frames != nullptr;
  const char* name = nvenc ? "h264_nvenc" : "libx264";
  const AVCodec* codec = avcodec_find_encoder_by_name(name);
  if (codec == nullptr) return encoder_error(fmt::format("this FFmpeg has no {} encoder", name));

  std::unique_ptr<VideoEncoder> e(new VideoEncoder(std::move(sink)));
  e->options_ = options;
  e->nvenc_ = nvenc;
  e->context_.reset(avcodec_alloc_context3(codec));
  e->input_ = av::make_frame();
  e->packet_ = av::make_packet();
  if (!e->context_ || !e->input_ || !e->packet_) {
    return core::Error(core::ErrorCode::kInternal, "out of memory for a video encoder");
  }
  AVCodecContext* c = e->context_.get();
  c->width = options.width;
  c->height = options.height;
  c->sample_aspect_ratio = AVRational{1, 1};
  // One tick per frame: the rate is what the stream's timing information says.
  c->time_base = AVRational{options.rate.den, options.rate.num};
  c->framerate = AVRational{options.rate.num, options.rate.den};
  c->bit_rate = options.bitrate;
  // A VBV buffer of two seconds' worth, peaks at most 12.5 % above the mean:
  // steady enough for 100 ms parts, loose enough to spend bits on motion.
  c->rc_max_rate = options.bitrate * 9 / 8;
  c->rc_buffer_size = static_cast<int>(std::min<std::int64_t>(options.bitrate * 2, INT32_MAX));
  c->gop_size = options.keyframe_every;
  c->keyint_min = options.keyframe_every;
  c->max_b_frames = 0;
  c->color_primaries = static_cast<AVColorPrimaries>(options.color_primaries);
  c->color_trc = static_cast<AVColorTransferCharacteristic>(options.color_trc);
  c->colorspace = static_cast<AVColorSpace>(options.colorspace);
  c->color_range = AVCOL_RANGE_MPEG;
  c->opaque = static_cast<av::CodecErrorCounter*>(e.get());
  if (nvenc) {
    c->pix_fmt = AV_PIX_FMT_CUDA;
    c->hw_frames_ctx = av_buffer_ref(options.cuda_frames);
    av_opt_set(c->priv_data, "preset", "p4", 0);
    av_opt_set(c->priv_data, "tune", "ll", 0);
    av_opt_set(c->priv_data, "rc", "vbr", 0);
    av_opt_set_int(c->priv_data, "zerolatency", 1, 0);
    av_opt_set_int(c->priv_data, "delay", 0, 0);
    av_opt_set_int(c->priv_data, "forced-idr", 1, 0);
    av_opt_set(c->priv_data, "profile", options.profile.c_str(), 0);
  } else {
    c->pix_fmt = AV_PIX_FMT_YUV420P;
    // Streams run in parallel on the worker pool; one thread per encoder
    // spends no CPU on synchronisation and keeps each picture one slice.
    c->thread_count = 1;
    av_opt_set(c->priv_data, "preset", "veryfast", 0);
    av_opt_set(c->priv_data, "tune", "zerolatency", 0);
    av_opt_set(c->priv_data, "profile", options.profile.c_str(), 0);
    av_opt_set_int(c->priv_data, "forced-idr", 1, 0);
    av_opt_set(c->priv_data, "x264-params", "scenecut=0", 0);
  }
  if (const int ret = avcodec_open2(c, codec, nullptr); ret < 0) {
    return encoder_error(fmt::format("cannot open {}: {}", name, av::error_text(ret)));
  }
  auto* self = e.get();
  e->assembler_ = std::make_unique<media::VideoAccessUnitAssembler>(
      media::Codec::kH264, [self](media::MediaFrame f) {
        ++self->frames_out_;
        if (f.keyframe) f.source_keyframe = self->origin_;
        self->sink_(std::move(f), self->started_);
      });
  return e;
}

core::Status VideoEncoder::encode(const AVFrame& picture, std::int64_t index, std::int64_t time90k,
                                  bool keyframe, std::chrono::system_clock::time_point arrival,
                                  std::chrono::steady_clock::time_point started,
                                  std::optional<media::MediaFrame::SourceKeyframe> origin) {
  av_frame_unref(input_.get());
  if (const int ret = av_frame_ref(input_.get(), &picture); ret < 0) {
    return core::Error(core::ErrorCode::kInternal, "cannot reference a picture: " + av::error_text(ret));
  }
  input_->pts = index;
  input_->pict_type = keyframe ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
  input_->sample_aspect_ratio = AVRational{1, 1};
  pending_.push_back({index, time90k, arrival, started, keyframe ? origin : std::nullopt});
  if (pending_.size() > 256) pending_.pop_front();  // an encoder that never answers
  const int ret = avcodec_send_frame(context_.get(), input_.get());
  av_frame_unref(input_.get());
  if (ret < 0) {
    return core::Error(core::ErrorCode::kInvalidInput, "encoder refused a picture: " + av::error_text(ret));
  }
  receive();
  return core::Ok{};
}

void VideoEncoder::receive() {
  while (avcodec_receive_packet(context_.get(), packet_.get()) == 0) {
    std::int64_t time90k = 0;
    std::chrono::system_clock::time_point arrival{};
    bool found = false;
    while (!pending_.empty() && pending_.front().index <= packet_->pts) {
      if (pending_.front().index == packet_->pts) {
        time90k = pending_.front().time90k;
        arrival = pending_.front().arrival;
        started_ = pending_.front().started;
        origin_ = pending_.front().origin;
        found = true;
      }
      pending_.pop_front();
    }
    if (found) {
      assembler_->push({packet_->data, static_cast<std::size_t>(packet_->size)}, time90k, time90k,
                       arrival, true);
    }
    av_packet_unref(packet_.get());
  }
}

void VideoEncoder::drain() {
  if (avcodec_send_frame(context_.get(), nullptr) >= 0) receive();
  assembler_->flush();
}

}  // namespace mirror::transcode
