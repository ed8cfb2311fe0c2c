// RTCP compound parsing: Sender Reports, BYE, skipping the rest safely.
#include "ingest/rtp/rtcp.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace mirror::ingest {
namespace {

using Bytes = std::vector<std::uint8_t>;

void put32(Bytes& b, std::uint32_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 24));
  b.push_back(static_cast<std::uint8_t>(v >> 16));
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}

// Header with the length field computed from `body` (a multiple of 4).
Bytes rtcp(std::uint8_t count, std::uint8_t type, const Bytes& body, bool padding = false) {
  Bytes b = {static_cast<std::uint8_t>(0x80 | (padding ? 0x20 : 0) | count), type};
  const std::size_t words = body.size() / 4;
  b.push_back(static_cast<std::uint8_t>(words >> 8));
  b.push_back(static_cast<std::uint8_t>(words));
  b.insert(b.end(), body.begin(), body.end());
  return b;
}

Bytes sender_report(std::uint32_t ssrc, std::uint64_t ntp, std::uint32_t rtp_ts, int blocks = 0) {
  Bytes body;
  put32(body, ssrc);
  put32(body, static_cast<std::uint32_t>(ntp >> 32));
  put32(body, static_cast<std::uint32_t>(ntp));
  put32(body, rtp_ts);
  put32(body, 100);
  put32(body, 12345);
  for (int i = 0; i < blocks * 6; ++i) put32(body, 0);
  return rtcp(static_cast<std::uint8_t>(blocks), 200, body);
}

Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

TEST(Rtcp, ParsesSenderReport) {
  const std::uint64_t ntp = (std::uint64_t{0xe8000000} << 32) | 0x80000000u;
  auto c = parse_rtcp(sender_report(0xcafe, ntp, 90000, 1));
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c->reports().size(), 1u);
  const auto& sr = c->reports()[0];
  EXPECT_EQ(sr.ssrc, 0xcafeu);
  EXPECT_EQ(sr.ntp_timestamp, ntp);
  EXPECT_EQ(sr.rtp_timestamp, 90000u);
  EXPECT_EQ(sr.packet_count, 100u);
  EXPECT_EQ(sr.octet_count, 12345u);
  EXPECT_FALSE(c->bye);
}

TEST(Rtcp, WalksCompoundSrSdesBye) {
  Bytes sdes_body = {0, 0, 0, 1, 1, 3, 'a', 'b', 'c', 0, 0, 0};
  Bytes bye_body;
  put32(bye_body, 0xcafe);
  const Bytes compound = concat({sender_report(0xcafe, 1, 2), rtcp(1, 202, sdes_body), rtcp(1, 203, bye_body)});
  auto c = parse_rtcp(compound);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->packet_count, 3u);
  EXPECT_EQ(c->skipped_packets, 1u);
  EXPECT_EQ(c->reports().size(), 1u);
  EXPECT_TRUE(c->bye);
  ASSERT_EQ(c->bye_sources().size(), 1u);
  EXPECT_EQ(c->bye_sources()[0], 0xcafeu);
}

TEST(Rtcp, SkipsReceiverReportsAppAndUnknownTypes) {
  Bytes rr_body;
  put32(rr_body, 7);
  const Bytes compound = concat({rtcp(0, 201, rr_body), rtcp(0, 204, Bytes(8, 1)), rtcp(3, 250, {})});
  auto c = parse_rtcp(compound);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->packet_count, 3u);
  EXPECT_EQ(c->skipped_packets, 3u);
  EXPECT_TRUE(c->reports().empty());
}

TEST(Rtcp, RejectsLengthPastTheEnd) {
  const Bytes full = sender_report(1, 2, 3);
  const Bytes b(full.begin(), full.end() - 4);  // length field still claims the full report
  auto c = parse_rtcp(b);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().details["reason"], "bad_length");
}

TEST(Rtcp, RejectsTrailingBytesShorterThanAHeader) {
  Bytes b = concat({sender_report(1, 2, 3), {0x80, 200}});
  RtcpCompound out;
  EXPECT_EQ(parse_rtcp_compound(b, out), RtcpError::kTruncated);
  EXPECT_EQ(out.reports().size(), 1u);  // what came before is kept
  EXPECT_EQ(parse_rtcp_compound({}, out), RtcpError::kTruncated);
}

TEST(Rtcp, RejectsBadVersion) {
  Bytes b = sender_report(1, 2, 3);
  b[0] = static_cast<std::uint8_t>((b[0] & 0x3f) | 0x40);
  RtcpCompound out;
  EXPECT_EQ(parse_rtcp_compound(b, out), RtcpError::kBadVersion);
}

TEST(Rtcp, RejectsSenderReportShorterThanItsReportCount) {
  Bytes b = sender_report(1, 2, 3, 1);
  b[0] = static_cast<std::uint8_t>(0x80 | 2);  // claims two report blocks, holds one
  RtcpCompound out;
  EXPECT_EQ(parse_rtcp_compound(b, out), RtcpError::kBadReport);
  // A BYE claiming more sources than it holds.
  Bytes bye_body;
  put32(bye_body, 5);
  EXPECT_EQ(parse_rtcp_compound(rtcp(2, 203, bye_body), out), RtcpError::kBadReport);
}

TEST(Rtcp, HandlesPaddingAndRejectsForgedPadding) {
  Bytes bye_body;
  put32(bye_body, 9);
  put32(bye_body, 0x00000004);  // 4 bytes of padding, count in the last byte
  auto c = parse_rtcp(rtcp(1, 203, bye_body, true));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->bye_sources().size(), 1u);
  Bytes forged;
  put32(forged, 0x000000ff);
  RtcpCompound out;
  EXPECT_EQ(parse_rtcp_compound(rtcp(0, 203, forged, true), out), RtcpError::kBadPadding);
}

TEST(Rtcp, ByeWithMoreSourcesThanCapacityCountsTheRest) {
  Bytes body;
  for (std::uint32_t i = 0; i < 20; ++i) put32(body, i);
  auto c = parse_rtcp(rtcp(20, 203, body));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->bye_sources().size(), RtcpCompound::kMaxEntries);
  EXPECT_EQ(c->dropped_entries, 20 - RtcpCompound::kMaxEntries);
}

TEST(Rtcp, NtpTimeConvertsToSystemTime) {
  // 2208988800 s after 1900 is the Unix epoch; half a second of fraction.
  const std::uint64_t ntp = (std::uint64_t{2208988800u + 10} << 32) | 0x80000000u;
  const auto t = ntp_to_system_time(ntp);
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count(), 10500);
}

}  // namespace
}  // namespace mirror::ingest
