// PictureScaler: a decoded picture of any size, pixel format and sample aspect
// ratio to a rendition's size with libswscale, keeping the picture's shape:
// scaled to fit, centred, the rest black (letterbox or pillarbox). A picture
// that already has the output's size and format is passed through untouched.
//
// Threads: owned by its transcoder (one worker at a time).
#pragma once

#include "core/errors.h"
#include "transcode/av_handles.h"

extern "C" {
#include <libavutil/pixfmt.h>
}

namespace mirror::transcode {

// Where a picture of `width` x `height` with sample aspect `sar_num:sar_den`
// goes inside an output of `out_width` x `out_height`: even sizes and offsets.
struct FitRect {
  int x = 0, y = 0, width = 0, height = 0;
};
FitRect fit_inside(int width, int height, int sar_num, int sar_den, int out_width, int out_height);

class PictureScaler {
 public:
  PictureScaler(int width, int height, AVPixelFormat format = AV_PIX_FMT_YUV420P);

  int width() const { return width_; }
  int height() const { return height_; }

  // The picture at the output size and format. The frame stays valid until
  // the next call; its pts and colour properties are the picture's.
  core::Result<const AVFrame*> scale(const AVFrame& picture);
  // The last picture scale() made (not one it passed through), or null.
  const AVFrame* last_output() const { return made_ ? out_.get() : nullptr; }

 private:
  void fill_borders(const FitRect& fit);

  const int width_;
  const int height_;
  const AVPixelFormat format_;
  av::SwsPtr sws_;
  // What sws_ was made for.
  int in_width_ = 0, in_height_ = 0, in_format_ = -1, in_range_ = -1;
  FitRect fit_;
  av::FramePtr out_;
  bool made_ = false;  // out_ holds the last picture returned
};

}  // namespace mirror::transcode
