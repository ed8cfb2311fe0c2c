// RTP fixed header parsing and the 16/32-bit counter unwrappers.
#include "ingest/rtp/rtp_packet.h"
#include "ingest/rtp/rtp_unwrap.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace mirror::ingest {
namespace {

using Bytes = std::vector<std::uint8_t>;

// A 12-byte header (V=2) followed by `rest`.
Bytes header(std::uint8_t first, std::uint8_t second, Bytes rest = {}) {
  const std::uint8_t fixed[12] = {first, second, 0x12, 0x34, 0xde, 0xad,
                                  0xbe,  0xef,   0x01, 0x02, 0x03, 0x04};
  Bytes b(12 + rest.size());
  std::copy(fixed, fixed + 12, b.begin());
  std::copy(rest.begin(), rest.end(), b.begin() + 12);
  return b;
}

TEST(RtpPacket, ParsesFixedHeaderFields) {
  const Bytes d = header(0x80, 0x80 | 96, {0xaa, 0xbb});
  auto p = parse_rtp(d);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->marker);
  EXPECT_EQ(p->payload_type, 96);
  EXPECT_EQ(p->sequence, 0x1234);
  EXPECT_EQ(p->timestamp, 0xdeadbeefu);
  EXPECT_EQ(p->ssrc, 0x01020304u);
  EXPECT_EQ(p->csrc_count, 0);
  EXPECT_FALSE(p->has_extension);
  EXPECT_EQ(p->padding_size, 0);
  ASSERT_EQ(p->payload.size(), 2u);
  EXPECT_EQ(p->payload.data(), d.data() + 12);
}

TEST(RtpPacket, EmptyPayloadIsValid) {
  const Bytes d = header(0x80, 33);
  auto p = parse_rtp(d);
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->marker);
  EXPECT_EQ(p->payload_type, 33);
  EXPECT_TRUE(p->payload.empty());
}

TEST(RtpPacket, RejectsDatagramShorterThanHeaderAsTruncated) {
  const Bytes full = header(0x80, 96);
  for (std::size_t n = 0; n < 12; ++n) {
    const Bytes d(full.begin(), full.begin() + static_cast<long>(n));
    RtpPacket out;
    EXPECT_EQ(parse_rtp_header(d, out), RtpError::kTruncated) << n;
  }
}

TEST(RtpPacket, RejectsVersionOtherThanTwo) {
  for (std::uint8_t v : {0x00, 0x40, 0xc0}) {
    const Bytes d = header(v, 96, {1, 2, 3});
    auto p = parse_rtp(d);
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.error().code, core::ErrorCode::kInvalidInput);
    EXPECT_EQ(p.error().details["reason"], "bad_version");
    EXPECT_NE(p.error().message.find("bad_version"), std::string::npos);
  }
}

TEST(RtpPacket, StripsPadding) {
  const Bytes d = header(0xa0, 96, {0x11, 0x22, 0x00, 0x00, 0x03});
  auto p = parse_rtp(d);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->padding_size, 3);
  ASSERT_EQ(p->payload.size(), 2u);
  EXPECT_EQ(p->payload[1], 0x22);
}

TEST(RtpPacket, AcceptsPaddingFillingTheWholePayload) {
  const Bytes d = header(0xa0, 96, {0x00, 0x00, 0x03});
  auto p = parse_rtp(d);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->payload.empty());
}

TEST(RtpPacket, RejectsPaddingLongerThanThePacket) {
  const Bytes d = header(0xa0, 96, {0x11, 0x22, 0x04});
  auto p = parse_rtp(d);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().details["reason"], "bad_padding");
  // A count reaching back into the header is forged too.
  RtpPacket out;
  EXPECT_EQ(parse_rtp_header(header(0xa0, 96, {0xff}), out), RtpError::kBadPadding);
}

TEST(RtpPacket, RejectsZeroPaddingCount) {
  RtpPacket out;
  EXPECT_EQ(parse_rtp_header(header(0xa0, 96, {0x11, 0x00}), out), RtpError::kBadPadding);
  // Padding flag with no byte to hold the count.
  EXPECT_EQ(parse_rtp_header(header(0xa0, 96), out), RtpError::kBadPadding);
}

TEST(RtpPacket, ParsesCsrcList) {
  const Bytes d = header(0x82, 96, {0, 0, 0, 1, 0xff, 0xff, 0xff, 0xfe, 0x55});
  auto p = parse_rtp(d);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->csrc_count, 2);
  EXPECT_EQ(p->csrc(0), 1u);
  EXPECT_EQ(p->csrc(1), 0xfffffffeu);
  EXPECT_EQ(p->csrc(2), 0u);
  ASSERT_EQ(p->payload.size(), 1u);
  EXPECT_EQ(p->payload[0], 0x55);
}

TEST(RtpPacket, RejectsCsrcListPastTheEnd) {
  RtpPacket out;
  EXPECT_EQ(parse_rtp_header(header(0x8f, 96, Bytes(59, 0)), out), RtpError::kTruncated);
  EXPECT_EQ(parse_rtp_header(header(0x8f, 96, Bytes(60, 0)), out), RtpError::kNone);
}

TEST(RtpPacket, ParsesHeaderExtension) {
  const Bytes d = header(0x90, 96, {0xbe, 0xde, 0x00, 0x01, 1, 2, 3, 4, 0x77});
  auto p = parse_rtp(d);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->has_extension);
  EXPECT_EQ(p->extension_profile, 0xbede);
  ASSERT_EQ(p->extension.size(), 4u);
  EXPECT_EQ(p->extension[3], 4);
  ASSERT_EQ(p->payload.size(), 1u);
  EXPECT_EQ(p->payload[0], 0x77);
}

TEST(RtpPacket, RejectsExtensionPastTheEnd) {
  const Bytes d = header(0x90, 96, {0xbe, 0xde, 0x00, 0x02, 1, 2, 3, 4});
  auto p = parse_rtp(d);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().details["reason"], "bad_extension");
  RtpPacket out;
  // The extension header itself cut short.
  EXPECT_EQ(parse_rtp_header(header(0x90, 96, {0xbe, 0xde, 0x00}), out), RtpError::kBadExtension);
  // Huge length field.
  EXPECT_EQ(parse_rtp_header(header(0x90, 96, {0xbe, 0xde, 0xff, 0xff}), out),
            RtpError::kBadExtension);
}

TEST(RtpPacket, PaddingCannotReachIntoTheExtension) {
  RtpPacket out;
  // 4-byte extension, then one payload byte that claims 2 bytes of padding.
  EXPECT_EQ(parse_rtp_header(header(0xb0, 96, {0, 0, 0, 1, 1, 2, 3, 4, 0x02}), out),
            RtpError::kBadPadding);
}

TEST(RtpPacket, EveryPrefixOfAValidPacketIsSafe) {
  const Bytes full =
      header(0xb1, 0x80 | 96, {0, 0, 0, 7, 0xbe, 0xde, 0, 1, 9, 9, 9, 9, 0x41, 0x42, 0x00, 0x02});
  RtpPacket out;
  ASSERT_EQ(parse_rtp_header(full, out), RtpError::kNone);
  EXPECT_EQ(out.payload.size(), 2u);
  for (std::size_t n = 0; n < full.size(); ++n) {
    // A heap copy of exactly n bytes lets ASan catch any read past the span.
    std::vector<std::uint8_t> prefix(full.begin(), full.begin() + static_cast<long>(n));
    (void)parse_rtp_header(prefix, out);
  }
}

TEST(RtpPacket, ErrorNamesAreStable) {
  EXPECT_EQ(rtp_error_name(RtpError::kNone), "ok");
  EXPECT_EQ(rtp_error_name(RtpError::kTruncated), "truncated");
  EXPECT_EQ(rtp_error_name(RtpError::kBadVersion), "bad_version");
  EXPECT_EQ(rtp_error_name(RtpError::kBadPadding), "bad_padding");
  EXPECT_EQ(rtp_error_name(RtpError::kBadExtension), "bad_extension");
}

TEST(RtpUnwrap, SequenceCrossesWrapForwardAndBack) {
  SequenceUnwrapper u;
  EXPECT_EQ(u.unwrap(65534), 65534);
  EXPECT_EQ(u.unwrap(65535), 65535);
  EXPECT_EQ(u.unwrap(0), 65536);
  EXPECT_EQ(u.unwrap(1), 65537);
  EXPECT_EQ(u.unwrap(65535), 65535);  // reordered across the wrap
  EXPECT_EQ(u.unwrap(2), 65538);
}

TEST(RtpUnwrap, TimestampCrossesWrap) {
  RtpTimestampUnwrapper u;
  EXPECT_EQ(u.unwrap(0xffffff00u), 0xffffff00LL);
  EXPECT_EQ(u.unwrap(0x00000100u), 0x100000100LL);
  EXPECT_EQ(u.unwrap(0xfffffff0u), 0xfffffff0LL);  // B-frame style step back over the wrap
  EXPECT_EQ(u.unwrap(0x00001000u), 0x100001000LL);
}

}  // namespace
}  // namespace mirror::ingest
