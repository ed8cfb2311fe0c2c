#include "transcode/gpu_devices.h"

#include "transcode/video_decoder.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace mirror::transcode {
namespace {

// These machines have no NVIDIA GPU: the probe must say so, per device, and
// leave every stream to the CPU. (On a machine with one, the test checks what
// the probe found instead.)
TEST(GpuDevicesTest, ProbeRefusesWithoutAGpuAndSaysWhy) {
  const auto gpus = GpuDevices::probe({0, 1});
  ASSERT_EQ(gpus.probes().size(), 2u);
  if (std::filesystem::exists("/dev/nvidiactl")) {
    GTEST_SKIP() << "an NVIDIA driver is present: " << gpus.refusal();
  }
  EXPECT_FALSE(gpus.usable());
  for (const auto& p : gpus.probes()) {
    EXPECT_FALSE(p.cuda);
    EXPECT_FALSE(p.nvenc);
    EXPECT_NE(p.reason.find("CUDA device " + std::to_string(p.index)), std::string::npos) << p.reason;
  }
  EXPECT_NE(gpus.refusal().find("device 1"), std::string::npos);
  EXPECT_EQ(gpus.acquire(), nullptr);
}

TEST(GpuDevicesTest, AnEmptyDeviceListIsNoGpu) {
  const auto gpus = GpuDevices::probe({});
  EXPECT_FALSE(gpus.usable());
  EXPECT_NE(gpus.refusal().find("gpu_devices is empty"), std::string::npos);
}

TEST(GpuDevicesTest, NvdecDecoderRefusesWithoutADevice) {
  // The GPU decode path is built (h264_cuvid/hevc_cuvid exist in this FFmpeg)
  // but cannot open here; the transcoder then decodes on the CPU.
  media::CodecConfig config;
  config.codec = media::Codec::kHevc;
  auto decoder = VideoDecoder::open(config, {});
  EXPECT_FALSE(decoder);  // no parameter sets: refused before any device is needed
}

}  // namespace
}  // namespace mirror::transcode
