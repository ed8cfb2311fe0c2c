// Timeline breaks a source does not flag (an encoder restart, a PCR reset,
// a looped file): a track whose time goes back, or leaps forward, by more
// than a limit. A track that leaps forward to where the other track is
// meanwhile has had a gap (an audio encoder fallen silent), not a break.
// The packager and the transcoder each keep one, with their own limits, so
// that they agree on what a gap is.
//
// Threads: a TimelineWatch belongs to one consumer of one stream (a
// packager, a transcoder) and is used from that consumer's thread only.
#pragma once

#include "media/media_frame.h"

#include <cstdint>
#include <optional>

namespace mirror::media {

inline constexpr std::int64_t k90kHz = 90000;

// `t` in `timescale` units, as 90 kHz ticks (0 or 90000: unchanged).
std::int64_t to_90k(std::int64_t t, std::uint32_t timescale);

class TimelineWatch {
 public:
  // 90 kHz ticks. A leap forward lands "where the other track is" within
  // the smaller of the two.
  struct Limits {
    std::int64_t back = k90kHz;
    std::int64_t forward = k90kHz;
  };
  explicit TimelineWatch(Limits limits) : limits_(limits) {}

  // Notes the time of `frame` (video: decode time; audio: presentation
  // time) and says whether it breaks its track's timeline. A frame without
  // a configuration carries no usable time: false, and nothing noted.
  bool jumped(const MediaFrame& frame);
  // Both tracks start a new timeline at `frame` (after a break).
  void restart(const MediaFrame& frame);
  // Forgets both tracks' times.
  void reset() {
    last_video_.reset();
    last_audio_.reset();
  }
  // The last noted time of a track, 90 kHz.
  std::optional<std::int64_t> last(TrackKind kind) const {
    return kind == TrackKind::kVideo ? last_video_ : last_audio_;
  }

 private:
  Limits limits_;
  std::optional<std::int64_t> last_video_;
  std::optional<std::int64_t> last_audio_;
};

}  // namespace mirror::media
