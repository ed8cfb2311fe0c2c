#include "media/timeline_watch.h"

#include <algorithm>
#include <cstdlib>

namespace mirror::media {

std::int64_t to_90k(std::int64_t t, std::uint32_t timescale) {
  if (timescale == k90kHz || timescale == 0) return t;
  return static_cast<std::int64_t>(static_cast<__int128>(t) * k90kHz / timescale);
}

bool TimelineWatch::jumped(const MediaFrame& frame) {
  if (!frame.config || frame.config->timescale == 0) return false;
  const bool video = frame.kind == TrackKind::kVideo;
  const std::int64_t t = to_90k(video ? frame.dts : frame.pts, frame.config->timescale);
  auto& last = video ? last_video_ : last_audio_;
  const auto& other = video ? last_audio_ : last_video_;
  bool jump = false;
  if (last.has_value()) {
    const bool back = *last - t > limits_.back;
    const bool leap = t - *last > limits_.forward;
    const bool gap = leap && other.has_value() && std::llabs(t - *other) <= std::min(limits_.back, limits_.forward);
    jump = back || (leap && !gap);
  }
  last = t;
  return jump;
}

void TimelineWatch::restart(const MediaFrame& frame) {
  reset();
  jumped(frame);
}

}  // namespace mirror::media
