// Real peer: ffmpeg encodes a one-second clip and sends it as RTP to a UDP
// socket this test binds (RTCP to the next port). Its SDP goes through
// parse_sdp, its packets through the depacketizers, directly and shuffled
// through the jitter buffer; the result is compared with ffprobe's view of an
// identical encode written to a file. Skipped when ffmpeg is not installed.
#include "ingest/rtp/jitter_buffer.h"
#include "ingest/rtp/rtcp.h"
#include "ingest/rtp/rtp_aac_depacketizer.h"
#include "ingest/rtp/rtp_h264_depacketizer.h"
#include "ingest/rtp/rtp_hevc_depacketizer.h"
#include "ingest/rtp/rtp_packet.h"
#include "ingest/rtp/sdp.h"
#include "ingest/rtp/sdp_codec_params.h"
#include "support/process.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace mirror::ingest {
namespace {

using Bytes = std::vector<std::uint8_t>;
using namespace std::chrono_literals;

std::string find_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    const std::size_t colon = std::min(dirs.find(':', start), dirs.size());
    const std::string candidate = dirs.substr(start, colon - start) + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    start = colon + 1;
  }
  return {};
}

// A UDP socket on 127.0.0.1; closes itself.
class UdpSocket {
 public:
  explicit UdpSocket(int port) {
    fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    int size = 4 << 20;
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      close(fd_);
      fd_ = -1;
      return;
    }
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~UdpSocket() {
    if (fd_ >= 0) close(fd_);
  }
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;
  bool ok() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  int port() const { return port_; }
  // Every datagram waiting now.
  void drain(std::vector<Bytes>& out) {
    std::uint8_t buf[65536];
    for (;;) {
      const ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n < 0) return;
      out.emplace_back(buf, buf + n);
    }
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

struct Capture {
  std::string sdp;
  std::vector<Bytes> rtp;
  std::vector<Bytes> rtcp;
  std::string error;
};

// Runs ffmpeg with `input_and_codec` arguments, sending RTP to a port pair
// this process owns, and collects everything it sends.
Capture capture(const std::string& ffmpeg, const std::vector<std::string>& input_and_codec) {
  Capture result;
  std::unique_ptr<UdpSocket> rtp, rtcp;
  for (int attempt = 0; attempt < 50 && !rtcp; ++attempt) {
    auto first = std::make_unique<UdpSocket>(0);
    if (!first->ok() || first->port() >= 65535) continue;
    auto second = std::make_unique<UdpSocket>(first->port() + 1);
    if (!second->ok()) continue;
    rtp = std::move(first);
    rtcp = std::move(second);
  }
  if (!rtcp) {
    result.error = "no free UDP port pair";
    return result;
  }
  const std::string dir = mirror::testing::make_temp_dir("mirror-rtp-peer");
  const std::string sdp_path = dir + "/stream.sdp";
  std::vector<std::string> argv = {ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-y"};
  argv.insert(argv.end(), input_and_codec.begin(), input_and_codec.end());
  argv.insert(argv.end(), {"-f", "rtp", "-sdp_file", sdp_path,
                           "rtp://127.0.0.1:" + std::to_string(rtp->port()) + "?pkt_size=1200"});
  mirror::testing::Process process(argv);
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  std::optional<std::chrono::steady_clock::time_point> exited;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd fds[2] = {{rtp->fd(), POLLIN, 0}, {rtcp->fd(), POLLIN, 0}};
    poll(fds, 2, 20);
    rtp->drain(result.rtp);
    rtcp->drain(result.rtcp);
    if (!exited && !process.running()) exited = std::chrono::steady_clock::now();
    if (exited && std::chrono::steady_clock::now() - *exited > 200ms) break;
  }
  const auto status = process.wait(1s);
  if (!status || *status != 0) {
    result.error = "ffmpeg failed: " + process.stderr_text();
    return result;
  }
  result.sdp = mirror::testing::read_file(sdp_path);
  return result;
}

// ffprobe's count of packets (or decoded frames) of the first stream.
int probe_count(const std::string& ffprobe, const std::string& file, bool decode) {
  auto r = mirror::testing::run(
      {ffprobe, "-v", "error", "-select_streams", "0", decode ? "-count_frames" : "-count_packets",
       "-show_entries", decode ? "stream=nb_read_frames" : "stream=nb_read_packets", "-of",
       "csv=p=0", file},
      {}, {}, 30s);
  if (r.status != 0) return -1;
  return std::atoi(r.out.c_str());
}

void write_bytes(const std::string& path, const Bytes& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

Bytes read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(f), {});
}

// Annex B byte stream -> NAL units without start codes.
std::vector<Bytes> split_annexb(const Bytes& s) {
  std::vector<Bytes> nals;
  std::size_t i = 0, start = std::string::npos;
  while (i + 3 <= s.size()) {
    if (s[i] == 0 && s[i + 1] == 0 && s[i + 2] == 1) {
      if (start != std::string::npos) {
        std::size_t end = i;
        while (end > start && s[end - 1] == 0) --end;
        nals.emplace_back(s.begin() + static_cast<long>(start), s.begin() + static_cast<long>(end));
      }
      i += 3;
      start = i;
    } else {
      ++i;
    }
  }
  if (start != std::string::npos && start < s.size())
    nals.emplace_back(s.begin() + static_cast<long>(start), s.end());
  return nals;
}

struct VideoUnit {
  Bytes annexb;
  std::uint32_t timestamp;
  bool complete;
  bool operator==(const VideoUnit&) const = default;
};

struct AudioFrame {
  Bytes data;
  std::uint32_t timestamp;
  bool operator==(const AudioFrame&) const = default;
};

// Parses every datagram; the headers' spans point into `datagrams`.
std::vector<RtpPacket> parse_all(const std::vector<Bytes>& datagrams) {
  std::vector<RtpPacket> packets;
  for (const auto& d : datagrams) {
    auto p = parse_rtp(d);
    EXPECT_TRUE(p.ok()) << p.error().message;
    if (p.ok()) packets.push_back(*p);
  }
  return packets;
}

// Sends the datagrams, shuffled within windows of 5 and with a few
// duplicates, through a jitter buffer and hands what leaves it to `push`.
template <class Push>
void through_jitter_buffer(const std::vector<Bytes>& datagrams, std::uint32_t clock_rate, Push push,
                           JitterBufferStats* stats_out = nullptr) {
  std::vector<std::size_t> order(datagrams.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::mt19937 rng(1234);
  for (std::size_t i = 0; i < order.size(); i += 5) {
    std::shuffle(order.begin() + static_cast<long>(i),
                 order.begin() + static_cast<long>(std::min(order.size(), i + 5)), rng);
  }
  for (std::size_t i = 7; i < datagrams.size(); i += 11) order.push_back(i - 3);  // late duplicates
  JitterBufferOptions options;
  options.clock_rate = clock_rate;
  JitterBuffer jb(options);
  auto now = std::chrono::steady_clock::time_point(1h);
  std::vector<ReleasedPacket> released;
  for (std::size_t index : order) {
    core::BufferRef ref = core::BufferPool::global().copy_of(datagrams[index]);
    RtpPacket header;
    ASSERT_EQ(parse_rtp_header(ref.bytes(), header), RtpError::kNone);
    jb.insert(std::move(ref), header, now);
    now += 1ms;
    released.clear();
    jb.pop_ready(now, released);
    for (const auto& r : released) push(r.packet, r.lost_before > 0 || r.discontinuity);
  }
  released.clear();
  jb.flush(released);
  for (const auto& r : released) push(r.packet, r.lost_before > 0 || r.discontinuity);
  if (stats_out) *stats_out = jb.stats();
}

class FfmpegPeerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ffmpeg_ = find_program("ffmpeg");
    ffprobe_ = find_program("ffprobe");
    if (ffmpeg_.empty() || ffprobe_.empty()) GTEST_SKIP() << "ffmpeg/ffprobe not installed";
    dir_ = mirror::testing::make_temp_dir("mirror-rtp-ref");
  }

  // Encodes the same input with the same settings to a file.
  void encode_reference(const std::vector<std::string>& input_and_codec, const std::string& format,
                        const std::string& path) {
    std::vector<std::string> argv = {ffmpeg_, "-hide_banner", "-loglevel",
                                     "error", "-nostdin",     "-y"};
    argv.insert(argv.end(), input_and_codec.begin(), input_and_codec.end());
    argv.insert(argv.end(), {"-f", format, path});
    auto r = mirror::testing::run(argv, {}, {}, 60s);
    ASSERT_EQ(r.status, 0) << r.err;
  }

  std::string ffmpeg_, ffprobe_, dir_;
};

const std::vector<std::string> kH264Args = {
    "-f",      "lavfi",    "-i",       "testsrc2=size=320x240:rate=25",
    "-t",      "1",        "-c:v",     "libx264",
    "-preset", "veryfast", "-threads", "1",
    "-g",      "25",       "-flags",   "+global_header"};

TEST_F(FfmpegPeerTest, H264AccessUnitsMatchAnIdenticalEncode) {
  const Capture cap = capture(ffmpeg_, kH264Args);
  ASSERT_TRUE(cap.error.empty()) << cap.error;
  ASSERT_FALSE(cap.rtp.empty());

  auto sdp = parse_sdp(cap.sdp);
  ASSERT_TRUE(sdp.ok()) << sdp.error().message << "\n" << cap.sdp;
  ASSERT_EQ(sdp->media.size(), 1u);
  const auto& media = sdp->media[0];
  ASSERT_EQ(media.encoding, RtpEncoding::kH264);
  auto params = h264_rtp_parameters(media);
  ASSERT_TRUE(params.ok()) << params.error().message;
  EXPECT_EQ(params->packetization_mode, 1);
  ASSERT_GE(params->parameter_sets.size(), 2u);

  std::vector<VideoUnit> units;
  RtpH264Depacketizer depacketizer(
      [&](std::span<const std::uint8_t> a, std::uint32_t ts, bool complete) {
        units.push_back({Bytes(a.begin(), a.end()), ts, complete});
      });
  depacketizer.set_parameters(*params);
  for (const auto& p : parse_all(cap.rtp)) {
    EXPECT_EQ(p.payload_type, media.payload_type);
    depacketizer.push(p);
  }
  depacketizer.flush();
  const auto& stats = depacketizer.stats();
  EXPECT_EQ(stats.malformed_packets + stats.unsupported_packets + stats.fragments_dropped, 0u);
  EXPECT_GT(stats.nal_units, units.size());  // pkt_size=1200 forces FU-A

  encode_reference(kH264Args, "matroska", dir_ + "/ref.mkv");
  const int reference_packets = probe_count(ffprobe_, dir_ + "/ref.mkv", false);
  EXPECT_EQ(static_cast<int>(units.size()), reference_packets);
  EXPECT_EQ(units.size(), 25u);
  for (const auto& u : units) EXPECT_TRUE(u.complete);

  // Slices are byte for byte those of the file encode.
  encode_reference(kH264Args, "h264", dir_ + "/ref.h264");
  std::vector<Bytes> ref_slices, our_slices;
  for (auto& n : split_annexb(read_bytes(dir_ + "/ref.h264"))) {
    if (!n.empty() && ((n[0] & 0x1f) == 1 || (n[0] & 0x1f) == 5))
      ref_slices.push_back(std::move(n));
  }
  Bytes stream(depacketizer.initial_parameter_sets().begin(),
               depacketizer.initial_parameter_sets().end());
  for (const auto& u : units) {
    stream.insert(stream.end(), u.annexb.begin(), u.annexb.end());
    for (auto& n : split_annexb(u.annexb)) {
      if (!n.empty() && ((n[0] & 0x1f) == 1 || (n[0] & 0x1f) == 5))
        our_slices.push_back(std::move(n));
    }
  }
  EXPECT_EQ(our_slices.size(), ref_slices.size());
  EXPECT_TRUE(our_slices == ref_slices);

  // With the SDP's parameter sets in front, the stream decodes.
  write_bytes(dir_ + "/ours.h264", stream);
  EXPECT_EQ(probe_count(ffprobe_, dir_ + "/ours.h264", true), 25);

  // The same packets shuffled through the jitter buffer give the same units.
  std::vector<VideoUnit> jittered;
  RtpH264Depacketizer again([&](std::span<const std::uint8_t> a, std::uint32_t ts, bool complete) {
    jittered.push_back({Bytes(a.begin(), a.end()), ts, complete});
  });
  JitterBufferStats jb_stats;
  through_jitter_buffer(
      cap.rtp, media.clock_rate,
      [&](const RtpPacket& p, bool after_loss) { again.push(p, after_loss); }, &jb_stats);
  again.flush();
  EXPECT_TRUE(jittered == units);
  EXPECT_EQ(jb_stats.lost, 0u);
  EXPECT_GT(jb_stats.reordered, 0u);
  EXPECT_GT(jb_stats.duplicates, 0u);

  // RTCP: ffmpeg sends a Sender Report for the same SSRC (and no BYE).
  ASSERT_FALSE(cap.rtcp.empty());
  const std::uint32_t ssrc = parse_rtp(cap.rtp[0])->ssrc;
  bool saw_sr = false;
  for (const auto& d : cap.rtcp) {
    auto c = parse_rtcp(d);
    ASSERT_TRUE(c.ok()) << c.error().message;
    for (const auto& sr : c->reports()) saw_sr |= sr.ssrc == ssrc;
  }
  EXPECT_TRUE(saw_sr);
}

const std::vector<std::string> kAacArgs = {
    "-f",  "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "1", "-c:a",
    "aac", "-b:a",  "96k"};

// ADTS file -> raw AAC frames.
std::vector<Bytes> split_adts(const Bytes& s) {
  std::vector<Bytes> frames;
  std::size_t i = 0;
  while (i + 7 <= s.size() && s[i] == 0xff && (s[i + 1] & 0xf0) == 0xf0) {
    const std::size_t header = (s[i + 1] & 0x01) ? 7 : 9;
    const std::size_t length = ((s[i + 3] & 0x03u) << 11) | (s[i + 4] << 3) | (s[i + 5] >> 5);
    if (length < header || i + length > s.size()) break;
    frames.emplace_back(s.begin() + static_cast<long>(i + header),
                        s.begin() + static_cast<long>(i + length));
    i += length;
  }
  return frames;
}

TEST_F(FfmpegPeerTest, AacFramesMatchAnIdenticalEncode) {
  const Capture cap = capture(ffmpeg_, kAacArgs);
  ASSERT_TRUE(cap.error.empty()) << cap.error;
  auto sdp = parse_sdp(cap.sdp);
  ASSERT_TRUE(sdp.ok()) << sdp.error().message << "\n" << cap.sdp;
  const auto& media = sdp->media[0];
  ASSERT_EQ(media.encoding, RtpEncoding::kMpeg4Generic);
  auto params = aac_rtp_parameters(media);
  ASSERT_TRUE(params.ok()) << params.error().message;
  EXPECT_EQ(params->size_length, 13);
  EXPECT_EQ(params->clock_rate, 48000u);

  std::vector<AudioFrame> frames;
  RtpAacDepacketizer depacketizer(*params, [&](std::span<const std::uint8_t> f, std::uint32_t ts) {
    frames.push_back({Bytes(f.begin(), f.end()), ts});
  });
  std::size_t declared = 0;  // AU headers in the packets: 16 bits each
  for (const auto& p : parse_all(cap.rtp)) {
    ASSERT_GE(p.payload.size(), 2u);
    declared += ((std::size_t{p.payload[0]} << 8) | p.payload[1]) / 16;
    depacketizer.push(p);
  }
  EXPECT_EQ(depacketizer.stats().malformed_packets, 0u);
  EXPECT_EQ(frames.size(), declared);
  EXPECT_LT(cap.rtp.size(), frames.size());  // ffmpeg puts several AUs in a packet

  // ffmpeg's RTP muxer never sends the frames it still buffers for an
  // unfilled last packet, so RTP carries a prefix of the file encode (at most
  // one packet's worth short).
  encode_reference(kAacArgs, "matroska", dir_ + "/ref.mkv");
  const int reference_packets = probe_count(ffprobe_, dir_ + "/ref.mkv", false);
  EXPECT_LE(static_cast<int>(frames.size()), reference_packets);
  EXPECT_GE(static_cast<int>(frames.size()), reference_packets - 5);
  encode_reference(kAacArgs, "adts", dir_ + "/ref.aac");
  std::vector<Bytes> ref_frames = split_adts(read_bytes(dir_ + "/ref.aac"));
  EXPECT_EQ(static_cast<int>(ref_frames.size()), reference_packets);
  ASSERT_LE(frames.size(), ref_frames.size());
  for (std::size_t i = 0; i < frames.size(); ++i) {
    EXPECT_EQ(frames[i].data, ref_frames[i]) << "frame " << i;
    if (i > 0) {
      EXPECT_EQ(frames[i].timestamp - frames[i - 1].timestamp, 1024u) << "frame " << i;
    }
  }

  std::vector<AudioFrame> jittered;
  RtpAacDepacketizer again(*params, [&](std::span<const std::uint8_t> f, std::uint32_t ts) {
    jittered.push_back({Bytes(f.begin(), f.end()), ts});
  });
  through_jitter_buffer(cap.rtp, media.clock_rate,
                        [&](const RtpPacket& p, bool after_loss) { again.push(p, after_loss); });
  EXPECT_TRUE(jittered == frames);
}

const std::vector<std::string> kHevcArgs = {
    "-f",      "lavfi",     "-i",           "testsrc2=size=320x240:rate=25",
    "-t",      "1",         "-c:v",         "libx265",
    "-preset", "ultrafast", "-x265-params", "log-level=error:pools=1:frame-threads=1",
    "-g",      "25",        "-flags",       "+global_header"};

TEST_F(FfmpegPeerTest, HevcAccessUnitsDecode) {
  const Capture cap = capture(ffmpeg_, kHevcArgs);
  if (!cap.error.empty() && cap.error.find("libx265") != std::string::npos)
    GTEST_SKIP() << cap.error;
  ASSERT_TRUE(cap.error.empty()) << cap.error;
  auto sdp = parse_sdp(cap.sdp);
  ASSERT_TRUE(sdp.ok()) << sdp.error().message << "\n" << cap.sdp;
  const auto& media = sdp->media[0];
  ASSERT_EQ(media.encoding, RtpEncoding::kHevc);
  auto params = hevc_rtp_parameters(media);
  ASSERT_TRUE(params.ok()) << params.error().message;

  std::vector<VideoUnit> units;
  RtpHevcDepacketizer depacketizer(
      [&](std::span<const std::uint8_t> a, std::uint32_t ts, bool complete) {
        units.push_back({Bytes(a.begin(), a.end()), ts, complete});
      });
  depacketizer.set_parameters(*params);
  for (const auto& p : parse_all(cap.rtp)) depacketizer.push(p);
  depacketizer.flush();
  const auto& stats = depacketizer.stats();
  EXPECT_EQ(stats.malformed_packets + stats.unsupported_packets + stats.fragments_dropped, 0u);
  EXPECT_EQ(units.size(), 25u);
  Bytes stream(depacketizer.initial_parameter_sets().begin(),
               depacketizer.initial_parameter_sets().end());
  for (const auto& u : units) {
    EXPECT_TRUE(u.complete);
    stream.insert(stream.end(), u.annexb.begin(), u.annexb.end());
  }
  write_bytes(dir_ + "/ours.hevc", stream);
  EXPECT_EQ(probe_count(ffprobe_, dir_ + "/ours.hevc", true), 25);
}

}  // namespace
}  // namespace mirror::ingest
