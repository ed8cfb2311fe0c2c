// AudioTranscoder: a stream's AAC audio to AAC-LC stereo at the configured
// bitrate and sample rate (FFmpeg's native encoder), and the decoded samples
// to the level meter on the way.
//
// Output timestamps are continuous for the stream's life: every output frame
// follows the one before it, sample for sample. The source's clock still
// rules where audio goes, so audio stays in sync with video: a hole in the
// source (lost frames) longer than one AAC frame is filled with silence, and
// audio that overlaps what was already written (a source stepping back) is
// dropped.
//
// Threads: owned by its transcoder (one worker at a time).
#pragma once

#include "core/errors.h"
#include "media/media_frame.h"
#include "transcode/audio_meter.h"
#include "transcode/av_handles.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace mirror::transcode {

class AudioTranscoder final : public av::CodecErrorCounter {
 public:
  struct Options {
    std::int64_t bitrate = 64000;
    int sample_rate = 48000;  // 0: the source's
  };
  using FrameSink = std::function<void(media::MediaFrame)>;

  // `meter` (optional) is configured for the source's channels.
  static core::Result<std::unique_ptr<AudioTranscoder>> open(const media::CodecConfig& source,
                                                             const Options& options, FrameSink sink,
                                                             AudioLevelMeter* meter);
  ~AudioTranscoder();
  AudioTranscoder(const AudioTranscoder&) = delete;
  AudioTranscoder& operator=(const AudioTranscoder&) = delete;

  // One AAC frame of the source (pts in its sample rate). False when the
  // decoder refused it (counted; the stream goes on).
  bool transcode(const media::MediaFrame& frame);
  // Encodes what is buffered (the last frame padded with silence) and every
  // frame still inside the encoder.
  void drain();

  std::uint64_t errors() const { return refused_ + logged_errors(); }
  int output_sample_rate() const { return out_rate_; }
  std::uint64_t frames_out() const { return frames_out_; }
  std::uint64_t silence_inserted() const { return silence_samples_; }

 private:
  explicit AudioTranscoder(FrameSink sink) : sink_(std::move(sink)) {}
  void place(const AVFrame& decoded);
  void encode_available(bool final);
  void receive();

  FrameSink sink_;
  AudioLevelMeter* meter_ = nullptr;
  av::CodecContextPtr decoder_;
  av::CodecContextPtr encoder_;
  av::SwrPtr resampler_;
  av::AudioFifoPtr fifo_;
  av::PacketPtr packet_;
  av::FramePtr decoded_;
  av::FramePtr chunk_;
  media::CodecConfigPtr output_config_;
  int in_rate_ = 48000;
  int out_rate_ = 48000;
  int frame_size_ = 1024;
  bool anchored_ = false;
  std::int64_t written_end_ = 0;  // output samples: where the next samples go
  std::int64_t fifo_start_ = 0;   // output samples: pts of the fifo's first sample
  std::chrono::system_clock::time_point last_arrival_{};
  std::uint64_t refused_ = 0;
  std::uint64_t frames_out_ = 0;
  std::uint64_t silence_samples_ = 0;
  int meter_rate_ = 0, meter_channels_ = 0;  // what the meter is set up for
  int swr_rate_ = 0, swr_format_ = -1, swr_channels_ = 0;  // what resampler_ converts from
  std::vector<float> left_, right_;
};

}  // namespace mirror::transcode
