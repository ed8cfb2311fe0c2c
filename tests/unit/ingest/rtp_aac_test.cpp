// AAC RTP depacketizing (RFC 3640 AAC-hbr/lbr): AU headers, several AUs per
// packet, fragmented AUs, and every way the headers can lie. Also MPEG-TS
// over RTP (RFC 2250).
#include "ingest/rtp/rtp_aac_depacketizer.h"
#include "ingest/rtp/rtp_mp2t_depacketizer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <vector>

namespace mirror::ingest {
namespace {

using Bytes = std::vector<std::uint8_t>;

struct Frame {
  Bytes data;
  std::uint32_t timestamp;
};

// AAC-hbr: 13-bit size + 3-bit index per AU header, i.e. 16 bits each.
Bytes hbr_packet(const std::vector<Bytes>& aus, std::vector<std::size_t> sizes = {}) {
  if (sizes.empty()) {
    for (const auto& au : aus) sizes.push_back(au.size());
  }
  const std::size_t bits = 16 * sizes.size();
  Bytes p = {static_cast<std::uint8_t>(bits >> 8), static_cast<std::uint8_t>(bits)};
  for (std::size_t s : sizes) {
    p.push_back(static_cast<std::uint8_t>(s >> 5));
    p.push_back(static_cast<std::uint8_t>((s & 0x1f) << 3));
  }
  for (const auto& au : aus) p.insert(p.end(), au.begin(), au.end());
  return p;
}

class AacTest : public ::testing::Test {
 protected:
  AacTest() : depacketizer_(AacRtpParameters{}, collector()) {}

  AacFrameCallback collector() {
    return [this](std::span<const std::uint8_t> f, std::uint32_t ts) {
      frames_.push_back({Bytes(f.begin(), f.end()), ts});
    };
  }

  void push(Bytes payload, std::uint16_t seq, std::uint32_t ts, bool marker,
            bool after_loss = false) {
    push_to(depacketizer_, std::move(payload), seq, ts, marker, after_loss);
  }
  void push_to(RtpAacDepacketizer& d, Bytes payload, std::uint16_t seq, std::uint32_t ts,
               bool marker, bool after_loss = false) {
    payloads_.push_back(std::move(payload));
    RtpPacket p;
    p.sequence = seq;
    p.timestamp = ts;
    p.marker = marker;
    p.payload = payloads_.back();
    d.push(p, after_loss);
  }

  std::deque<Bytes> payloads_;
  std::vector<Frame> frames_;
  RtpAacDepacketizer depacketizer_;
};

TEST_F(AacTest, SingleAuPerPacket) {
  push(hbr_packet({{0x21, 0x10, 0x05}}), 1, 48000, true);
  ASSERT_EQ(frames_.size(), 1u);
  EXPECT_EQ(frames_[0].data, (Bytes{0x21, 0x10, 0x05}));
  EXPECT_EQ(frames_[0].timestamp, 48000u);
}

TEST_F(AacTest, SeveralAusPerPacketGetConsecutiveTimestamps) {
  push(hbr_packet({{1, 1}, {2, 2, 2}, {3}}), 1, 0xfffffc00u, true);  // wraps on the way
  ASSERT_EQ(frames_.size(), 3u);
  EXPECT_EQ(frames_[1].data, (Bytes{2, 2, 2}));
  EXPECT_EQ(frames_[0].timestamp, 0xfffffc00u);
  EXPECT_EQ(frames_[1].timestamp, 0u);
  EXPECT_EQ(frames_[2].timestamp, 1024u);
}

TEST_F(AacTest, FragmentedAuIsReassembled) {
  const Bytes au = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  push(hbr_packet({{1, 2, 3, 4}}, {10}), 5, 960, false);
  push(hbr_packet({{5, 6, 7}}, {10}), 6, 960, false);
  EXPECT_TRUE(frames_.empty());
  push(hbr_packet({{8, 9, 10}}, {10}), 7, 960, true);
  ASSERT_EQ(frames_.size(), 1u);
  EXPECT_EQ(frames_[0].data, au);
  EXPECT_EQ(frames_[0].timestamp, 960u);
  EXPECT_EQ(depacketizer_.stats().reassembled_frames, 1u);
}

TEST_F(AacTest, FragmentWithAGapOrLossIsDropped) {
  push(hbr_packet({{1, 2, 3, 4}}, {10}), 5, 960, false);
  push(hbr_packet({{8, 9, 10}}, {10}), 7, 960, true);  // 6 missing
  EXPECT_TRUE(frames_.empty());
  push(hbr_packet({{1, 2, 3, 4}}, {10}), 8, 1984, false);
  push(hbr_packet({{5, 6, 7}}, {10}), 10, 1984, false, /*after_loss=*/true);
  push(hbr_packet({{8, 9, 10}}, {10}), 11, 1984, true);
  EXPECT_TRUE(frames_.empty());
  EXPECT_GE(depacketizer_.stats().fragments_dropped, 2u);
  push(hbr_packet({{7}}), 12, 3008, true);
  ASSERT_EQ(frames_.size(), 1u);
}

TEST_F(AacTest, FragmentShortAtTheMarkerOrOverfullIsDropped) {
  push(hbr_packet({{1, 2, 3, 4}}, {10}), 1, 0, false);
  push(hbr_packet({{5, 6}}, {10}), 2, 0, true);  // marker, 6 of 10 bytes
  push(hbr_packet({{1, 2, 3, 4}}, {10}), 3, 1024, false);
  push(hbr_packet({{5, 6, 7, 8, 9}}, {6}), 4, 1024, false);  // size changed mid-AU
  push(hbr_packet({{1, 2, 3, 4, 5, 6, 7, 8}}, {10}), 5, 2048, false);
  push(hbr_packet({{9, 10, 11, 12, 13, 14}}, {10}), 6, 2048, true);  // too much data: a fresh AU?
  EXPECT_TRUE(frames_.empty());
  EXPECT_GE(depacketizer_.stats().malformed_packets, 2u);
}

TEST_F(AacTest, AuHeadersPastTheEndAreRejected) {
  push({0x00, 0x40, 0x00, 0x18}, 1, 0, true);  // 64 bits of headers, 2 bytes present
  push({0xff, 0xff}, 2, 0, true);
  push({0x00}, 3, 0, true);
  EXPECT_TRUE(frames_.empty());
  EXPECT_EQ(depacketizer_.stats().malformed_packets, 3u);
}

TEST_F(AacTest, AuSizesPastTheEndAreRejected) {
  // Two AUs of 3 and 4 bytes declared, 5 bytes present: nothing is emitted.
  push(hbr_packet({{1, 2, 3}, {4, 5}}, {3, 4}), 1, 0, true);
  EXPECT_TRUE(frames_.empty());
  EXPECT_EQ(depacketizer_.stats().malformed_packets, 1u);
}

TEST_F(AacTest, HeaderLengthThatIsNotWholeHeadersIsRejected) {
  push({0x00, 0x11, 0x00, 0x18, 0x00, 0x01, 0x02, 0x03}, 1, 0, true);  // 17 bits
  push({0x00, 0x08, 0x00, 0x01}, 2, 0, true);                          // 8 bits < one header
  EXPECT_TRUE(frames_.empty());
  EXPECT_EQ(depacketizer_.stats().malformed_packets, 2u);
}

TEST_F(AacTest, EmptyPayloadIsCounted) {
  push({}, 1, 0, true);
  EXPECT_EQ(depacketizer_.stats().empty_packets, 1u);
}

TEST_F(AacTest, LbrLayoutFromSdp) {
  auto sdp = parse_sdp(
      "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
      "m=audio 5006 RTP/AVP 97\r\na=rtpmap:97 mpeg4-generic/44100/2\r\n"
      "a=fmtp:97 streamtype=5; profile-level-id=15; mode=AAC-lbr; config=1210; "
      "SizeLength=6; IndexLength=2; IndexDeltaLength=2\r\n");
  ASSERT_TRUE(sdp.ok()) << sdp.error().message;
  auto params = aac_rtp_parameters(sdp->media[0]);
  ASSERT_TRUE(params.ok()) << params.error().message;
  EXPECT_EQ(params->mode, "AAC-lbr");
  EXPECT_EQ(params->size_length, 6);
  EXPECT_EQ(params->audio_specific_config, (Bytes{0x12, 0x10}));
  EXPECT_EQ(params->clock_rate, 44100u);
  EXPECT_EQ(params->channels, 2);
  RtpAacDepacketizer lbr(*params, collector());
  EXPECT_EQ(Bytes(lbr.audio_specific_config().begin(), lbr.audio_specific_config().end()),
            (Bytes{0x12, 0x10}));
  // Two 8-bit headers: size 2 / index 0, size 1 / delta 0.
  push_to(lbr, {0x00, 0x10, 0x08, 0x04, 0xaa, 0xbb, 0xcc}, 1, 100, true);
  ASSERT_EQ(frames_.size(), 2u);
  EXPECT_EQ(frames_[0].data, (Bytes{0xaa, 0xbb}));
  EXPECT_EQ(frames_[1].data, (Bytes{0xcc}));
  EXPECT_EQ(frames_[1].timestamp, 100u + 1024u);
}

TEST_F(AacTest, SdpWithoutRequiredFieldsIsRejected) {
  const std::string head =
      "v=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\nc=IN IP4 127.0.0.1\nt=0 0\n"
      "m=audio 5006 RTP/AVP 97\na=rtpmap:97 MPEG4-GENERIC/48000/2\n";
  for (const char* fmtp :
       {"a=fmtp:97 sizelength=13;indexlength=3;indexdeltalength=3;config=1190\n",  // no mode
        "a=fmtp:97 mode=CELP-cbr;sizelength=13;indexlength=3;indexdeltalength=3;config=1190\n",
        "a=fmtp:97 mode=AAC-hbr;indexlength=3;indexdeltalength=3;config=1190\n",  // no sizelength
        "a=fmtp:97 mode=AAC-hbr;sizelength=99;indexlength=3;indexdeltalength=3;config=1190\n",
        "a=fmtp:97 mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3\n",  // no config
        "a=fmtp:97 mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3;config=11G0\n",
        "a=fmtp:97 mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3;config=119\n",
        "a=fmtp:97 "
        "mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3;config=1190;ctsdeltalength="
        "16\n"}) {
    auto sdp = parse_sdp(head + fmtp);
    ASSERT_TRUE(sdp.ok()) << fmtp;
    auto params = aac_rtp_parameters(sdp->media[0]);
    ASSERT_FALSE(params.ok()) << fmtp;
    EXPECT_NE(params.error().message.find("line 8"), std::string::npos) << params.error().message;
  }
}

class Mp2tTest : public ::testing::Test {
 protected:
  Mp2tTest()
      : depacketizer_(
            [this](std::span<const std::uint8_t> ts, std::uint32_t) { bytes_ += ts.size(); }) {}
  void push(const Bytes& payload) {
    RtpPacket p;
    p.payload_type = 33;
    p.payload = payload;
    depacketizer_.push(p);
  }
  std::size_t bytes_ = 0;
  RtpMp2tDepacketizer depacketizer_;
};

TEST_F(Mp2tTest, PassesWholeTsPacketsOn) {
  Bytes seven(188 * 7, 0xff);
  for (std::size_t i = 0; i < seven.size(); i += 188) seven[i] = 0x47;
  push(seven);
  EXPECT_EQ(bytes_, 188u * 7);
  EXPECT_EQ(depacketizer_.stats().ts_packets, 7u);
}

TEST_F(Mp2tTest, RejectsPartialPacketsAndLostSync) {
  Bytes partial(188 + 10, 0x47);
  push(partial);
  Bytes unsynced(188 * 2, 0x47);
  unsynced[188] = 0x00;
  push(unsynced);
  push({});
  EXPECT_EQ(bytes_, 0u);
  EXPECT_EQ(depacketizer_.stats().malformed_packets, 3u);
}

}  // namespace
}  // namespace mirror::ingest
