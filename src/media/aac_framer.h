// AacFramer: turns the ADTS stream of one AAC track, as it comes out of PES
// packets, into MediaFrames of one raw AAC frame each (ADTS header stripped),
// timed in the track's sample rate.
//
// A PES usually carries several ADTS frames and a frame may straddle two PES
// packets; the unfinished tail (at most one ADTS frame, 8191 bytes) is carried
// to the next push. Bytes that are not a valid ADTS header are skipped until the
// next sync word (counted once per loss of sync).
//
// Timing: the first frame that starts in a push takes the push's PTS, converted
// from 90 kHz to the sample rate; every other frame follows its predecessor by
// 1024 samples. A converted PTS within 2 samples of that expectation is taken to
// be rounding (90 kHz cannot express most frame durations exactly) and the
// expectation is kept, so durations stay exactly 1024.
//
// Threads: one framer per audio track, used from that track's ingest thread
// only; the callback runs inside push() and must not call back into the framer.
#pragma once

#include "media/aac.h"
#include "media/media_frame.h"
#include "media/timestamp.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace mirror::media {

struct AacFramerCounters {
  std::uint64_t frames = 0;
  std::uint64_t sync_errors = 0;    // times the stream lost sync
  std::uint64_t skipped_bytes = 0;  // bytes skipped to find the next sync word
  // Frames with more than one raw data block (not representable as one MP4
  // sample each without a CRC-protected block index), or cut short by flush().
  std::uint64_t dropped_frames = 0;
  std::uint64_t config_changes = 0;  // after the first configuration
};

class AacFramer {
 public:
  using FrameCallback = std::function<void(MediaFrame)>;

  static constexpr int kSamplesPerFrame = 1024;

  explicit AacFramer(FrameCallback on_frame, std::uint32_t track = 1);

  // One chunk of ADTS bytes (normally one PES payload) and its PES PTS in 90 kHz
  // units (kNoTimestamp when the PES had none).
  void push(std::span<const std::uint8_t> adts, std::int64_t pts_90k,
            std::chrono::system_clock::time_point arrival);
  // Drops a carried partial frame (the stream ended or broke).
  void flush();
  // A break in the stream: flush() and forget the timeline.
  void reset();

  const AacFramerCounters& counters() const noexcept { return counters_; }
  const CodecConfigPtr& config() const noexcept { return config_; }

 private:
  // Completes the carried frame from the start of `adts`, advancing `pos`; false
  // when `adts` ends first (everything went into the carry).
  bool finish_carry(std::span<const std::uint8_t> adts, std::size_t& pos);
  // Frames in `data` from `pos` on; returns where the unfinished tail begins.
  std::size_t frame_in_place(std::span<const std::uint8_t> data, std::size_t pos);
  // `pes_pts_90k`: the PES timestamp when this frame is the first to start in its
  // PES, else kNoTimestamp.
  void emit(const AdtsHeader& header, std::span<const std::uint8_t> frame, std::int64_t pes_pts_90k,
            std::chrono::system_clock::time_point arrival);
  void lost_sync(std::size_t skipped);

  FrameCallback on_frame_;
  std::uint32_t track_;
  std::vector<std::uint8_t> carry_;  // a partial ADTS frame, starting with its sync word

  // Timing of the push being framed.
  std::int64_t push_pts_90k_ = kNoTimestamp;
  bool push_pts_used_ = true;
  std::chrono::system_clock::time_point push_arrival_{};
  std::chrono::system_clock::time_point carry_arrival_{};
  std::int64_t carry_pts_90k_ = kNoTimestamp;  // PES timestamp of the carried frame
  bool has_next_pts_ = false;
  std::int64_t next_pts_ = 0;  // in config_->timescale units
  bool in_sync_ = true;

  int object_type_ = 0;  // what config_ was built from
  int sample_rate_index_ = 0;
  int channel_config_ = 0;
  CodecConfigPtr config_;
  AacFramerCounters counters_;
};

// 90 kHz to `rate` units, rounded to the nearest (halves away from minus infinity).
std::int64_t rescale_from_90k(std::int64_t ts_90k, int rate) noexcept;

}  // namespace mirror::media
