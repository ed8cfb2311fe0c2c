// Timestamp unwrapping: MPEG-TS PTS/DTS are 33-bit and RTP timestamps 32-bit
// counters that wrap (every 26.5 hours at 90 kHz, or sooner from a random
// start); MediaFrame carries them as continuous 64-bit values.
//
// Threads: a TimestampUnwrapper belongs to one track of one source and is used
// from that source's thread only.
#pragma once

#include <cstdint>
#include <limits>

namespace mirror::media {

// "This packet carries no timestamp": a PES without PTS, an unknown DTS.
inline constexpr std::int64_t kNoTimestamp = std::numeric_limits<std::int64_t>::min();

class TimestampUnwrapper {
 public:
  // `bits`: width of the wrapped counter, 1..62 (33 for PTS/DTS, 32 for RTP).
  explicit TimestampUnwrapper(int bits) noexcept;

  // The continuous value of `wrapped` (only its low `bits` bits are used). The
  // first value is returned as is; every later one is placed at the shortest
  // distance from the previous result: a step of more than half the range is a
  // wrap in that direction, a smaller step backwards (B-frame PTS) stays a step
  // backwards.
  std::int64_t unwrap(std::uint64_t wrapped) noexcept;

  // Forget the history: the next value starts a new timeline.
  void reset() noexcept { has_last_ = false; }

  bool has_last() const noexcept { return has_last_; }
  std::int64_t last() const noexcept { return last_; }
  int bits() const noexcept { return bits_; }

 private:
  int bits_;
  std::uint64_t mask_;
  std::int64_t range_;
  bool has_last_ = false;
  std::int64_t last_ = 0;
};

}  // namespace mirror::media
