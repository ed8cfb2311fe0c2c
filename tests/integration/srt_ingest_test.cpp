// SRT ingest against real senders (ffmpeg, srt-live-transmit, GStreamer),
// with the ingest service running in this process so that every frame it
// publishes can be checked against ffprobe's view of the same file.
#include "core/logging.h"
#include "ingest/ingest_service.h"
#include "support/fixtures.h"
#include "support/process.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <mutex>
#include <thread>

namespace mirror::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// Collects every frame of every stream from the moment the stream is admitted.
class FrameRecorder {
 public:
  void attach(ingest::StreamTable& table) {
    table.on_stream_added([this](const std::shared_ptr<ingest::LiveStream>& s) {
      std::lock_guard lock(mutex_);
      subs_[s->name()] = s->hub().subscribe("test", 100000);
    });
  }
  // Frames received so far for `name` (drains the subscription).
  std::vector<media::MediaFrame>& frames(const std::string& name) {
    std::lock_guard lock(mutex_);
    auto& out = frames_[name];
    if (auto it = subs_.find(name); it != subs_.end()) {
      while (auto f = it->second->pop()) out.push_back(std::move(*f));
    }
    return out;
  }

 private:
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<ingest::Subscription>> subs_;
  std::map<std::string, std::vector<media::MediaFrame>> frames_;
};

class SrtIngest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists("/usr/bin/ffmpeg")) GTEST_SKIP() << "ffmpeg not installed";
    core::log::init({core::log::Level::kWarn, false, nullptr});
  }

  void start(int max_streams = 25, std::string passphrase = {},
             std::int64_t max_bitrate = 60000000) {
    core::IngestionConfig cfg;
    cfg.srt.port = free_tcp_udp_port();
    cfg.srt.passphrase = std::move(passphrase);
    cfg.srt.max_bitrate = max_bitrate;
    cfg.rtp.enabled = false;
    cfg.max_streams = max_streams;
    cfg.reconnect_delay = 3s;
    service_ = std::make_unique<ingest::IngestService>(cfg, nullptr, metrics_);
    recorder_.attach(service_->streams());
    ASSERT_TRUE(service_->start());
    port_ = service_->srt_port();
  }

  void TearDown() override {
    if (service_) service_->stop(std::chrono::steady_clock::now() + 2s);
  }

  std::string url(const std::string& stream_id, const std::string& extra = "") const {
    return "srt://127.0.0.1:" + std::to_string(port_) + "?mode=caller&pkt_size=1316&streamid=" +
           stream_id + extra;
  }

  // Sends a fixture in real time with ffmpeg; returns its exit status.
  int send_with_ffmpeg(const std::string& file, const std::string& stream_id,
                       const std::string& extra = "") {
    auto r = run({"/usr/bin/ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-i", file,
                  "-c", "copy", "-f", "mpegts", url(stream_id, extra)},
                 {}, {}, 60s);
    return r.status;
  }

  std::shared_ptr<ingest::LiveStream> wait_for_stream(const std::string& name,
                                                     std::chrono::milliseconds timeout = 10s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (auto s = service_->streams().find(name)) return s;
      std::this_thread::sleep_for(20ms);
    }
    return nullptr;
  }

  // Checks the frames of one stream against ffprobe's packets of the file.
  void expect_matches_source(const std::string& name, const std::string& file,
                             const std::string& video_codec_prefix, int width, int height,
                             int gop) {
    auto& frames = recorder_.frames(name);
    const auto pv = probe(file, "v");
    const auto pa = probe(file, "a");
    int video = 0, audio = 0, keys = 0;
    std::int64_t last_video_dts = INT64_MIN, last_audio_pts = INT64_MIN;
    const media::MediaFrame* first_video = nullptr;
    const media::MediaFrame* first_audio = nullptr;
    for (const auto& f : frames) {
      ASSERT_TRUE(f.config);
      if (f.kind == media::TrackKind::kVideo) {
        ++video;
        if (f.keyframe) ++keys;
        EXPECT_GT(f.dts, last_video_dts) << "video dts not increasing at frame " << video;
        last_video_dts = f.dts;
        if (first_video == nullptr) first_video = &f;
      } else {
        ++audio;
        EXPECT_GT(f.pts, last_audio_pts) << "audio pts not increasing at frame " << audio;
        last_audio_pts = f.pts;
        if (first_audio == nullptr) first_audio = &f;
      }
    }
    // The whole file was sent from its first byte. A sender that hangs up may
    // lose what was still in flight, so the last GOP (one second here) of
    // either track may be short; nothing else may be missing.
    EXPECT_LE(video, pv.packets);
    EXPECT_GE(video, pv.packets - gop);
    EXPECT_LE(keys, pv.keyframes);
    EXPECT_GE(keys, pv.keyframes - 1);
    EXPECT_LE(audio, pa.packets);
    EXPECT_GE(audio, pa.packets - 48);  // one second of 48 kHz AAC
    ASSERT_NE(first_video, nullptr);
    ASSERT_NE(first_audio, nullptr);
    EXPECT_TRUE(first_video->keyframe);
    EXPECT_EQ(first_video->config->codec_string.rfind(video_codec_prefix, 0), 0u)
        << first_video->config->codec_string;
    EXPECT_EQ(first_video->config->width, width);
    EXPECT_EQ(first_video->config->height, height);
    EXPECT_EQ(first_audio->config->codec_string, "mp4a.40.2");
    EXPECT_EQ(first_audio->config->sample_rate, 48000);
    EXPECT_EQ(first_audio->config->channels, 2);
    // Audio/video start offset as in the source, within one video frame.
    const double offset = double(first_audio->pts) / first_audio->config->timescale -
                          double(first_video->pts) / first_video->config->timescale;
    const double source_offset = pa.first_pts - pv.first_pts;
    EXPECT_NEAR(offset, source_offset, 1.0 / 25);
  }

  core::MetricsRegistry metrics_;
  std::unique_ptr<ingest::IngestService> service_;
  FrameRecorder recorder_;
  int port_ = 0;
};

TEST_F(SrtIngest, FfmpegH264AacPlainStreamId) {
  start();
  const auto file = h264_aac_720p30_ts();
  ASSERT_FALSE(file.empty());
  EXPECT_EQ(send_with_ffmpeg(file, "cam1"), 0);
  auto s = wait_for_stream("cam1");
  ASSERT_TRUE(s);
  std::this_thread::sleep_for(300ms);
  expect_matches_source("cam1", file, "avc1.64", 1280, 720, 30);
  auto j = s->to_json(true);
  EXPECT_EQ(j["protocol"], "srt");
  EXPECT_GT(j["bytes"].get<double>(), 100000);
  EXPECT_EQ(j["video"]["width"], 1280);
}

TEST_F(SrtIngest, FfmpegHevcAacAccessControlStreamId) {
  start();
  const auto file = hevc_aac_360p25_ts();
  ASSERT_FALSE(file.empty());
  EXPECT_EQ(send_with_ffmpeg(file, "#!::r=hevc1,m=publish"), 0);
  ASSERT_TRUE(wait_for_stream("hevc1"));
  std::this_thread::sleep_for(300ms);
  expect_matches_source("hevc1", file, "hvc1.1.", 640, 360, 25);
}

TEST_F(SrtIngest, PassphraseIsRequiredAndChecked) {
  start(25, "correct-horse-battery");
  const auto file = h264_aac_720p30_ts();
  ASSERT_FALSE(file.empty());
  EXPECT_NE(send_with_ffmpeg(file, "nopass"), 0);
  EXPECT_NE(send_with_ffmpeg(file, "wrongpass", "&passphrase=wrong-horse-battery&pbkeylen=16"), 0);
  EXPECT_FALSE(service_->streams().find("nopass"));
  EXPECT_FALSE(service_->streams().find("wrongpass"));
  EXPECT_EQ(send_with_ffmpeg(file, "goodpass", "&passphrase=correct-horse-battery&pbkeylen=16"), 0);
  ASSERT_TRUE(wait_for_stream("goodpass"));
  std::this_thread::sleep_for(300ms);
  expect_matches_source("goodpass", file, "avc1.64", 1280, 720, 30);
}

TEST_F(SrtIngest, SrtLiveTransmitRelaysATsFile) {
  if (!fs::exists("/usr/bin/srt-live-transmit")) GTEST_SKIP() << "srt-tools not installed";
  start();
  const auto file = h264_aac_720p30_ts();
  ASSERT_FALSE(file.empty());
  // ffmpeg paces the file in real time; srt-live-transmit is the SRT sender.
  // srt-live-transmit lingers after its input ends; it is stopped once the
  // 4 s file has been paced through.
  auto r = run({"/bin/sh", "-c",
                "ffmpeg -hide_banner -loglevel error -re -i " + file +
                    " -c copy -f mpegts - | timeout -k 2 -s INT 7 srt-live-transmit -q -a:no file://con "
                    "\"srt://127.0.0.1:" + std::to_string(port_) + "?streamid=relay1\""},
               {}, {}, 60s);
  ASSERT_TRUE(wait_for_stream("relay1"));
  std::this_thread::sleep_for(300ms);
  expect_matches_source("relay1", file, "avc1.64", 1280, 720, 30);
}

TEST_F(SrtIngest, GstreamerSrtsink) {
  if (!fs::exists("/usr/bin/gst-launch-1.0")) GTEST_SKIP() << "GStreamer not installed";
  start();
  auto r = run({"/usr/bin/gst-launch-1.0", "-q", "videotestsrc", "is-live=true", "num-buffers=60",
                "!", "video/x-raw,format=I420,width=320,height=240,framerate=30/1", "!", "x264enc",
                "tune=zerolatency", "key-int-max=30", "!", "h264parse", "config-interval=-1", "!",
                "mpegtsmux", "alignment=7", "!", "srtsink",
                "uri=srt://127.0.0.1:" + std::to_string(port_) + "?streamid=gst1"},
               {}, {}, 60s);
  auto s = wait_for_stream("gst1");
  ASSERT_TRUE(s) << r.err;
  std::this_thread::sleep_for(500ms);
  auto& frames = recorder_.frames("gst1");
  // 60 buffers encoded; the encoder's last few may not be flushed through the mux.
  EXPECT_GE(frames.size(), 50u);
  EXPECT_LE(frames.size(), 60u);
  ASSERT_FALSE(frames.empty());
  EXPECT_EQ(frames[0].config->width, 320);
  EXPECT_TRUE(frames[0].keyframe);
}

TEST_F(SrtIngest, ReconnectWithinTheDelayKeepsTheStream) {
  start();
  const auto file = hevc_aac_360p25_ts();
  ASSERT_FALSE(file.empty());
  EXPECT_EQ(send_with_ffmpeg(file, "again"), 0);
  auto first = wait_for_stream("again");
  ASSERT_TRUE(first);
  const auto frames_before = recorder_.frames("again").size();
  EXPECT_EQ(send_with_ffmpeg(file, "again"), 0);
  auto second = service_->streams().find("again");
  ASSERT_TRUE(second);
  EXPECT_EQ(first, second);
  std::this_thread::sleep_for(300ms);
  auto& frames = recorder_.frames("again");
  ASSERT_GT(frames.size(), frames_before);
  EXPECT_TRUE(frames[frames_before].discontinuity);
}

// A stream's metric series stay while its publisher may come back and are
// freed once the reconnect window (3 s here) has passed: a server that
// sees thousands of short-lived streams keeps its /metrics bounded.
TEST_F(SrtIngest, MetricSeriesOfAnEndedStreamAreFreedAfterTheReconnectWindow) {
  start();
  const auto file = hevc_aac_360p25_ts();
  ASSERT_FALSE(file.empty());
  EXPECT_EQ(send_with_ffmpeg(file, "brief"), 0);
  ASSERT_TRUE(wait_for_stream("brief"));
  const std::string label = "stream=\"brief\"";
  // The publisher has gone; the stream waits for it to come back.
  EXPECT_NE(metrics_.render().find(label), std::string::npos);
  ASSERT_TRUE(eventually([&] { return !service_->streams().find("brief"); }, 10s));
  // The series go just after the stream leaves the table, on the same
  // housekeeping pass: wait for that, not for a fixed time.
  EXPECT_TRUE(eventually([&] { return metrics_.render().find(label) == std::string::npos; }, 5s)) << metrics_.render();
  const std::string after = metrics_.render();
  EXPECT_NE(after.find("mirror_srt_"), std::string::npos);  // the families themselves stay
}

TEST_F(SrtIngest, StreamsBeyondMaxStreamsAreRefusedInTheHandshake) {
  start(1);
  const auto file = hevc_aac_360p25_ts();
  ASSERT_FALSE(file.empty());
  Process first({"/usr/bin/ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-stream_loop",
                 "-1", "-i", file, "-c", "copy", "-f", "mpegts", url("one")});
  ASSERT_TRUE(wait_for_stream("one"));
  EXPECT_NE(send_with_ffmpeg(file, "two"), 0);
  EXPECT_NE(send_with_ffmpeg(file, "one"), 0);  // the name is taken as well
  EXPECT_FALSE(service_->streams().find("two"));
  auto text = metrics_.render();
  EXPECT_NE(text.find("mirror_ingest_rejected_total{protocol=\"srt\",reason=\"max_streams\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("reason=\"name_in_use\"} 1"), std::string::npos);
  // The admitted stream kept flowing meanwhile, with its link figures.
  auto one = service_->streams().find("one");
  EXPECT_TRUE(one->link_stats().contains("rtt_ms"));
  EXPECT_NE(metrics_.render().find("mirror_srt_packets_received_total{stream=\"one\"}"),
            std::string::npos);
  const auto before = recorder_.frames("one").size();
  std::this_thread::sleep_for(500ms);
  EXPECT_GT(recorder_.frames("one").size(), before);
}

TEST_F(SrtIngest, BadStreamIdIsRefused) {
  start();
  const auto file = hevc_aac_360p25_ts();
  ASSERT_FALSE(file.empty());
  EXPECT_NE(send_with_ffmpeg(file, "bad%20name"), 0);
  EXPECT_NE(send_with_ffmpeg(file, "%23!::r=x,m=request"), 0);
  EXPECT_EQ(service_->streams().size(), 0u);
}

TEST_F(SrtIngest, RandomBytesHurtOnlyTheirOwnStream) {
  if (!fs::exists("/usr/bin/srt-live-transmit")) GTEST_SKIP() << "srt-tools not installed";
  start();
  const auto file = hevc_aac_360p25_ts();
  ASSERT_FALSE(file.empty());
  Process good({"/usr/bin/ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-i", file, "-c",
                "copy", "-f", "mpegts", url("good")});
  ASSERT_TRUE(wait_for_stream("good"));
  auto r = run({"/bin/sh", "-c",
                "head -c 3000000 /dev/urandom | timeout -k 2 -s INT 5 srt-live-transmit -q -a:no file://con "
                "\"srt://127.0.0.1:" + std::to_string(port_) + "?streamid=noise\""},
               {}, {}, 30s);
  auto noise = wait_for_stream("noise", 2s);
  ASSERT_TRUE(noise);
  EXPECT_EQ(noise->video_frames() + noise->audio_frames(), 0u);
  EXPECT_GT(noise->errors(ingest::StreamError::kTransport), 0u);
  ASSERT_TRUE(good.wait(30s).has_value());
  std::this_thread::sleep_for(300ms);
  expect_matches_source("good", file, "hvc1.1.", 640, 360, 25);
}

TEST_F(SrtIngest, SenderAboveMaxBitrateIsCountedAndCutOff) {
  start(25, {}, 200000);  // 200 kbit/s; the fixture runs at several Mbit/s
  const auto file = h264_aac_720p30_ts();
  ASSERT_FALSE(file.empty());
  send_with_ffmpeg(file, "loud");
  auto s = service_->streams().find("loud");
  ASSERT_TRUE(s);
  EXPECT_GT(s->errors(ingest::StreamError::kBitrate), 0u);
  EXPECT_NE(metrics_.render().find("reason=\"max_bitrate\""), std::string::npos);
}

}  // namespace
}  // namespace mirror::testing
