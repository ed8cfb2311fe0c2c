#include "media/bit_reader.h"

#include "unit/media/bit_writer.h"

#include <gtest/gtest.h>

#include <array>
#include <vector>

namespace mirror::media {
namespace {

using Bytes = std::vector<std::uint8_t>;

TEST(BitReaderTest, ReadsBitsMostSignificantFirst) {
  const Bytes data = {0xa5, 0x0f, 0xff, 0x00, 0x12, 0x34, 0x56, 0x78, 0x9a};
  BitReader br(data);
  EXPECT_EQ(br.read_bits(1), 1u);
  EXPECT_EQ(br.read_bits(3), 0b010u);
  EXPECT_EQ(br.read_bits(4), 0x5u);
  EXPECT_EQ(br.read_bits(12), 0x0ffu);
  EXPECT_EQ(br.read_bits(4), 0xfu);
  EXPECT_EQ(br.read_bits(0), 0u);
  EXPECT_EQ(br.read_bits(32), 0x00123456u);
  EXPECT_EQ(br.bits_left(), 16u);
  EXPECT_TRUE(br.read_bit() == false);
  EXPECT_FALSE(br.error());
}

TEST(BitReaderTest, ReadsFullWordsAcrossUnalignedBytes) {
  const Bytes data = {0xff, 0xff, 0xff, 0xff, 0xff};
  BitReader br(data);
  br.skip_bits(3);
  EXPECT_EQ(br.read_bits(32), 0xffffffffu);
  EXPECT_EQ(br.bits_left(), 5u);
}

TEST(BitReaderTest, ReadingPastTheEndSetsStickyError) {
  const Bytes data = {0xff};
  BitReader br(data);
  EXPECT_EQ(br.read_bits(6), 0x3fu);
  EXPECT_EQ(br.read_bits(3), 0u);
  EXPECT_TRUE(br.error());
  EXPECT_EQ(br.bits_left(), 0u);
  // Sticky: even a read that would fit returns 0 now.
  EXPECT_EQ(br.read_bits(1), 0u);
  EXPECT_FALSE(br.read_bit());
  EXPECT_TRUE(br.error());
}

TEST(BitReaderTest, RejectsWidthsOutsideZeroToThirtyTwo) {
  const Bytes data(16, 0xff);
  BitReader a(data);
  EXPECT_EQ(a.read_bits(33), 0u);
  EXPECT_TRUE(a.error());
  BitReader b(data);
  EXPECT_EQ(b.read_bits(-1), 0u);
  EXPECT_TRUE(b.error());
}

TEST(BitReaderTest, SkipPastTheEndSetsError) {
  const Bytes data = {0, 0};
  BitReader br(data);
  br.skip_bits(16);
  EXPECT_FALSE(br.error());
  br.skip_bits(1);
  EXPECT_TRUE(br.error());
}

TEST(BitReaderTest, EmptySpanReadsNothing) {
  BitReader br(std::span<const std::uint8_t>{});
  EXPECT_EQ(br.bits_left(), 0u);
  EXPECT_EQ(br.read_ue(), 0u);
  EXPECT_TRUE(br.error());
}

TEST(BitReaderTest, ReadsExpGolombCodes) {
  testing::BitWriter w;
  const std::uint32_t values[] = {0, 1, 2, 3, 7, 8, 255, 65535, 1u << 20, 0xfffffffeu};
  for (auto v : values) w.ue(v);
  w.se(0).se(1).se(-1).se(2).se(-2).se(1000).se(-1000).se(2147483647).se(-2147483647);
  w.trailing();
  BitReader br(w.bytes());
  for (auto v : values) EXPECT_EQ(br.read_ue(), v);
  EXPECT_EQ(br.read_se(), 0);
  EXPECT_EQ(br.read_se(), 1);
  EXPECT_EQ(br.read_se(), -1);
  EXPECT_EQ(br.read_se(), 2);
  EXPECT_EQ(br.read_se(), -2);
  EXPECT_EQ(br.read_se(), 1000);
  EXPECT_EQ(br.read_se(), -1000);
  EXPECT_EQ(br.read_se(), 2147483647);
  EXPECT_EQ(br.read_se(), -2147483647);
  EXPECT_FALSE(br.error());
}

TEST(BitReaderTest, ExpGolombWithMoreThanThirtyOneLeadingZerosIsAnError) {
  // 32 zero bits, then a 1 and 32 more bits: a value of 2^32 - 1 + x, too big.
  const Bytes data = {0, 0, 0, 0, 0x80, 0, 0, 0, 0, 0xff};
  BitReader br(data);
  EXPECT_EQ(br.read_ue(), 0u);
  EXPECT_TRUE(br.error());
  // 31 leading zeros is the largest allowed: 2^31 - 1 + 31 bits.
  testing::BitWriter w;
  w.bits(0, 31).bit(true).bits(0x7fffffff, 31);
  BitReader ok(w.bytes());
  EXPECT_EQ(ok.read_ue(), 0xfffffffeu);
  EXPECT_FALSE(ok.error());
}

TEST(BitReaderTest, AllZeroBytesAreNotAValidExpGolombCode) {
  const Bytes data(64, 0);
  BitReader br(data);
  EXPECT_EQ(br.read_ue(), 0u);
  EXPECT_TRUE(br.error());
}

TEST(BitReaderTest, TruncatedExpGolombSuffixIsAnError) {
  const Bytes data = {0x00, 0x01};  // 15 zeros, a 1, then no room for 15 more bits
  BitReader br(data);
  EXPECT_EQ(br.read_ue(), 0u);
  EXPECT_TRUE(br.error());
  BitReader se(data);
  EXPECT_EQ(se.read_se(), 0);
  EXPECT_TRUE(se.error());
}

TEST(BitReaderTest, ReportsPositionAndAlignment) {
  const Bytes data = {0xff, 0xff};
  BitReader br(data);
  EXPECT_TRUE(br.byte_aligned());
  br.skip_bits(3);
  EXPECT_FALSE(br.byte_aligned());
  EXPECT_EQ(br.position(), 3u);
  EXPECT_EQ(br.bits_left(), 13u);
  br.set_error();
  EXPECT_TRUE(br.error());
  EXPECT_EQ(br.bits_left(), 0u);
}

TEST(UnescapeRbspTest, RemovesEmulationPreventionBytes) {
  const Bytes nal = {0x67, 0x00, 0x00, 0x03, 0x01, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03};
  Bytes out;
  unescape_rbsp(nal, out);
  EXPECT_EQ(out, (Bytes{0x67, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00}));
}

TEST(UnescapeRbspTest, KeepsThreesThatAreNotAfterTwoZeros) {
  const Bytes nal = {0x03, 0x00, 0x03, 0x00, 0x00, 0x00, 0x03, 0x03};
  Bytes out;
  unescape_rbsp(nal, out);
  // 00 00 00 03: the 03 follows two zeros and goes; the next 03 stays.
  EXPECT_EQ(out, (Bytes{0x03, 0x00, 0x03, 0x00, 0x00, 0x00, 0x03}));
}

TEST(UnescapeRbspTest, ZerosCountRestartsAfterARemovedByte) {
  // 00 00 03 00 00 03: both 03 are emulation prevention.
  const Bytes nal = {0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x01};
  Bytes out;
  unescape_rbsp(nal, out);
  EXPECT_EQ(out, (Bytes{0x00, 0x00, 0x00, 0x00, 0x01}));
}

TEST(UnescapeRbspTest, ClearsOutputAndHandlesEmptyInput) {
  Bytes out = {1, 2, 3};
  unescape_rbsp(std::span<const std::uint8_t>{}, out);
  EXPECT_TRUE(out.empty());
}

TEST(UnescapeRbspTest, FixedBufferStopsWhenFull) {
  const Bytes nal = {0x00, 0x00, 0x03, 0x01, 0x02, 0x03, 0x04};
  std::array<std::uint8_t, 4> out{};
  EXPECT_EQ(unescape_rbsp(nal, out), 4u);
  EXPECT_EQ(out, (std::array<std::uint8_t, 4>{0x00, 0x00, 0x01, 0x02}));
  std::array<std::uint8_t, 16> big{};
  EXPECT_EQ(unescape_rbsp(nal, big), 6u);
}

TEST(UnescapeRbspTest, RoundTripsWithEscaping) {
  Bytes rbsp;
  for (int i = 0; i < 300; ++i) rbsp.push_back(static_cast<std::uint8_t>(i % 7 == 0 ? 0 : i % 5));
  rbsp.insert(rbsp.end(), {0, 0, 0, 0, 1, 0, 0, 2, 0, 0, 3, 0x80});
  const Bytes escaped = testing::escape_rbsp(rbsp);
  Bytes out;
  unescape_rbsp(escaped, out);
  EXPECT_EQ(out, rbsp);
}

}  // namespace
}  // namespace mirror::media
