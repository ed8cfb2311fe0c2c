#include "transcode/audio_meter.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

namespace mirror::transcode {
namespace {

constexpr double kMinusInfinity = -std::numeric_limits<double>::infinity();
// AES17: the RMS of a full-scale sine is 0 dBFS.
const double kSineRmsOffsetDb = 20 * std::log10(std::numbers::sqrt2);

double to_db(double amplitude) { return amplitude > 0 ? 20 * std::log10(amplitude) : kMinusInfinity; }

}  // namespace

std::array<Biquad, 2> k_weighting(int sample_rate) {
  const double fs = sample_rate > 0 ? sample_rate : 48000;
  std::array<Biquad, 2> out;
  {
    // Stage 1: high shelf, +4 dB above about 1.7 kHz (head diffraction).
    const double f0 = 1681.974450955533, gain_db = 3.999843853973347, q = 0.7071752369554196;
    const double k = std::tan(std::numbers::pi * f0 / fs);
    const double vh = std::pow(10.0, gain_db / 20.0);
    const double vb = std::pow(vh, 0.4996667741545416);
    const double a0 = 1.0 + k / q + k * k;
    out[0].b0 = (vh + vb * k / q + k * k) / a0;
    out[0].b1 = 2.0 * (k * k - vh) / a0;
    out[0].b2 = (vh - vb * k / q + k * k) / a0;
    out[0].a1 = 2.0 * (k * k - 1.0) / a0;
    out[0].a2 = (1.0 - k / q + k * k) / a0;
  }
  {
    // Stage 2: the RLB high-pass at about 38 Hz.
    const double f0 = 38.13547087602444, q = 0.5003270373238773;
    const double k = std::tan(std::numbers::pi * f0 / fs);
    const double a0 = 1.0 + k / q + k * k;
    out[1].b0 = 1.0;
    out[1].b1 = -2.0;
    out[1].b2 = 1.0;
    out[1].a1 = 2.0 * (k * k - 1.0) / a0;
    out[1].a2 = (1.0 - k / q + k * k) / a0;
  }
  return out;
}

void AudioLevelMeter::configure(int sample_rate, std::vector<double> weights) {
  sample_rate_ = sample_rate;
  window_samples_ = std::max(1, sample_rate / 10);
  weights_ = std::move(weights);
  const std::size_t n = weights_.size();
  filters_.assign(n, k_weighting(sample_rate));
  peak_.assign(n, 0.0F);
  sum_squares_.assign(n, 0.0);
  weighted_squares_.assign(n, 0.0);
  filled_ = 0;
  blocks_.clear();
}

void AudioLevelMeter::add(const float* const* planes, int channels, int samples) {
  if (sample_rate_ <= 0 || channels != static_cast<int>(weights_.size())) return;
  int done = 0;
  while (done < samples) {
    const int take = std::min(samples - done, window_samples_ - filled_);
    for (int c = 0; c < channels; ++c) {
      const float* x = planes[c] + done;
      float peak = peak_[c];
      double squares = 0;
      double weighted = 0;
      auto& f = filters_[c];
      for (int i = 0; i < take; ++i) {
        const float v = x[i];
        peak = std::max(peak, std::abs(v));
        squares += static_cast<double>(v) * v;
        const double z = f[1].process(f[0].process(v));
        weighted += z * z;
      }
      peak_[c] = peak;
      sum_squares_[c] += squares;
      weighted_squares_[c] += weighted;
    }
    filled_ += take;
    done += take;
    if (filled_ == window_samples_) finish_window();
  }
}

void AudioLevelMeter::finish_window() {
  const std::size_t n = weights_.size();
  AudioLevels next;
  next.valid = true;
  next.sample_rate = sample_rate_;
  next.peak_dbfs.resize(n);
  next.rms_dbfs.resize(n);
  double power = 0;
  for (std::size_t c = 0; c < n; ++c) {
    next.peak_dbfs[c] = to_db(peak_[c]);
    const double rms = std::sqrt(sum_squares_[c] / window_samples_);
    next.rms_dbfs[c] = rms > 0 ? to_db(rms) + kSineRmsOffsetDb : kMinusInfinity;
    power += weights_[c] * weighted_squares_[c] / window_samples_;
    peak_[c] = 0;
    sum_squares_[c] = 0;
    weighted_squares_[c] = 0;
  }
  filled_ = 0;
  blocks_.push_back(power);
  if (blocks_.size() > 4) blocks_.pop_front();
  next.momentary_lufs = kMinusInfinity;
  if (blocks_.size() == 4) {
    double mean = 0;
    for (double b : blocks_) mean += b / 4;
    if (mean > 0) next.momentary_lufs = -0.691 + 10 * std::log10(mean);
  }
  next.updated = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  levels_ = std::move(next);
}

AudioLevels AudioLevelMeter::levels() const {
  std::lock_guard lock(mutex_);
  return levels_;
}

}  // namespace mirror::transcode
