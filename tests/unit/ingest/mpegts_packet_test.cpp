// TS packet header and adaptation field parsing, PCR and continuity counters.
#include "ingest/mpegts/ts_packet.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>

namespace mirror::ingest {
namespace {

using Packet = std::array<std::uint8_t, kTsPacketSize>;

Packet make_packet(std::uint16_t pid, std::uint8_t control, std::uint8_t cc,
                   bool unit_start = false) {
  Packet p{};
  p.fill(0xAB);
  p[0] = kTsSyncByte;
  p[1] = static_cast<std::uint8_t>((unit_start ? 0x40 : 0) | (pid >> 8));
  p[2] = static_cast<std::uint8_t>(pid);
  p[3] = static_cast<std::uint8_t>((control << 4) | cc);
  return p;
}

TEST(TsPacketTest, ParsesHeaderFields) {
  Packet p = make_packet(0x1ABC & kMaxPid, 0x01, 9, true);
  p[1] |= 0x80;  // transport_error_indicator
  p[3] |= 0x80;  // scrambling 10
  TsPacket out;
  ASSERT_EQ(parse_ts_packet(p, out), TsPacketError::kNone);
  EXPECT_EQ(out.pid, 0x1ABC & kMaxPid);
  EXPECT_TRUE(out.transport_error);
  EXPECT_TRUE(out.unit_start);
  EXPECT_EQ(out.scrambling, 2);
  EXPECT_EQ(out.continuity_counter, 9);
  EXPECT_TRUE(out.has_payload);
  EXPECT_FALSE(out.adaptation.present);
  EXPECT_EQ(out.payload.size(), 184u);
  EXPECT_EQ(out.payload.data(), p.data() + 4);
}

TEST(TsPacketTest, RejectsMissingSyncAndReservedControl) {
  Packet p = make_packet(0x100, 0x01, 0);
  p[0] = 0x48;
  TsPacket out;
  EXPECT_EQ(parse_ts_packet(p, out), TsPacketError::kNoSync);
  p = make_packet(0x100, 0x00, 0);
  EXPECT_EQ(parse_ts_packet(p, out), TsPacketError::kReservedAdaptationControl);
}

TEST(TsPacketTest, ParsesAdaptationFieldFlagsAndPcr) {
  Packet p = make_packet(0x100, 0x03, 0);
  p[4] = 7;
  p[5] = 0x80 | 0x40 | 0x10;
  // base 0x1'2345'6789 (33 bits), extension 0x123.
  const std::int64_t base = 0x123456789LL, ext = 0x123;
  p[6] = static_cast<std::uint8_t>(base >> 25);
  p[7] = static_cast<std::uint8_t>(base >> 17);
  p[8] = static_cast<std::uint8_t>(base >> 9);
  p[9] = static_cast<std::uint8_t>(base >> 1);
  p[10] = static_cast<std::uint8_t>(((base & 1) << 7) | 0x7E | (ext >> 8));
  p[11] = static_cast<std::uint8_t>(ext);
  TsPacket out;
  ASSERT_EQ(parse_ts_packet(p, out), TsPacketError::kNone);
  EXPECT_TRUE(out.adaptation.present);
  EXPECT_TRUE(out.adaptation.discontinuity);
  EXPECT_TRUE(out.adaptation.random_access);
  ASSERT_TRUE(out.adaptation.pcr.has_value());
  EXPECT_EQ(*out.adaptation.pcr, base * 300 + ext);
  EXPECT_EQ(out.payload.size(), 184u - 8);
}

TEST(TsPacketTest, AdaptationLengthLimitsDependOnPayload) {
  TsPacket out;
  Packet p = make_packet(0x100, 0x02, 0);  // adaptation only
  p[4] = 183;
  p[5] = 0;
  EXPECT_EQ(parse_ts_packet(p, out), TsPacketError::kNone);
  EXPECT_FALSE(out.has_payload);
  EXPECT_TRUE(out.payload.empty());
  p[4] = 184;
  EXPECT_EQ(parse_ts_packet(p, out), TsPacketError::kBadAdaptationLength);

  p = make_packet(0x100, 0x03, 0);  // adaptation and payload
  p[4] = 182;
  p[5] = 0;
  EXPECT_EQ(parse_ts_packet(p, out), TsPacketError::kNone);
  EXPECT_EQ(out.payload.size(), 1u);
  p[4] = 183;
  EXPECT_EQ(parse_ts_packet(p, out), TsPacketError::kBadAdaptationLength);
  // Header fields are there even when the adaptation field is bad.
  EXPECT_EQ(out.pid, 0x100);
}

TEST(TsPacketTest, PcrFlagWithoutRoomIsIgnored) {
  Packet p = make_packet(0x100, 0x03, 0);
  p[4] = 3;
  p[5] = 0x10;
  TsPacket out;
  ASSERT_EQ(parse_ts_packet(p, out), TsPacketError::kNone);
  EXPECT_FALSE(out.adaptation.pcr.has_value());
  EXPECT_EQ(out.payload.size(), 180u);
}

TEST(TsPacketTest, EmptyAdaptationFieldHasNoFlags) {
  Packet p = make_packet(0x100, 0x03, 0);
  p[4] = 0;
  TsPacket out;
  ASSERT_EQ(parse_ts_packet(p, out), TsPacketError::kNone);
  EXPECT_TRUE(out.adaptation.present);
  EXPECT_FALSE(out.adaptation.random_access);
  EXPECT_EQ(out.payload.size(), 183u);
}

TEST(ContinuityCounterTest, AcceptsIncrementsAndWraps) {
  ContinuityCounter cc;
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(cc.check(static_cast<std::uint8_t>(i & 0x0F), true, false),
              ContinuityCounter::Result::kOk);
  }
}

TEST(ContinuityCounterTest, OneDuplicateIsAllowed) {
  ContinuityCounter cc;
  EXPECT_EQ(cc.check(3, true, false), ContinuityCounter::Result::kOk);
  EXPECT_EQ(cc.check(3, true, false), ContinuityCounter::Result::kDuplicate);
  EXPECT_EQ(cc.check(3, true, false), ContinuityCounter::Result::kGap);
  EXPECT_EQ(cc.check(4, true, false), ContinuityCounter::Result::kOk);
  EXPECT_EQ(cc.check(4, true, false), ContinuityCounter::Result::kDuplicate);
  EXPECT_EQ(cc.check(5, true, false), ContinuityCounter::Result::kOk);
}

TEST(ContinuityCounterTest, GapIsReportedAndBecomesTheNewReference) {
  ContinuityCounter cc;
  EXPECT_EQ(cc.check(0, true, false), ContinuityCounter::Result::kOk);
  EXPECT_EQ(cc.check(2, true, false), ContinuityCounter::Result::kGap);
  EXPECT_EQ(cc.check(3, true, false), ContinuityCounter::Result::kOk);
}

TEST(ContinuityCounterTest, PacketsWithoutPayloadDoNotAdvance) {
  ContinuityCounter cc;
  EXPECT_EQ(cc.check(7, true, false), ContinuityCounter::Result::kOk);
  EXPECT_EQ(cc.check(7, false, false), ContinuityCounter::Result::kOk);
  EXPECT_EQ(cc.check(12, false, false), ContinuityCounter::Result::kOk);
  EXPECT_EQ(cc.check(8, true, false), ContinuityCounter::Result::kOk);
}

TEST(ContinuityCounterTest, DiscontinuityIndicatorResetsTheExpectation) {
  ContinuityCounter cc;
  EXPECT_EQ(cc.check(1, true, false), ContinuityCounter::Result::kOk);
  EXPECT_EQ(cc.check(9, true, true), ContinuityCounter::Result::kOk);
  EXPECT_EQ(cc.check(10, true, false), ContinuityCounter::Result::kOk);
  // On a packet without payload: the next payload packet is accepted as is.
  EXPECT_EQ(cc.check(4, false, true), ContinuityCounter::Result::kOk);
  EXPECT_EQ(cc.check(13, true, false), ContinuityCounter::Result::kOk);
  cc.reset();
  EXPECT_EQ(cc.check(2, true, false), ContinuityCounter::Result::kOk);
}

}  // namespace
}  // namespace mirror::ingest
