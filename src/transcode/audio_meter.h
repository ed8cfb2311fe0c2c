// AudioLevelMeter: the levels a multiview wall shows for each stream, from the
// decoded audio the transcoder has anyway:
// - per channel, the sample peak and the RMS of each 100 ms window, in dBFS
//   (AES17: a full-scale sine reads 0 dBFS RMS, so a sine's RMS equals its
//   peak level);
// - the EBU R128 momentary loudness (ITU-R BS.1770 K-weighting, 400 ms
//   window, updated every 100 ms), in LUFS, with the LFE channel left out and
//   surround channels weighted 1.41.
// Silence reads -inf.
//
// Threads: configure() and add() from the transcoder's worker (one at a
// time); levels() from any thread (a snapshot behind a mutex, written once per
// 100 ms).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

namespace mirror::transcode {

struct AudioLevels {
  bool valid = false;  // at least one window has been measured
  int sample_rate = 0;
  std::vector<double> peak_dbfs;  // per channel
  std::vector<double> rms_dbfs;   // per channel
  double momentary_lufs = 0;      // -inf until 400 ms have been measured
  std::chrono::steady_clock::time_point updated{};
};

// One second-order IIR section (direct form I), coefficients normalised by a0.
struct Biquad {
  double b0 = 1, b1 = 0, b2 = 0, a1 = 0, a2 = 0;
  double x1 = 0, x2 = 0, y1 = 0, y2 = 0;
  double process(double x) {
    const double y = b0 * x + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2;
    x2 = x1;
    x1 = x;
    y2 = y1;
    y1 = y;
    return y;
  }
};

// The two stages of the BS.1770 K-weighting at `sample_rate`: the high shelf
// and the high-pass, designed for any rate from their analogue prototypes.
std::array<Biquad, 2> k_weighting(int sample_rate);

class AudioLevelMeter {
 public:
  // `weights`: per channel, its BS.1770 weight (0 leaves it out: LFE).
  void configure(int sample_rate, std::vector<double> weights);
  // Planar float samples, as the AAC decoder gives them.
  void add(const float* const* planes, int channels, int samples);

  AudioLevels levels() const;

 private:
  void finish_window();

  int sample_rate_ = 0;
  int window_samples_ = 0;
  std::vector<double> weights_;
  std::vector<std::array<Biquad, 2>> filters_;
  std::vector<float> peak_;
  std::vector<double> sum_squares_;
  std::vector<double> weighted_squares_;
  int filled_ = 0;
  std::deque<double> blocks_;  // K-weighted power of the last four 100 ms windows

  mutable std::mutex mutex_;
  AudioLevels levels_;
};

}  // namespace mirror::transcode
