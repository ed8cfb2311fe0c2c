// What a stream's transcoder makes: its video renditions, the shared audio,
// and where the work runs (CPU, GPU, or NVDEC on the GPU with x264 on the
// CPU). Plain values, copied into each transcoder.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace mirror::transcode {

struct RenditionSpec {
  std::string name;  // "360p"
  int width = 640;
  int height = 360;
  std::int64_t bitrate = 400000;  // video, bits per second
  int max_fps = 30;               // a slower source keeps its rate
};

// Where a stream's video is decoded, scaled and encoded.
enum class TranscodePath {
  kCpu,     // libavcodec decode, libswscale, libx264
  kGpu,     // NVDEC decode, scale_cuda, h264_nvenc: frames never leave the GPU
  kHybrid,  // NVDEC decode and scale_cuda, then the small frames to x264 on the CPU
};
const char* transcode_path_name(TranscodePath path);  // "cpu", "gpu", "hybrid"

struct TranscodeSettings {
  std::vector<RenditionSpec> renditions;  // at least one
  std::string profile = "baseline";       // H.264 profile of every rendition
  std::int64_t audio_bitrate = 64000;     // AAC-LC stereo
  int audio_sample_rate = 48000;          // 0: the source's
  // A rendition's keyframes stand for the source's; the encoder places one
  // itself only where the source has had none for this long.
  std::chrono::nanoseconds keyframe_interval = std::chrono::seconds{2};
  int decoder_threads = 1;  // most frame threads a video decoder may use (the pool's share)
  // Thumbnails are refreshed at most this often.
  std::chrono::nanoseconds thumbnail_interval = std::chrono::seconds{2};
};

}  // namespace mirror::transcode
