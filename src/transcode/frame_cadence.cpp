#include "transcode/frame_cadence.h"

extern "C" {
#include <libavutil/rational.h>
}

#include <algorithm>
#include <cmath>

namespace mirror::transcode {

Rate rate_from_fps(double fps) {
  if (!(fps > 0) || !std::isfinite(fps)) return {};
  const AVRational q = av_d2q(fps, 1001000);
  return {q.num, q.den};
}

FrameCadence::FrameCadence(Rate source, int max_fps) {
  max_fps = std::max(1, max_fps);
  // A source within a hair of the cap keeps its rate: 30000/1001 under 30.
  if (source.valid() && source.value() <= max_fps + 1e-6) {
    output_ = source;
  } else {
    output_ = {max_fps, 1};
  }
  period_ = 90000.0 * output_.den / output_.num;
}

int FrameCadence::frames_per_keyframe(std::chrono::nanoseconds interval) const {
  const double frames = std::chrono::duration<double>(interval).count() * output_.value();
  return std::max(1, static_cast<int>(std::lround(frames)));
}

void FrameCadence::restart(std::int64_t origin90k) {
  started_ = true;
  origin_ = origin90k;
}

std::int64_t FrameCadence::slot_of(std::int64_t pts90k) const {
  return static_cast<std::int64_t>(
      std::floor(static_cast<double>(pts90k - origin_) / period_ + 0.5));
}

std::int64_t FrameCadence::time_of(std::int64_t slot) const {
  return origin_ + std::llround(static_cast<double>(slot) * period_);
}

bool SlotClaims::free(std::int64_t slot) const {
  return std::find(slots_.begin(), slots_.end(), slot) == slots_.end();
}

void SlotClaims::claim(std::int64_t slot) {
  if (free(slot)) slots_.push_back(slot);
  // Bounded whatever the input: far more than any decoder's reorder depth.
  if (slots_.size() > 64) slots_.erase(slots_.begin());
}

void SlotClaims::output(std::int64_t last_output) {
  std::erase_if(slots_, [last_output](std::int64_t s) { return s <= last_output; });
}

}  // namespace mirror::transcode
