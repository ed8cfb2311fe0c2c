// HEVC RTP depacketizing (RFC 7798, no DONL): single NAL units, aggregation
// packets, fragmentation units, PACI, and the SDP's sprop-vps/sps/pps.
#include "ingest/rtp/rtp_hevc_depacketizer.h"

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

class HevcTest : public ::testing::Test {
 protected:
  HevcTest()
      : depacketizer_(
            [this](std::span<const std::uint8_t> annexb, std::uint32_t ts, bool complete) {
              units_.push_back({Bytes(annexb.begin(), annexb.end()), ts, complete});
            }) {}

  void push(Bytes payload, std::uint16_t seq, std::uint32_t ts, bool marker,
            bool after_loss = false) {
    payloads_.push_back(std::move(payload));
    RtpPacket p;
    p.sequence = seq;
    p.timestamp = ts;
    p.marker = marker;
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
  RtpHevcDepacketizer depacketizer_;
};

// NAL header: type << 1, layer 0, TID 1.
const Bytes kVps = {0x40, 0x01, 0x0c, 0x01};
const Bytes kSps = {0x42, 0x01, 0x01, 0x01};
const Bytes kPps = {0x44, 0x01, 0xc0, 0x73};
const Bytes kIdr = {0x26, 0x01, 0xaf, 0x01, 0x02};  // IDR_W_RADL (19)
const Bytes kTrail = {0x02, 0x01, 0xd0, 0x11};      // TRAIL_R (1)

Bytes aggregation(std::initializer_list<Bytes> nals) {
  Bytes ap = {48 << 1, 0x01};
  for (const auto& n : nals) {
    ap.push_back(static_cast<std::uint8_t>(n.size() >> 8));
    ap.push_back(static_cast<std::uint8_t>(n.size()));
    ap.insert(ap.end(), n.begin(), n.end());
  }
  return ap;
}

TEST_F(HevcTest, SingleNalUnitsFormAnAccessUnit) {
  push(kVps, 1, 100, false);
  push(kSps, 2, 100, false);
  push(kPps, 3, 100, false);
  push(kIdr, 4, 100, true);
  ASSERT_EQ(units_.size(), 1u);
  EXPECT_EQ(units_[0].annexb, annexb({kVps, kSps, kPps, kIdr}));
  EXPECT_TRUE(units_[0].complete);
  EXPECT_EQ(units_[0].timestamp, 100u);
}

TEST_F(HevcTest, HeaderOnlyNalUnitIsAccepted) {
  push({0x48, 0x01}, 1, 100, true);  // end of sequence (36): just a header
  ASSERT_EQ(units_.size(), 1u);
  EXPECT_EQ(units_[0].annexb, annexb({{0x48, 0x01}}));
}

TEST_F(HevcTest, AggregationPacketSplitsIntoNalUnits) {
  push(aggregation({kVps, kSps, kPps}), 1, 100, false);
  push(kIdr, 2, 100, true);
  ASSERT_EQ(units_.size(), 1u);
  EXPECT_EQ(units_[0].annexb, annexb({kVps, kSps, kPps, kIdr}));
}

TEST_F(HevcTest, AggregationWithLengthPastTheEndContributesNothing) {
  Bytes ap = aggregation({kVps, kSps});
  ap[2 + 2 + kVps.size() + 1] = 200;  // second unit claims 200 bytes
  push(ap, 1, 100, false);
  push({48 << 1, 0x01}, 2, 100, false);                    // no unit at all
  push({48 << 1, 0x01, 0x00, 0x01, 0x40}, 3, 100, false);  // unit shorter than a NAL header
  // A length field that is the packet's last two bytes, claiming more.
  push({48 << 1, 0x01, 0x00, 0x02, 0x02, 0x01, 0x70, 0x00}, 4, 100, false);
  push(kIdr, 5, 100, true);
  ASSERT_EQ(units_.size(), 1u);
  EXPECT_EQ(units_[0].annexb, annexb({kIdr}));
  EXPECT_FALSE(units_[0].complete);
  EXPECT_EQ(depacketizer_.stats().malformed_packets, 4u);
}

TEST_F(HevcTest, FragmentationUnitReassembles) {
  // FU payload header: type 49, layer 0, TID 1; FU header S/E + type 19.
  push({49 << 1, 0x01, 0x80 | 19, 0xaf, 0x01}, 7, 100, false);
  push({49 << 1, 0x01, 19, 0x02}, 8, 100, false);
  push({49 << 1, 0x01, 0x40 | 19, 0x03}, 9, 100, true);
  ASSERT_EQ(units_.size(), 1u);
  EXPECT_EQ(units_[0].annexb, annexb({{0x26, 0x01, 0xaf, 0x01, 0x02, 0x03}}));
  EXPECT_TRUE(units_[0].complete);
}

TEST_F(HevcTest, FragmentationUnitKeepsLayerAndTid) {
  // F = 0, LayerId = 33 (its high bit is bit 0 of byte 0), TID 3.
  push({(49 << 1) | 0x01, 0x0b, 0xc0 | 1, 0x55}, 1, 100, true);
  ASSERT_EQ(units_.size(), 1u);
  EXPECT_EQ(units_[0].annexb, annexb({{(1 << 1) | 0x01, 0x0b, 0x55}}));
}

TEST_F(HevcTest, FragmentWithoutStartIsDroppedAndCounted) {
  push({49 << 1, 0x01, 19, 0x02}, 8, 100, false);
  push({49 << 1, 0x01, 0x40 | 19, 0x03}, 9, 100, false);
  push(kTrail, 10, 100, true);
  ASSERT_EQ(units_.size(), 1u);
  EXPECT_EQ(units_[0].annexb, annexb({kTrail}));
  EXPECT_FALSE(units_[0].complete);
  EXPECT_EQ(depacketizer_.stats().fragments_dropped, 2u);
}

TEST_F(HevcTest, FragmentAcrossALossIsDropped) {
  push({49 << 1, 0x01, 0x80 | 19, 0xaf}, 7, 100, false);
  push({49 << 1, 0x01, 0x40 | 19, 0x03}, 9, 100, true, /*after_loss=*/true);
  EXPECT_TRUE(units_.empty());
  EXPECT_GE(depacketizer_.stats().fragments_dropped, 2u);
}

TEST_F(HevcTest, PaciAndUndefinedTypesAreCountedAsUnsupported) {
  push({50 << 1, 0x01, 0x00, 0x00}, 1, 100, false);
  push({60 << 1, 0x01, 0x00}, 2, 100, false);
  push(kTrail, 3, 100, true);
  EXPECT_EQ(depacketizer_.stats().unsupported_packets, 2u);
  ASSERT_EQ(units_.size(), 1u);
  EXPECT_EQ(units_[0].annexb, annexb({kTrail}));
}

TEST_F(HevcTest, ForbiddenTidZeroAndShortPacketsAreRejected) {
  push({0x02, 0x00, 0x11}, 1, 100, false);               // TID 0
  push({0x02}, 2, 100, false);                           // shorter than the payload header
  push({49 << 1, 0x01}, 3, 100, false);                  // FU without its FU header
  push({49 << 1, 0x01, 0x80 | 48, 0x00}, 4, 100, true);  // FU carrying type 48
  EXPECT_TRUE(units_.empty());
  EXPECT_EQ(depacketizer_.stats().malformed_packets, 3u);
  EXPECT_EQ(depacketizer_.stats().empty_packets, 1u);
}

TEST_F(HevcTest, ParameterSetsFromSdpAreAnnexB) {
  auto sdp = parse_sdp(
      "v=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\nc=IN IP4 127.0.0.1\nt=0 0\n"
      "m=video 5004 RTP/AVP 96\na=rtpmap:96 H265/90000\n"
      "a=fmtp:96 sprop-vps=QAEMAf//AWAAAAMAkAAAAwAAAwA8lZQJ; "
      "sprop-sps=QgEBAWAAAAMAkAAAAwAAAwA8oAoIDxZZWVKTC8BaAgAAAwACAAADADIQ; "
      "sprop-pps=RAHAc8GJ\n");
  ASSERT_TRUE(sdp.ok()) << sdp.error().message;
  auto params = hevc_rtp_parameters(sdp->media[0]);
  ASSERT_TRUE(params.ok()) << params.error().message;
  ASSERT_EQ(params->vps.size(), 1u);
  ASSERT_EQ(params->sps.size(), 1u);
  ASSERT_EQ(params->pps.size(), 1u);
  depacketizer_.set_parameters(*params);
  const auto ps = depacketizer_.initial_parameter_sets();
  EXPECT_EQ(Bytes(ps.begin(), ps.end()), annexb({params->vps[0], params->sps[0], params->pps[0]}));
  EXPECT_EQ(ps[4], 0x40);
}

TEST_F(HevcTest, SdpWithDonlOrWrongParameterSetTypeIsRejected) {
  const std::string head =
      "v=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\nc=IN IP4 127.0.0.1\nt=0 0\n"
      "m=video 5004 RTP/AVP 96\na=rtpmap:96 H265/90000\n";
  auto donl = parse_sdp(head + "a=fmtp:96 sprop-max-don-diff=2\n");
  ASSERT_TRUE(donl.ok());
  auto p1 = hevc_rtp_parameters(donl->media[0]);
  ASSERT_FALSE(p1.ok());
  EXPECT_NE(p1.error().message.find("sprop-max-don-diff"), std::string::npos);
  EXPECT_NE(p1.error().message.find("line 8"), std::string::npos);
  auto swapped = parse_sdp(head + "a=fmtp:96 sprop-vps=RAHAc8GJ\n");  // a PPS given as VPS
  ASSERT_TRUE(swapped.ok());
  EXPECT_FALSE(hevc_rtp_parameters(swapped->media[0]).ok());
  auto zero = parse_sdp(head + "a=fmtp:96 sprop-max-don-diff=0\n");
  ASSERT_TRUE(zero.ok());
  EXPECT_TRUE(hevc_rtp_parameters(zero->media[0]).ok());
}

}  // namespace
}  // namespace mirror::ingest
