// RTP ingest against ffmpeg as the sender: MPEG-TS over RTP on the shared
// port, raw H.264 + AAC declared by SDP, and a reordering, lossy relay written
// here. The ingest service runs in this process so its frames can be checked.
#include "core/logging.h"
#include "ingest/ingest_service.h"
#include "ingest/rtp_ingest.h"
#include "support/fixtures.h"
#include "support/process.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>
#include <random>
#include <thread>

namespace mirror::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

class RtpIngest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists("/usr/bin/ffmpeg")) GTEST_SKIP() << "ffmpeg not installed";
    core::log::init({core::log::Level::kWarn, false, nullptr});
  }

  void start(int max_streams = 25) {
    core::IngestionConfig cfg;
    cfg.srt.enabled = false;
    cfg.rtp.port = free_rtp_pair();
    cfg.max_streams = max_streams;
    cfg.reconnect_delay = 3s;
    service_ = std::make_unique<ingest::IngestService>(cfg, nullptr, metrics_);
    service_->streams().on_stream_added([this](const std::shared_ptr<ingest::LiveStream>& s) {
      std::lock_guard lock(mutex_);
      subs_[s->name()] = s->hub().subscribe("test", 100000);
    });
    ASSERT_TRUE(service_->start());
    port_ = service_->rtp_port();
  }

  void TearDown() override {
    if (service_) service_->stop(std::chrono::steady_clock::now() + 2s);
  }

  // An even port whose successor (RTCP) is free too. (Linux hands out odd
  // ports for bind(0), so the candidate is rounded down to even.)
  static int free_rtp_pair() {
    auto udp_free = [](int port) {
      int fd = socket(AF_INET, SOCK_DGRAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(static_cast<uint16_t>(port));
      a.sin_addr.s_addr = htonl(INADDR_ANY);
      bool ok = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
      close(fd);
      return ok;
    };
    for (int i = 0; i < 200; ++i) {
      const int p = free_tcp_udp_port() & ~1;
      if (p > 1024 && udp_free(p) && udp_free(p + 1)) return p;
    }
    return 0;
  }

  // The only stream whose name starts with rtp-, once it appears.
  std::shared_ptr<ingest::LiveStream> wait_for_ssrc_stream(std::chrono::milliseconds timeout = 10s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      for (const auto& s : service_->streams().list()) {
        if (s->name().rfind("rtp-", 0) == 0) return s;
      }
      std::this_thread::sleep_for(20ms);
    }
    return nullptr;
  }

  std::vector<media::MediaFrame> frames(const std::string& name) {
    std::lock_guard lock(mutex_);
    auto& out = frames_[name];
    if (auto it = subs_.find(name); it != subs_.end()) {
      while (auto f = it->second->pop()) out.push_back(std::move(*f));
    }
    return out;
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

  static std::pair<int, int> count(const std::vector<media::MediaFrame>& fs, bool check_order) {
    int video = 0, audio = 0;
    std::int64_t last_v = INT64_MIN, last_a = INT64_MIN;
    for (const auto& f : fs) {
      if (f.kind == media::TrackKind::kVideo) {
        ++video;
        if (check_order) {
          EXPECT_GT(f.dts, last_v);
        }
        last_v = f.dts;
      } else {
        ++audio;
        if (check_order) {
          EXPECT_GT(f.pts, last_a);
        }
        last_a = f.pts;
      }
    }
    return {video, audio};
  }

  core::MetricsRegistry metrics_;
  std::unique_ptr<ingest::IngestService> service_;
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<ingest::Subscription>> subs_;
  std::map<std::string, std::vector<media::MediaFrame>> frames_;
  int port_ = 0;
};

std::string hex_ssrc_name(std::uint32_t ssrc) {
  char b[16];
  std::snprintf(b, sizeof b, "rtp-%08x", ssrc);
  return b;
}

// Forwards datagrams from `in_port` to `out_port`; when `lossy`, swaps
// neighbours (so every other pair arrives reordered) and drops every 50th;
// rewrites the SSRC when `ssrc` is non-zero (ffmpeg's rtp_mpegts picks its own).
class Relay {
 public:
  Relay(int in_port, int out_port, bool lossy, std::uint32_t ssrc = 0)
      : out_port_(out_port), lossy_(lossy), ssrc_(ssrc) {
    fd_ = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(in_port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    thread_ = std::thread([this] { run(); });
  }
  ~Relay() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  std::uint64_t dropped() const { return dropped_; }

 private:
  void send(const std::vector<std::uint8_t>& d) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<uint16_t>(out_port_));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sendto(fd_, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  }
  void run() {
    std::vector<std::uint8_t> held;
    std::uint64_t n = 0;
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) {
        if (!held.empty()) {
          send(held);
          held.clear();
        }
        continue;
      }
      std::vector<std::uint8_t> buf(2048);
      ssize_t r = recv(fd_, buf.data(), buf.size(), 0);
      if (r <= 0) continue;
      buf.resize(static_cast<std::size_t>(r));
      if (ssrc_ != 0 && buf.size() >= 12) {
        for (int k = 0; k < 4; ++k) buf[8 + k] = static_cast<std::uint8_t>(ssrc_ >> (24 - 8 * k));
      }
      if (!lossy_) {
        send(buf);
        continue;
      }
      if (++n % 50 == 0) {
        ++dropped_;
        continue;
      }
      if (held.empty()) {
        held = std::move(buf);
      } else {
        send(buf);  // the later one first
        send(held);
        held.clear();
      }
    }
  }
  int fd_ = -1;
  int out_port_;
  bool lossy_;
  std::uint32_t ssrc_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> dropped_{0};
  std::thread thread_;
};

TEST_F(RtpIngest, MpegTsOverRtpNeedsNoSetUp) {
  start();
  const auto file = hevc_aac_360p25_ts();
  ASSERT_FALSE(file.empty());
  auto r = run({"/usr/bin/ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-i", file, "-c",
                "copy", "-f", "rtp_mpegts", "rtp://127.0.0.1:" + std::to_string(port_)},
               {}, {}, 60s);
  EXPECT_EQ(r.status, 0) << r.err;
  auto s = wait_for_ssrc_stream();
  ASSERT_TRUE(s);
  std::this_thread::sleep_for(300ms);
  auto [video, audio] = count(frames(s->name()), true);
  const auto pv = probe(file, "v");
  const auto pa = probe(file, "a");
  // An undeclared sender becomes a stream after its first second of media;
  // from then on the demuxer waits for tables and a keyframe (GOP 1 s).
  EXPECT_LE(video, pv.packets);
  EXPECT_GE(video, pv.packets - 2 * 25 - 2);
  EXPECT_LE(audio, pa.packets);
  EXPECT_GE(audio, pa.packets - 2 * 48);
  EXPECT_EQ(s->protocol(), "rtp");
  EXPECT_EQ(s->to_json(true)["video"]["codec"].get<std::string>().rfind("hvc1.1.", 0), 0u);
}

TEST_F(RtpIngest, BoundSsrcGetsItsName) {
  start();
  ASSERT_TRUE(service_->rtp()->bind_ssrc(0xabcdef01, "studio-a"));
  const auto file = hevc_aac_360p25_ts();
  ASSERT_FALSE(file.empty());
  const int relay_port = free_rtp_pair();
  Relay relay(relay_port, port_, false, 0xabcdef01);
  run({"/usr/bin/ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-t", "1", "-i", file, "-c",
       "copy", "-f", "rtp_mpegts", "rtp://127.0.0.1:" + std::to_string(relay_port)},
      {}, {}, 60s);
  EXPECT_TRUE(wait_for_stream("studio-a"));
  EXPECT_FALSE(service_->streams().find(hex_ssrc_name(0xabcdef01)));
}

TEST_F(RtpIngest, RawH264AndAacWithSdpAreAlignedBySenderReports) {
  start();
  const int vport = free_rtp_pair();
  const int aport = free_rtp_pair();
  ASSERT_NE(vport, aport);
  auto dir = make_temp_dir("mirror-rtp");
  auto sender = [&](const std::string& duration, bool realtime) {
    std::vector<std::string> args = {"/usr/bin/ffmpeg", "-hide_banner", "-loglevel", "error"};
    if (realtime) args.push_back("-re");
    for (const auto& a : std::vector<std::string>{
             "-f", "lavfi", "-t", duration, "-i", "testsrc2=size=320x240:rate=25", "-f", "lavfi",
             "-t", duration, "-i", "sine=frequency=440:sample_rate=48000", "-map", "0:v",
             "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-g", "25",
             "-pix_fmt", "yuv420p", "-flags", "+global_header", "-f", "rtp",
             "rtp://127.0.0.1:" + std::to_string(vport), "-map", "1:a", "-c:a", "aac", "-ac",
             "2", "-flags", "+global_header", "-f", "rtp",
             "rtp://127.0.0.1:" + std::to_string(aport), "-sdp_file", dir + "/s.sdp"}) {
      args.push_back(a);
    }
    return args;
  };
  // A short run just to get the SDP (nobody listens yet).
  ASSERT_EQ(run(sender("0.2", false), {}, {}, 30s).status, 0);
  const std::string sdp = read_file(dir + "/s.sdp");
  ASSERT_NE(sdp.find("sprop-parameter-sets"), std::string::npos) << sdp;
  auto ports = service_->rtp()->declare("raw1", sdp);
  ASSERT_TRUE(ports) << ports.error().message;
  EXPECT_EQ(ports->size(), 4u);  // RTP and RTCP for each of the two m= lines
  auto s = service_->streams().find("raw1");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->state(), ingest::StreamState::kConnecting);

  ASSERT_EQ(run(sender("4", true), {}, {}, 60s).status, 0);
  std::this_thread::sleep_for(500ms);
  auto fs = frames("raw1");
  auto [video, audio] = count(fs, true);
  EXPECT_GE(video, 100 - 25);
  EXPECT_LE(video, 100);
  EXPECT_GE(audio, 187 - 48);
  EXPECT_LE(audio, 190);
  const media::MediaFrame* v = nullptr;
  const media::MediaFrame* a = nullptr;
  for (const auto& f : fs) {
    if (f.kind == media::TrackKind::kVideo && v == nullptr) v = &f;
    if (f.kind == media::TrackKind::kAudio && a == nullptr) a = &f;
  }
  ASSERT_TRUE(v && a);
  EXPECT_TRUE(v->keyframe);
  EXPECT_EQ(v->config->width, 320);
  EXPECT_EQ(v->config->codec_string.rfind("avc1.", 0), 0u);
  EXPECT_EQ(a->config->codec_string, "mp4a.40.2");
  EXPECT_EQ(a->config->sample_rate, 48000);
  // Both inputs start at time 0 in the source: their first frames line up
  // within one video frame once the Sender Reports have been applied.
  const double offset = double(a->pts) / a->config->timescale - double(v->pts) / v->config->timescale;
  EXPECT_NEAR(offset, 0.0, 0.04);
  EXPECT_GT(s->link_stats().value("sender_reports", 0), 0);
}

TEST_F(RtpIngest, ReorderingAndLossyRelayIsRepairedAndCounted) {
  start();
  const auto file = hevc_aac_360p25_ts();
  ASSERT_FALSE(file.empty());
  const int relay_port = free_rtp_pair();
  Relay relay(relay_port, port_, true, 4242);
  run({"/usr/bin/ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-i", file, "-c", "copy",
       "-f", "rtp_mpegts", "rtp://127.0.0.1:" + std::to_string(relay_port)},
      {}, {}, 60s);
  auto s = wait_for_stream(hex_ssrc_name(4242));
  ASSERT_TRUE(s);
  std::this_thread::sleep_for(300ms);
  auto link = s->link_stats();
  EXPECT_GT(link["packets_reordered"].get<std::uint64_t>(), 10u);
  EXPECT_GE(link["packets_lost"].get<std::uint64_t>(), relay.dropped() - 1);
  EXPECT_GT(s->errors(ingest::StreamError::kRtpLoss), 0u);
  // Losses break some frames; the rest still come through, in order.
  auto [video, audio] = count(frames(s->name()), true);
  EXPECT_GT(video, 0);
  EXPECT_GT(audio, 0);
  EXPECT_NE(metrics_.render().find("mirror_rtp_packets_lost_total{stream=\"rtp-00001092\"}"),
            std::string::npos);
}

TEST_F(RtpIngest, GarbageDatagramsAreDroppedAndCounted) {
  start();
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port_));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::vector<std::uint8_t> d(1 + rng() % 1400);
    for (auto& b : d) b = static_cast<std::uint8_t>(rng());
    if (i % 2 == 0) d[0] = 0x80;  // version 2: parses, then fails on the payload type
    if (i % 4 == 0 && d.size() > 1) d[1] = 96;
    sendto(fd, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  }
  // RTCP port too.
  to.sin_port = htons(static_cast<uint16_t>(port_ + 1));
  for (int i = 0; i < 200; ++i) {
    std::vector<std::uint8_t> d(1 + rng() % 200);
    for (auto& b : d) b = static_cast<std::uint8_t>(rng());
    sendto(fd, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  }
  close(fd);
  // The ingest thread reads the datagrams after sendto returns.
  EXPECT_TRUE(eventually([&] {
    return metrics_.render().find("mirror_rtp_dropped_datagrams_total{reason=\"malformed\"}") !=
           std::string::npos;
  }));
  EXPECT_TRUE(eventually([&] {
    return metrics_.render().find("reason=\"undeclared_payload_type\"") != std::string::npos;
  }));
  // Random bytes with PT 33 by chance could open a session; nothing else may.
  for (const auto& s : service_->streams().list()) EXPECT_EQ(s->video_frames(), 0u);
}

TEST_F(RtpIngest, MalformedSdpIsRejectedWithTheLine) {
  start();
  auto r = service_->rtp()->declare("bad", "v=0\r\nm=video notaport RTP/AVP 96\r\n");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidInput);
  EXPECT_FALSE(service_->streams().find("bad"));
  auto r2 = service_->rtp()->declare("bad2", "this is not an sdp");
  EXPECT_FALSE(r2);
}

TEST_F(RtpIngest, MaxStreamsCountsRtpSessions) {
  start(1);
  const auto file = hevc_aac_360p25_ts();
  ASSERT_FALSE(file.empty());
  Process first({"/usr/bin/ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-i", file, "-c",
                 "copy", "-f", "rtp_mpegts", "rtp://127.0.0.1:" + std::to_string(port_)});
  ASSERT_TRUE(wait_for_ssrc_stream());
  run({"/usr/bin/ffmpeg", "-hide_banner", "-loglevel", "error", "-t", "1", "-i", file, "-c",
       "copy", "-f", "rtp_mpegts", "rtp://127.0.0.1:" + std::to_string(port_)},
      {}, {}, 30s);
  // The sender may exit before the ingest thread has read its datagrams.
  EXPECT_TRUE(eventually(
      [&] { return metrics_.render().find("reason=\"max_streams\"") != std::string::npos; }));
  EXPECT_EQ(service_->streams().size(), 1u);
  EXPECT_FALSE(service_->rtp()->declare("third", "v=0\r\n"));
}

}  // namespace
}  // namespace mirror::testing
