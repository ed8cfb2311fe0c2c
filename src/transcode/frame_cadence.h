// FrameCadence: the frame rate of a rendition and where source pictures go
// in it. The rendition runs on a constant-rate grid of slots starting at the
// first picture after a break; a picture belongs to the slot nearest to its
// timestamp, each slot is filled once, surplus pictures are dropped, and
// every picture's output time is its slot's, so the rendition is
// constant-rate even when the source's timestamps jitter.
//
// A source at or below the cap keeps its own rate (29.97 stays 29.97); a
// faster one is brought down to the cap (50 -> 30 keeps 3 pictures in 5).
// The slot of a picture is known from its timestamp alone, before it is
// decoded: a picture nothing else refers to need not be decoded at all when
// its slot is already taken (see SlotClaims).
//
// Threads: a value owned by its transcoder.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

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

  // The slot nearest to a source picture at `pts90k`.
  std::int64_t slot_of(std::int64_t pts90k) const;
  // The output time (90 kHz) of a slot.
  std::int64_t time_of(std::int64_t slot) const;

 private:
  Rate output_{30, 1};
  double period_ = 3000;  // output, 90 kHz ticks
  bool started_ = false;
  std::int64_t origin_ = 0;
};

// The slots of one rendition that already have a picture on its way through
// the decoder, so that a second picture for the same slot is decoded only if
// something else needs it. Decoders see reference pictures before the
// non-reference ones around them (B-pyramids), so the pictures left out are
// mostly the cheap non-reference ones: 2 of 5 at 50 -> 30 fps with x265's
// default GOP, against 1 of 5 if the first picture of each slot were taken.
class SlotClaims {
 public:
  // True when `slot` (ahead of `last_output`) has no picture yet.
  bool free(std::int64_t slot) const;
  void claim(std::int64_t slot);
  // Forgets slots at or before the last one output.
  void output(std::int64_t last_output);
  void clear() { slots_.clear(); }

 private:
  std::vector<std::int64_t> slots_;  // a few pictures' worth: the decoder's reorder depth
};

}  // namespace mirror::transcode
