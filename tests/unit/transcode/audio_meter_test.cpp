#include "transcode/audio_meter.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <random>
#include <vector>

namespace mirror::transcode {
namespace {

// Feeds `seconds` of a sine of `amplitude` (peak, full scale 1.0) at `freq`
// to every channel, in 1024-sample frames.
void feed_sine(AudioLevelMeter& meter, int rate, int channels, double amplitude, double freq, double seconds) {
  const int total = static_cast<int>(rate * seconds);
  std::vector<std::vector<float>> planes(static_cast<std::size_t>(channels), std::vector<float>(1024));
  std::vector<const float*> pointers;
  for (auto& p : planes) pointers.push_back(p.data());
  for (int done = 0; done < total; done += 1024) {
    const int n = std::min(1024, total - done);
    for (auto& p : planes) {
      for (int i = 0; i < n; ++i) {
        p[static_cast<std::size_t>(i)] =
            static_cast<float>(amplitude * std::sin(2 * std::numbers::pi * freq * (done + i) / rate));
      }
    }
    meter.add(pointers.data(), channels, n);
  }
}

TEST(AudioLevelMeterTest, MinusTwentyDbfsSineReadsMinusTwentyPeakAndRms) {
  AudioLevelMeter meter;
  meter.configure(48000, {1.0, 1.0});
  feed_sine(meter, 48000, 2, std::pow(10.0, -20.0 / 20), 1000, 1.0);
  const auto l = meter.levels();
  ASSERT_TRUE(l.valid);
  ASSERT_EQ(l.peak_dbfs.size(), 2u);
  for (int c = 0; c < 2; ++c) {
    EXPECT_NEAR(l.peak_dbfs[c], -20.0, 0.05);
    EXPECT_NEAR(l.rms_dbfs[c], -20.0, 0.05);
  }
}

TEST(AudioLevelMeterTest, StereoSineAt997HzReadsItsLevelInLufs) {
  // BS.1770: a 997 Hz sine at -20 dBFS in both channels is -20 LUFS.
  AudioLevelMeter meter;
  meter.configure(48000, {1.0, 1.0});
  feed_sine(meter, 48000, 2, std::pow(10.0, -20.0 / 20), 997, 2.0);
  EXPECT_NEAR(meter.levels().momentary_lufs, -20.0, 0.1);
}

TEST(AudioLevelMeterTest, LfeIsLeftOutOfTheLoudness) {
  AudioLevelMeter with_lfe;
  with_lfe.configure(48000, {1.0, 1.0, 0.0});
  feed_sine(with_lfe, 48000, 3, 0.1, 997, 1.0);
  AudioLevelMeter stereo;
  stereo.configure(48000, {1.0, 1.0});
  feed_sine(stereo, 48000, 2, 0.1, 997, 1.0);
  EXPECT_NEAR(with_lfe.levels().momentary_lufs, stereo.levels().momentary_lufs, 0.01);
  EXPECT_EQ(with_lfe.levels().peak_dbfs.size(), 3u);
}

TEST(AudioLevelMeterTest, SilenceIsMinusInfinity) {
  AudioLevelMeter meter;
  meter.configure(44100, {1.0});
  feed_sine(meter, 44100, 1, 0.0, 1000, 0.5);
  const auto l = meter.levels();
  ASSERT_TRUE(l.valid);
  EXPECT_TRUE(std::isinf(l.peak_dbfs[0]) && l.peak_dbfs[0] < 0);
  EXPECT_TRUE(std::isinf(l.rms_dbfs[0]) && l.rms_dbfs[0] < 0);
  EXPECT_TRUE(std::isinf(l.momentary_lufs) && l.momentary_lufs < 0);
}

TEST(AudioLevelMeterTest, NothingBeforeTheFirstWindowAndNoLoudnessBefore400Ms) {
  AudioLevelMeter meter;
  meter.configure(48000, {1.0, 1.0});
  EXPECT_FALSE(meter.levels().valid);
  feed_sine(meter, 48000, 2, 0.5, 440, 0.3);
  EXPECT_TRUE(meter.levels().valid);
  EXPECT_TRUE(std::isinf(meter.levels().momentary_lufs));
}

TEST(AudioLevelMeterTest, IgnoresAChannelCountItWasNotSetUpFor) {
  AudioLevelMeter meter;
  meter.configure(48000, {1.0, 1.0});
  feed_sine(meter, 48000, 1, 0.5, 440, 0.5);
  EXPECT_FALSE(meter.levels().valid);
}

TEST(KWeightingTest, PassesMidFrequenciesAndCutsTheLowEnd) {
  auto gain_db = [](int rate, double freq) {
    auto f = k_weighting(rate);
    double power_in = 0, power_out = 0;
    for (int i = 0; i < rate * 2; ++i) {
      const double x = std::sin(2 * std::numbers::pi * freq * i / rate);
      const double y = f[1].process(f[0].process(x));
      if (i > rate) {  // past the filters' settling
        power_in += x * x;
        power_out += y * y;
      }
    }
    return 10 * std::log10(power_out / power_in);
  };
  for (int rate : {44100, 48000, 96000}) {
    EXPECT_NEAR(gain_db(rate, 997), 0.69, 0.05) << rate;    // what -0.691 in the formula undoes
    EXPECT_NEAR(gain_db(rate, 10000), 4.0, 0.2) << rate;    // the high shelf
    EXPECT_LT(gain_db(rate, 20), -5.0) << rate;             // the high-pass
  }
}

}  // namespace
}  // namespace mirror::transcode
