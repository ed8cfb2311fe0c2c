// Mirror's EBU R128 momentary loudness against FFmpeg's ebur128 filter, on
// the same samples, window by window.
#include "transcode/audio_meter.h"

extern "C" {
#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavutil/channel_layout.h>
#include <libavutil/dict.h>
#include <libavutil/frame.h>
#include <libavutil/opt.h>
}

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <numbers>
#include <random>
#include <string>
#include <vector>

namespace mirror::transcode {
namespace {

// ebur128 takes 48 kHz only; blocks of 100 ms.
constexpr int kRate = 48000;
constexpr int kBlock = 4800;

struct Graph {
  AVFilterGraph* graph = nullptr;
  AVFilterContext* source = nullptr;
  AVFilterContext* sink = nullptr;
  ~Graph() { avfilter_graph_free(&graph); }
};

bool build(Graph& g, const char* layout) {
  g.graph = avfilter_graph_alloc();
  const std::string args = std::string("sample_rate=48000:sample_fmt=fltp:channel_layout=") + layout +
                           ":time_base=1/48000";
  if (avfilter_graph_create_filter(&g.source, avfilter_get_by_name("abuffer"), "in", args.c_str(), nullptr,
                                   g.graph) < 0) {
    return false;
  }
  AVFilterContext* meter = nullptr;
  if (avfilter_graph_create_filter(&meter, avfilter_get_by_name("ebur128"), "meter", "metadata=1", nullptr,
                                   g.graph) < 0) {
    return false;
  }
  if (avfilter_graph_create_filter(&g.sink, avfilter_get_by_name("abuffersink"), "out", nullptr, nullptr,
                                   g.graph) < 0) {
    return false;
  }
  return avfilter_link(g.source, 0, meter, 0) == 0 && avfilter_link(meter, 0, g.sink, 0) == 0 &&
         avfilter_graph_config(g.graph, nullptr) >= 0;
}

// Feeds the same blocks to both and compares the momentary loudness after
// each block, from the fifth block on (the first full 400 ms).
void compare(const char* layout, const std::vector<double>& weights,
             const std::function<float(int channel, std::int64_t sample)>& signal, int blocks) {
  Graph g;
  ASSERT_TRUE(build(g, layout)) << layout;
  AudioLevelMeter mine;
  mine.configure(kRate, weights);
  const int channels = static_cast<int>(weights.size());
  int compared = 0;
  for (int b = 0; b < blocks; ++b) {
    AVFrame* frame = av_frame_alloc();
    frame->nb_samples = kBlock;
    frame->format = AV_SAMPLE_FMT_FLTP;
    frame->sample_rate = kRate;
    av_channel_layout_from_string(&frame->ch_layout, layout);
    frame->pts = static_cast<std::int64_t>(b) * kBlock;
    ASSERT_EQ(av_frame_get_buffer(frame, 0), 0);
    std::vector<const float*> planes;
    for (int c = 0; c < channels; ++c) {
      auto* p = reinterpret_cast<float*>(frame->extended_data[c]);
      for (int i = 0; i < kBlock; ++i) p[i] = signal(c, static_cast<std::int64_t>(b) * kBlock + i);
      planes.push_back(p);
    }
    mine.add(planes.data(), channels, kBlock);
    ASSERT_GE(av_buffersrc_add_frame_flags(g.source, frame, AV_BUFFERSRC_FLAG_KEEP_REF), 0);
    av_frame_free(&frame);
    AVFrame* out = av_frame_alloc();
    while (av_buffersink_get_frame(g.sink, out) >= 0) {
      const AVDictionaryEntry* m = av_dict_get(out->metadata, "lavfi.r128.M", nullptr, 0);
      if (m != nullptr && b >= 4) {
        const double theirs = std::atof(m->value);
        const double ours = mine.levels().momentary_lufs;
        if (theirs > -70) {  // below that ebur128 prints its floor
          EXPECT_NEAR(ours, theirs, 0.05) << layout << " block " << b;
          ++compared;
        }
      }
      av_frame_unref(out);
    }
    av_frame_free(&out);
  }
  EXPECT_GT(compared, blocks / 2) << layout;
}

TEST(LoudnessReferenceTest, StereoNoiseMatchesEbur128) {
  std::mt19937 rng(7);
  std::normal_distribution<float> noise(0.0F, 0.05F);
  std::vector<float> samples(2 * kRate * 3);
  for (auto& s : samples) s = noise(rng);
  compare("stereo", {1.0, 1.0}, [&](int c, std::int64_t i) { return samples[static_cast<std::size_t>(i * 2 + c)]; },
          30);
}

TEST(LoudnessReferenceTest, MonoSweepMatchesEbur128) {
  compare("mono", {1.0}, [](int, std::int64_t i) {
    const double t = static_cast<double>(i) / kRate;
    // A sweep from 50 Hz to 12 kHz: every part of the K-weighting curve.
    return static_cast<float>(0.3 * std::sin(2 * std::numbers::pi * (50 * t + 2000 * t * t)));
  }, 30);
}

TEST(LoudnessReferenceTest, FiveOneLeavesOutLfeAndWeighsSurroundsLikeEbur128) {
  compare("5.1(side)", {1.0, 1.0, 1.0, 0.0, 1.41, 1.41}, [](int c, std::int64_t i) {
    const double t = static_cast<double>(i) / kRate;
    const double freq = 200.0 * (c + 1);
    const double level = c == 3 ? 0.8 : 0.1 + 0.05 * c;  // a loud LFE must not count
    return static_cast<float>(level * std::sin(2 * std::numbers::pi * freq * t) * (0.6 + 0.4 * std::sin(t * 3)));
  }, 30);
}

}  // namespace
}  // namespace mirror::transcode
