// H.264 RTP depacketizing (RFC 6184): single NAL units, STAP-A, FU-A, access
// unit boundaries, loss handling and the SDP's parameter sets.
#include "ingest/rtp/rtp_h264_depacketizer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <vector>

namespace mirror::ingest {
namespace {

using Bytes = std::vector<std::uint8_t>;

struct AccessUnit {
  Bytes annexb;
  std::uint32_t timestamp;
  bool complete;
};

class H264Test : public ::testing::Test {
 protected:
  H264Test()
      : depacketizer_(
            [this](std::span<const std::uint8_t> annexb, std::uint32_t ts, bool complete) {
              units_.push_back({Bytes(annexb.begin(), annexb.end()), ts, complete});
            }) {}

  void push(Bytes payload, std::uint16_t seq, std::uint32_t ts, bool marker,
            bool after_loss = false) {
    payloads_.push_back(std::move(payload));  // the packet views these bytes
    RtpPacket p;
    p.sequence = seq;
    p.timestamp = ts;
    p.marker = marker;
    p.payload_type = 96;
    p.payload = payloads_.back();
    depacketizer_.push(p, after_loss);
  }

  static Bytes annexb(std::initializer_list<Bytes> nals) {
    Bytes out;
    for (const auto& n : nals) {
      out.insert(out.end(), {0, 0, 0, 1});
      out.insert(out.end(), n.begin(), n.end());
    }
    return out;
  }

  std::deque<Bytes> payloads_;
  std::vector<AccessUnit> units_;
  RtpH264Depacketizer depacketizer_;
};

const Bytes kSps = {0x67, 0x42, 0x00, 0x1f};
const Bytes kPps = {0x68, 0xce, 0x3c, 0x80};
const Bytes kIdr = {0x65, 0x88, 0x84, 0x00, 0x33};
const Bytes kSlice = {0x41, 0x9a, 0x02};

TEST_F(H264Test, SingleNalUnitsFormAnAccessUnitEndedByTheMarker) {
  push(kSps, 1, 3000, false);
  push(kPps, 2, 3000, false);
  push(kIdr, 3, 3000, true);
  ASSERT_EQ(units_.size(), 1u);
  EXPECT_EQ(units_[0].annexb, annexb({kSps, kPps, kIdr}));
  EXPECT_EQ(units_[0].timestamp, 3000u);
  EXPECT_TRUE(units_[0].complete);
  EXPECT_EQ(depacketizer_.stats().nal_units, 3u);
}

TEST_F(H264Test, TimestampChangeEndsAnAccessUnitWithoutMarker) {
  push(kIdr, 1, 3000, false);
  push(kSlice, 2, 6000, false);
  ASSERT_EQ(units_.size(), 1u);
  EXPECT_EQ(units_[0].timestamp, 3000u);
  depacketizer_.flush();
  ASSERT_EQ(units_.size(), 2u);
  EXPECT_EQ(units_[1].annexb, annexb({kSlice}));
  EXPECT_EQ(units_[1].timestamp, 6000u);
}

TEST_F(H264Test, StapASplitsIntoNalUnits) {
  Bytes stap = {0x78};
  for (const Bytes* n : {&kSps, &kPps}) {
    stap.push_back(0);
    stap.push_back(static_cast<std::uint8_t>(n->size()));
    stap.insert(stap.end(), n->begin(), n->end());
  }
  push(stap, 1, 0, false);
  push(kIdr, 2, 0, true);
  ASSERT_EQ(units_.size(), 1u);
  EXPECT_EQ(units_[0].annexb, annexb({kSps, kPps, kIdr}));
  EXPECT_TRUE(units_[0].complete);
}

TEST_F(H264Test, StapAWithLengthPastTheEndContributesNothing) {
  Bytes stap = {0x78, 0, 4, 0x67, 0x42, 0x00, 0x1f, 0, 9, 0x68, 0xce};  // second NAL claims 9 bytes
  push(stap, 1, 0, false);
  push(kIdr, 2, 0, true);
  ASSERT_EQ(units_.size(), 1u);
  EXPECT_EQ(units_[0].annexb, annexb({kIdr}));
  EXPECT_FALSE(units_[0].complete);
  EXPECT_EQ(depacketizer_.stats().malformed_packets, 1u);
  // Zero-length NAL, dangling single length byte, no NAL at all.
  push({0x78, 0, 0}, 3, 10, false);
  push({0x78, 0, 1, 0x41, 0}, 4, 10, false);
  push({0x78}, 5, 10, true);
  EXPECT_EQ(depacketizer_.stats().malformed_packets, 4u);
  // A length field that is the packet's last two bytes, claiming more.
  push({0x78, 0, 1, 0x41, 0x80, 0x60}, 6, 20, true);
  EXPECT_EQ(depacketizer_.stats().malformed_packets, 5u);
  EXPECT_EQ(units_.size(), 1u);
}

TEST_F(H264Test, FuAReassemblesAFragmentedNalUnit) {
  // IDR (nri 3, type 5) split into three fragments.
  push({0x7c, 0x85, 0x88, 0x84}, 10, 90, false);
  push({0x7c, 0x05, 0x00}, 11, 90, false);
  push({0x7c, 0x45, 0x33}, 12, 90, true);
  ASSERT_EQ(units_.size(), 1u);
  EXPECT_EQ(units_[0].annexb, annexb({{0x65, 0x88, 0x84, 0x00, 0x33}}));
  EXPECT_TRUE(units_[0].complete);
}

TEST_F(H264Test, FuAWithoutStartIsDroppedAndCounted) {
  push({0x7c, 0x05, 0x00}, 11, 90, false);
  push({0x7c, 0x45, 0x33}, 12, 90, false);
  push(kSlice, 13, 90, true);
  ASSERT_EQ(units_.size(), 1u);
  EXPECT_EQ(units_[0].annexb, annexb({kSlice}));
  EXPECT_FALSE(units_[0].complete);
  EXPECT_EQ(depacketizer_.stats().fragments_dropped, 2u);
}

TEST_F(H264Test, FuAWithASequenceGapIsDropped) {
  push({0x7c, 0x85, 0x88}, 10, 90, false);
  push({0x7c, 0x45, 0x33}, 12, 90, true);  // 11 never came
  EXPECT_TRUE(units_.empty());             // nothing whole was left in the unit
  EXPECT_GE(depacketizer_.stats().fragments_dropped, 1u);
  push(kSlice, 13, 180, true);
  ASSERT_EQ(units_.size(), 1u);
  EXPECT_TRUE(units_[0].complete);
}

TEST_F(H264Test, LossReportDropsTheFragmentInProgress) {
  push(kSps, 9, 90, false);
  push({0x7c, 0x85, 0x88}, 10, 90, false);
  depacketizer_.lost();
  push({0x7c, 0x45, 0x33}, 12, 90, true);
  ASSERT_EQ(units_.size(), 1u);
  EXPECT_EQ(units_[0].annexb, annexb({kSps}));
  EXPECT_FALSE(units_[0].complete);
  EXPECT_EQ(depacketizer_.stats().losses, 1u);
}

TEST_F(H264Test, LossBeforeANewTimestampMarksBothUnitsIncomplete) {
  push(kIdr, 1, 90, false);  // marker packet of this unit lost
  push(kSlice, 3, 180, true, /*after_loss=*/true);
  ASSERT_EQ(units_.size(), 2u);
  EXPECT_FALSE(units_[0].complete);
  EXPECT_FALSE(units_[1].complete);
  push(kSlice, 4, 270, true);
  ASSERT_EQ(units_.size(), 3u);
  EXPECT_TRUE(units_[2].complete);
}

TEST_F(H264Test, FuAWithStartAndEndIsAWholeNalUnit) {
  push({0x7c, 0xc5, 0x88}, 1, 90, true);
  ASSERT_EQ(units_.size(), 1u);
  EXPECT_EQ(units_[0].annexb, annexb({{0x65, 0x88}}));
}

TEST_F(H264Test, FuAStartWithInvalidTypeIsMalformed) {
  push({0x7c, 0x98, 0x88}, 1, 90, true);  // type 24 inside an FU
  push({0x7c}, 2, 90, true);              // no FU header
  EXPECT_TRUE(units_.empty());
  EXPECT_EQ(depacketizer_.stats().malformed_packets, 2u);
}

TEST_F(H264Test, InterleavedModeTypesAreCountedAsUnsupported) {
  for (std::uint8_t type : {25, 26, 27, 29, 30, 31, 0}) push({type, 1, 2, 3}, type, 90, false);
  push(kSlice, 40, 90, true);
  EXPECT_EQ(depacketizer_.stats().unsupported_packets, 7u);
  ASSERT_EQ(units_.size(), 1u);
  EXPECT_FALSE(units_[0].complete);
}

TEST_F(H264Test, EmptyPayloadIsCounted) {
  push({}, 1, 90, true);
  EXPECT_TRUE(units_.empty());
  EXPECT_EQ(depacketizer_.stats().empty_packets, 1u);
}

TEST_F(H264Test, OversizeAccessUnitIsDropped) {
  std::vector<AccessUnit> units;
  RtpH264Depacketizer small(
      [&](std::span<const std::uint8_t> a, std::uint32_t ts, bool c) {
        units.push_back({Bytes(a.begin(), a.end()), ts, c});
      },
      100);
  Bytes big(80, 0x41);
  RtpPacket p;
  p.payload = big;
  p.timestamp = 1;
  small.push(p);
  p.marker = true;
  small.push(p);  // 2 × 84 bytes > 100
  EXPECT_TRUE(units.empty());
  EXPECT_EQ(small.stats().oversize_access_units, 1u);
  p.timestamp = 2;
  small.push(p);
  ASSERT_EQ(units.size(), 1u);
  EXPECT_EQ(units[0].annexb.size(), 84u);
}

TEST_F(H264Test, LargeAccessUnitsGrowThePooledBuffer) {
  Bytes body(1000, 0x11);
  Bytes start = {0x7c, 0x85};
  start.insert(start.end(), body.begin(), body.end());
  push(start, 0, 90, false);
  std::uint16_t seq = 1;
  Bytes middle = {0x7c, 0x05};
  middle.insert(middle.end(), body.begin(), body.end());
  for (int i = 0; i < 200; ++i) push(middle, seq++, 90, false);
  push({0x7c, 0x45, 0x22}, seq, 90, true);
  ASSERT_EQ(units_.size(), 1u);
  EXPECT_EQ(units_[0].annexb.size(), 4u + 1 + 201 * 1000 + 1);
  EXPECT_EQ(units_[0].annexb.back(), 0x22);
}

TEST_F(H264Test, ParameterSetsFromSdpAreAnnexB) {
  auto sdp = parse_sdp(
      "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
      "m=video 5004 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
      "a=fmtp:96 packetization-mode=1; sprop-parameter-sets=Z0IAH5WoFAFuQA==,aM48gA==\r\n");
  ASSERT_TRUE(sdp.ok()) << sdp.error().message;
  auto params = h264_rtp_parameters(sdp->media[0]);
  ASSERT_TRUE(params.ok()) << params.error().message;
  EXPECT_EQ(params->packetization_mode, 1);
  ASSERT_EQ(params->parameter_sets.size(), 2u);
  depacketizer_.set_parameters(*params);
  const auto ps = depacketizer_.initial_parameter_sets();
  const Bytes expected = annexb(
      {{0x67, 0x42, 0x00, 0x1f, 0x95, 0xa8, 0x14, 0x01, 0x6e, 0x40}, {0x68, 0xce, 0x3c, 0x80}});
  EXPECT_EQ(Bytes(ps.begin(), ps.end()), expected);
}

}  // namespace
}  // namespace mirror::ingest
