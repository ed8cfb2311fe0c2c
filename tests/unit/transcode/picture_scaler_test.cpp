#include "transcode/picture_scaler.h"

extern "C" {
#include <libavutil/frame.h>
}

#include <gtest/gtest.h>

#include <cstring>

namespace mirror::transcode {
namespace {

av::FramePtr gray_picture(int w, int h, AVPixelFormat format, int sar_num = 1, int sar_den = 1) {
  auto f = av::make_frame();
  f->width = w;
  f->height = h;
  f->format = format;
  f->sample_aspect_ratio = AVRational{sar_num, sar_den};
  EXPECT_EQ(av_frame_get_buffer(f.get(), 0), 0);
  for (int p = 0; p < 3 && f->data[p] != nullptr; ++p) {
    const int rows = p == 0 ? h : (h + 1) / 2;
    for (int y = 0; y < rows; ++y) std::memset(f->data[p] + y * f->linesize[p], p == 0 ? 180 : 128, f->linesize[p]);
  }
  return f;
}

TEST(FitInsideTest, SameShapeFillsTheOutput) {
  const FitRect r = fit_inside(1920, 1080, 1, 1, 640, 360);
  EXPECT_EQ(r.x, 0);
  EXPECT_EQ(r.y, 0);
  EXPECT_EQ(r.width, 640);
  EXPECT_EQ(r.height, 360);
}

TEST(FitInsideTest, FourByThreeIsPillarboxed) {
  const FitRect r = fit_inside(1440, 1080, 1, 1, 640, 360);
  EXPECT_EQ(r.height, 360);
  EXPECT_EQ(r.width, 480);
  EXPECT_EQ(r.x, 80);
  EXPECT_EQ(r.y, 0);
}

TEST(FitInsideTest, AnamorphicSourceUsesItsSampleAspect) {
  // 1440x1080 with 4:3 pixels is 16:9 on screen.
  const FitRect r = fit_inside(1440, 1080, 4, 3, 640, 360);
  EXPECT_EQ(r.width, 640);
  EXPECT_EQ(r.height, 360);
}

TEST(FitInsideTest, CinemaScopeIsLetterboxedWithEvenSizes) {
  const FitRect r = fit_inside(1920, 800, 1, 1, 640, 360);
  EXPECT_EQ(r.width, 640);
  EXPECT_EQ(r.height % 2, 0);
  EXPECT_EQ(r.y % 2, 0);
  EXPECT_NEAR(r.height, 266, 2);
  EXPECT_EQ(r.y, (360 - r.height) / 4 * 2);
}

TEST(PictureScalerTest, ScalesAndPadsWithBlack) {
  PictureScaler scaler(640, 360);
  auto in = gray_picture(1440, 1080, AV_PIX_FMT_YUV420P);
  in->pts = 1234;
  auto out = scaler.scale(*in);
  ASSERT_TRUE(out);
  const AVFrame& f = **out;
  EXPECT_EQ(f.width, 640);
  EXPECT_EQ(f.height, 360);
  EXPECT_EQ(f.pts, 1234);
  // Pillarbox bars are video black; the picture keeps its level.
  EXPECT_EQ(f.data[0][100 * f.linesize[0] + 10], 16);
  EXPECT_EQ(f.data[1][50 * f.linesize[1] + 5], 128);
  EXPECT_NEAR(f.data[0][180 * f.linesize[0] + 320], 180, 2);
}

TEST(PictureScalerTest, ConvertsTenBitAndOtherFormats) {
  PictureScaler scaler(640, 360);
  for (AVPixelFormat format : {AV_PIX_FMT_YUV420P10LE, AV_PIX_FMT_NV12, AV_PIX_FMT_YUV422P}) {
    auto in = av::make_frame();
    in->width = 1280;
    in->height = 720;
    in->format = format;
    ASSERT_EQ(av_frame_get_buffer(in.get(), 0), 0);
    auto out = scaler.scale(*in);
    ASSERT_TRUE(out) << format;
    EXPECT_EQ((*out)->format, AV_PIX_FMT_YUV420P);
    EXPECT_EQ((*out)->width, 640);
  }
}

TEST(PictureScalerTest, PassesThroughWhatIsAlreadyRight) {
  PictureScaler scaler(640, 360);
  auto in = gray_picture(640, 360, AV_PIX_FMT_YUV420P);
  auto out = scaler.scale(*in);
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, in.get());
}

TEST(PictureScalerTest, RefusesAFormatItCannotRead) {
  PictureScaler scaler(640, 360);
  auto in = av::make_frame();
  in->width = 64;
  in->height = 64;
  in->format = AV_PIX_FMT_CUDA;  // a hardware surface, not pixels
  EXPECT_FALSE(scaler.scale(*in));
}

}  // namespace
}  // namespace mirror::transcode
