// FrameCadence: the frame rate of a rendition and which source pictures fill
// it. The rendition runs on a constant-rate grid of slots starting at the
// first picture after a break; each slot takes the first source picture that
// falls into it (rounded to the nearest slot), surplus pictures are dropped,
// and every picture's output time is its slot's, so the rendition is
// constant-rate even when the source's timestamps jitter.
//
// A source at or below the cap keeps its own rate (29.97 stays 29.97); a
// faster one is brought down to the cap (50 -> 30 keeps 3 pictures in 5).
// Whether a picture is wanted is known from its timestamp alone, before it is
// decoded, so a picture nothing else refers to need not be decoded at all.
//
// Threads: a value owned by its transcoder.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

namespace mirror::transcode {

struct Rate {
  int num = 0;
  int den = 1;
  double value() const { return den != 0 ? static_cast<double>(num) / den : 0.0; }
  bool valid() const { return num > 0 && den > 0; }
  bool operator==(const Rate&) const = default;
};

// The nearest simple fraction (29.97002997 -> 30000/1001); invalid for <= 0.
Rate rate_from_fps(double fps);

class FrameCadence {
 public:
  FrameCadence() = default;
  // `source`: the source's frame rate (invalid when unknown: the cap is used
  // and every picture is taken). `max_fps`: the rendition's cap.
  FrameCadence(Rate source, int max_fps);

  Rate output_rate() const { return output_; }
  // Ticks (90 kHz) between two output frames.
  double period90k() const { return period_; }
  // Output frames from one keyframe to the next for `interval` (at least 1).
  int frames_per_keyframe(std::chrono::nanoseconds interval) const;

  // Starts the grid at `origin90k`: the first picture after a break.
  void restart(std::int64_t origin90k);
  bool started() const { return started_; }

  // The slot of a source picture at `pts90k`; nullopt when an earlier
  // picture of the source falls into the same slot (the picture is surplus).
  std::optional<std::int64_t> slot_of(std::int64_t pts90k) const;
  // The output time (90 kHz) of a slot.
  std::int64_t time_of(std::int64_t slot) const;

 private:
  std::int64_t nearest_slot(double pts90k) const;

  Rate output_{30, 1};
  double period_ = 3000;         // output, 90 kHz ticks
  double source_period_ = 0;     // 0: unknown (every picture is its own candidate)
  bool started_ = false;
  std::int64_t origin_ = 0;
};

}  // namespace mirror::transcode
