#include "transcode/gpu_devices.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/hwcontext.h>
#include <libavutil/opt.h>
}

#include <fmt/format.h>

#include <algorithm>

namespace mirror::transcode {
namespace {

// Opens (and closes) a small h264_nvenc session on the device.
std::string try_nvenc(AVBufferRef* cuda) {
  const AVCodec* codec = avcodec_find_encoder_by_name("h264_nvenc");
  if (codec == nullptr) return "this FFmpeg has no h264_nvenc encoder";
  av::BufferRefPtr frames(av_hwframe_ctx_alloc(cuda));
  if (!frames) return "cannot allocate CUDA frames";
  auto* fc = reinterpret_cast<AVHWFramesContext*>(frames->data);
  fc->format = AV_PIX_FMT_CUDA;
  fc->sw_format = AV_PIX_FMT_NV12;
  fc->width = 640;
  fc->height = 360;
  if (const int ret = av_hwframe_ctx_init(frames.get()); ret < 0) {
    return "cannot create CUDA frames: " + av::error_text(ret);
  }
  av::CodecContextPtr c(avcodec_alloc_context3(codec));
  if (!c) return "out of memory";
  c->width = 640;
  c->height = 360;
  c->time_base = AVRational{1, 30};
  c->pix_fmt = AV_PIX_FMT_CUDA;
  c->hw_frames_ctx = av_buffer_ref(frames.get());
  c->bit_rate = 400000;
  if (const int ret = avcodec_open2(c.get(), codec, nullptr); ret < 0) {
    return "h264_nvenc does not open: " + av::error_text(ret);
  }
  return {};
}

}  // namespace

GpuDevices GpuDevices::probe(const std::vector<int>& indices) {
  av::install_log_bridge();
  GpuDevices out;
  for (int index : indices) {
    GpuProbe p;
    p.index = index;
    AVBufferRef* raw = nullptr;
    const int ret = av_hwdevice_ctx_create(&raw, AV_HWDEVICE_TYPE_CUDA, std::to_string(index).c_str(),
                                           nullptr, 0);
    av::BufferRefPtr cuda(raw);
    if (ret < 0) {
      // Without the NVIDIA driver (libcuda.so.1) or a visible GPU, FFmpeg
      // says little more than "operation not permitted".
      p.reason = "cannot open CUDA device " + std::to_string(index) +
                 " (no NVIDIA driver or GPU visible): " + av::error_text(ret);
    } else {
      p.cuda = true;
      const std::string nvenc = try_nvenc(cuda.get());
      p.nvenc = nvenc.empty();
      if (!p.nvenc) p.reason = nvenc + " (NVDEC decode with x264 encode: the hybrid path)";
      out.devices_.push_back(std::make_shared<GpuDevice>(index, std::move(cuda), p.nvenc));
    }
    out.probes_.push_back(std::move(p));
  }
  return out;
}

std::string GpuDevices::refusal() const {
  if (probes_.empty()) return "transcoding.gpu_devices is empty";
  std::string text;
  for (const auto& p : probes_) {
    if (p.cuda) continue;
    if (!text.empty()) text += "; ";
    text += fmt::format("device {}: {}", p.index, p.reason);
  }
  return text;
}

std::shared_ptr<GpuDevice> GpuDevices::acquire() const {
  if (devices_.empty()) return nullptr;
  auto best = *std::min_element(devices_.begin(), devices_.end(), [](const auto& a, const auto& b) {
    return a->streams() < b->streams();
  });
  best->streams_.fetch_add(1, std::memory_order_relaxed);
  // The lease shares the device and gives its count back when dropped.
  return std::shared_ptr<GpuDevice>(best.get(), [keep = best](GpuDevice* d) {
    d->streams_.fetch_sub(1, std::memory_order_relaxed);
  });
}

}  // namespace mirror::transcode
