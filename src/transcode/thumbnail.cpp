#include "transcode/thumbnail.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/hwcontext.h>
}

#include <string>

namespace mirror::transcode {

void ThumbnailBox::request(Reply reply, Clock::time_point now, std::chrono::nanoseconds wait) {
  core::SharedBytes ready;
  bool missing = false;
  {
    std::lock_guard lock(mutex_);
    if (!jpeg_.empty() && now - made_ < refresh_) {
      ready = jpeg_;
    } else if (closed_ || !picture_available_.load(std::memory_order_acquire)) {
      if (jpeg_.empty()) {
        missing = true;
      } else {
        ready = jpeg_;
      }
    } else {
      waiters_.push_back({now + wait, std::move(reply)});
      wanted_.store(true, std::memory_order_release);
      return;
    }
  }
  if (missing) {
    reply(core::Error(core::ErrorCode::kNotFound, "the stream has no picture yet"));
  } else {
    reply(std::move(ready));
  }
}

void ThumbnailBox::answer(std::vector<Waiter>& waiters, const core::SharedBytes& jpeg, bool gone) {
  for (auto& w : waiters) {
    if (!jpeg.empty()) {
      w.reply(jpeg);
    } else if (gone) {
      w.reply(core::Error(core::ErrorCode::kNotFound, "the stream has no picture"));
    } else {
      w.reply(core::Error(core::ErrorCode::kServiceUnavailable, "no thumbnail was made in time"));
    }
  }
}

void ThumbnailBox::expire(Clock::time_point now) {
  std::vector<Waiter> due;
  core::SharedBytes last;
  {
    std::lock_guard lock(mutex_);
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (it->deadline <= now) {
        due.push_back(std::move(*it));
        it = waiters_.erase(it);
      } else {
        ++it;
      }
    }
    last = jpeg_;
  }
  answer(due, last, false);
}

void ThumbnailBox::close() {
  std::vector<Waiter> all;
  core::SharedBytes last;
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    all.swap(waiters_);
    last = jpeg_;
    wanted_.store(false, std::memory_order_release);
  }
  answer(all, last, true);
}

void ThumbnailBox::publish(core::SharedBytes jpeg, Clock::time_point now) {
  std::vector<Waiter> all;
  {
    std::lock_guard lock(mutex_);
    jpeg_ = jpeg;
    made_ = now;
    all.swap(waiters_);
    wanted_.store(false, std::memory_order_release);
  }
  answer(all, jpeg, false);
}

core::Result<core::SharedBytes> JpegEncoder::encode(const AVFrame& picture) {
  const AVFrame* source = &picture;
  if (picture.hw_frames_ctx != nullptr) {
    if (!download_) download_ = av::make_frame();
    if (!download_) return core::Error(core::ErrorCode::kInternal, "out of memory");
    av_frame_unref(download_.get());
    if (const int ret = av_hwframe_transfer_data(download_.get(), &picture, 0); ret < 0) {
      return core::Error(core::ErrorCode::kServiceUnavailable,
                         "cannot copy a picture from the GPU: " + av::error_text(ret));
    }
    download_->sample_aspect_ratio = picture.sample_aspect_ratio;
    source = download_.get();
  }
  auto scaled = scaler_.scale(*source);
  if (!scaled) return scaled.error();
  if (!context_) {
    const AVCodec* codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
    if (codec == nullptr) return core::Error(core::ErrorCode::kServiceUnavailable, "no JPEG encoder");
    av::CodecContextPtr c(avcodec_alloc_context3(codec));
    packet_ = av::make_packet();
    if (!c || !packet_) return core::Error(core::ErrorCode::kInternal, "out of memory");
    c->width = scaler_.width();
    c->height = scaler_.height();
    c->pix_fmt = AV_PIX_FMT_YUVJ420P;
    c->color_range = AVCOL_RANGE_JPEG;
    c->time_base = AVRational{1, 25};
    // Fixed quality (qscale 4): small files, no visible blocks at this size.
    c->flags |= AV_CODEC_FLAG_QSCALE;
    c->global_quality = FF_QP2LAMBDA * 4;
    c->thread_count = 1;
    if (const int ret = avcodec_open2(c.get(), codec, nullptr); ret < 0) {
      return core::Error(core::ErrorCode::kServiceUnavailable, "cannot open the JPEG encoder: " + av::error_text(ret));
    }
    context_ = std::move(c);
  }
  AVFrame* frame = const_cast<AVFrame*>(*scaled);
  frame->quality = context_->global_quality;
  frame->pts = 0;
  frame->pict_type = AV_PICTURE_TYPE_I;
  int ret = avcodec_send_frame(context_.get(), frame);
  if (ret >= 0) ret = avcodec_receive_packet(context_.get(), packet_.get());
  if (ret < 0) return core::Error(core::ErrorCode::kInternal, "JPEG encoding failed: " + av::error_text(ret));
  std::string bytes(reinterpret_cast<const char*>(packet_->data), static_cast<std::size_t>(packet_->size));
  av_packet_unref(packet_.get());
  return core::SharedBytes::from_string(std::move(bytes));
}

}  // namespace mirror::transcode
