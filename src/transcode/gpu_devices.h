// GpuDevices: the NVIDIA GPUs the transcoder may use, probed once at start.
// For each index of transcoding.gpu_devices the probe opens a CUDA device
// context through FFmpeg's hwdevice API (needs the driver's libcuda), and
// separately an h264_nvenc encoder on it: many datacenter GPUs decode
// (NVDEC) but cannot encode (no NVENC), and then streams take the hybrid path
// (NVDEC and GPU scaling, x264 on the CPU). Streams are spread over the
// usable devices, fewest streams first.
//
// Threads: probe() once from the control thread; acquire() and the device
// leases from any thread.
#pragma once

#include "transcode/av_handles.h"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

namespace mirror::transcode {

struct GpuProbe {
  int index = 0;
  bool cuda = false;   // a CUDA device context opened: NVDEC and scale_cuda usable
  bool nvenc = false;  // an h264_nvenc session opened on it
  std::string reason;  // why not, when either failed
};

class GpuDevice {
 public:
  GpuDevice(int index, av::BufferRefPtr cuda, bool nvenc)
      : index_(index), cuda_(std::move(cuda)), nvenc_(nvenc) {}
  int index() const { return index_; }
  AVBufferRef* cuda() const { return cuda_.get(); }
  bool nvenc() const { return nvenc_; }
  int streams() const { return streams_.load(std::memory_order_relaxed); }

 private:
  friend class GpuDevices;
  const int index_;
  av::BufferRefPtr cuda_;
  const bool nvenc_;
  std::atomic<int> streams_{0};
};

class GpuDevices {
 public:
  // Probes `indices` (an empty list probes nothing).
  static GpuDevices probe(const std::vector<int>& indices);

  const std::vector<GpuProbe>& probes() const { return probes_; }
  bool usable() const { return !devices_.empty(); }
  // One line: why no GPU is used ("device 0: cannot load libcuda.so.1 ...").
  std::string refusal() const;

  // The least busy usable device for a new stream, counted until the
  // returned lease is dropped; null when none is usable.
  std::shared_ptr<GpuDevice> acquire() const;

 private:
  std::vector<GpuProbe> probes_;
  std::vector<std::shared_ptr<GpuDevice>> devices_;
};

}  // namespace mirror::transcode
