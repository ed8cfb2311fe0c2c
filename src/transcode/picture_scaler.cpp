#include "transcode/picture_scaler.h"

extern "C" {
#include <libavutil/frame.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

#include <algorithm>
#include <cmath>
#include <cstring>

namespace mirror::transcode {
namespace {

int even_down(double v) { return std::max(2, static_cast<int>(std::floor(v / 2)) * 2); }

bool full_range(const AVFrame& f) {
  const auto fmt = static_cast<AVPixelFormat>(f.format);
  return f.color_range == AVCOL_RANGE_JPEG || fmt == AV_PIX_FMT_YUVJ420P ||
         fmt == AV_PIX_FMT_YUVJ422P || fmt == AV_PIX_FMT_YUVJ444P;
}

}  // namespace

FitRect fit_inside(int width, int height, int sar_num, int sar_den, int out_width, int out_height) {
  if (width <= 0 || height <= 0) return {0, 0, out_width, out_height};
  if (sar_num <= 0 || sar_den <= 0) sar_num = sar_den = 1;
  const double aspect = static_cast<double>(width) * sar_num / (static_cast<double>(height) * sar_den);
  const double out_aspect = static_cast<double>(out_width) / out_height;
  FitRect r;
  if (std::abs(aspect - out_aspect) < 0.01) {
    r.width = out_width;
    r.height = out_height;
  } else if (aspect > out_aspect) {
    r.width = out_width;
    r.height = std::min(out_height, even_down(out_width / aspect + 1));
  } else {
    r.height = out_height;
    r.width = std::min(out_width, even_down(out_height * aspect + 1));
  }
  r.x = (out_width - r.width) / 4 * 2;
  r.y = (out_height - r.height) / 4 * 2;
  return r;
}

PictureScaler::PictureScaler(int width, int height, AVPixelFormat format)
    : width_(width), height_(height), format_(format) {}

core::Result<const AVFrame*> PictureScaler::scale(const AVFrame& in) {
  if (in.width == width_ && in.height == height_ && in.format == format_ &&
      (in.sample_aspect_ratio.num == in.sample_aspect_ratio.den || in.sample_aspect_ratio.num == 0)) {
    made_ = false;
    return &in;  // already what the encoder wants
  }
  const bool in_full = full_range(in);
  if (!sws_ || in.width != in_width_ || in.height != in_height_ || in.format != in_format_ ||
      static_cast<int>(in_full) != in_range_) {
    fit_ = fit_inside(in.width, in.height, in.sample_aspect_ratio.num, in.sample_aspect_ratio.den,
                      width_, height_);
    sws_.reset(sws_getContext(in.width, in.height, static_cast<AVPixelFormat>(in.format), fit_.width,
                              fit_.height, format_, SWS_BICUBIC, nullptr, nullptr, nullptr));
    if (!sws_) {
      return core::Error(core::ErrorCode::kInvalidInput,
                         std::string("cannot scale pictures of format ") +
                             (av_get_pix_fmt_name(static_cast<AVPixelFormat>(in.format))
                                  ? av_get_pix_fmt_name(static_cast<AVPixelFormat>(in.format))
                                  : "unknown"));
    }
    const bool out_full = format_ == AV_PIX_FMT_YUVJ420P;
    const int space = in.colorspace == AVCOL_SPC_BT709 ? SWS_CS_ITU709 : SWS_CS_DEFAULT;
    sws_setColorspaceDetails(sws_.get(), sws_getCoefficients(space), in_full ? 1 : 0,
                             sws_getCoefficients(space), out_full ? 1 : 0, 0, 1 << 16, 1 << 16);
    in_width_ = in.width;
    in_height_ = in.height;
    in_format_ = in.format;
    in_range_ = in_full ? 1 : 0;
  }
  if (!out_) {
    out_ = av::make_frame();
    if (!out_) return core::Error(core::ErrorCode::kInternal, "out of memory");
    out_->width = width_;
    out_->height = height_;
    out_->format = format_;
    if (av_frame_get_buffer(out_.get(), 0) < 0) {
      out_.reset();
      return core::Error(core::ErrorCode::kInternal, "out of memory for a scaled picture");
    }
  } else if (av_frame_make_writable(out_.get()) < 0) {
    // The encoder still holds the last one: make_writable copied into a new
    // buffer or failed; either way the borders are redrawn below.
    return core::Error(core::ErrorCode::kInternal, "out of memory for a scaled picture");
  }
  std::uint8_t* dst[4] = {};
  const AVPixFmtDescriptor* desc = av_pix_fmt_desc_get(format_);
  for (int p = 0; p < 3; ++p) {
    const int sx = p == 0 ? 0 : desc->log2_chroma_w;
    const int sy = p == 0 ? 0 : desc->log2_chroma_h;
    dst[p] = out_->data[p] + (fit_.y >> sy) * out_->linesize[p] + (fit_.x >> sx);
  }
  sws_scale(sws_.get(), in.data, in.linesize, 0, in.height, dst, out_->linesize);
  fill_borders(fit_);
  out_->pts = in.pts;
  out_->color_range = format_ == AV_PIX_FMT_YUVJ420P ? AVCOL_RANGE_JPEG : AVCOL_RANGE_MPEG;
  out_->colorspace = in.colorspace;
  out_->color_primaries = in.color_primaries;
  out_->color_trc = in.color_trc;
  out_->sample_aspect_ratio = AVRational{1, 1};
  made_ = true;
  return out_.get();
}

void PictureScaler::fill_borders(const FitRect& fit) {
  if (fit.width == width_ && fit.height == height_) return;
  const bool full = format_ == AV_PIX_FMT_YUVJ420P;
  const AVPixFmtDescriptor* desc = av_pix_fmt_desc_get(format_);
  for (int p = 0; p < 3; ++p) {
    const int sx = p == 0 ? 0 : desc->log2_chroma_w;
    const int sy = p == 0 ? 0 : desc->log2_chroma_h;
    const std::uint8_t value = p == 0 ? (full ? 0 : 16) : 128;
    const int w = width_ >> sx, h = height_ >> sy;
    const int x0 = fit.x >> sx, y0 = fit.y >> sy;
    const int x1 = (fit.x + fit.width) >> sx, y1 = (fit.y + fit.height) >> sy;
    for (int y = 0; y < h; ++y) {
      std::uint8_t* row = out_->data[p] + static_cast<std::ptrdiff_t>(y) * out_->linesize[p];
      if (y < y0 || y >= y1) {
        std::memset(row, value, static_cast<std::size_t>(w));
      } else {
        std::memset(row, value, static_cast<std::size_t>(x0));
        std::memset(row + x1, value, static_cast<std::size_t>(w - x1));
      }
    }
  }
}

}  // namespace mirror::transcode
