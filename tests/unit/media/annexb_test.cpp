#include "media/annexb.h"

#include <gtest/gtest.h>

#include <random>
#include <utility>
#include <vector>

namespace mirror::media {
namespace {

using Bytes = std::vector<std::uint8_t>;

std::vector<Bytes> read_all(std::span<const std::uint8_t> stream) {
  std::vector<Bytes> out;
  for_each_nal_unit(
      stream, [&](std::span<const std::uint8_t> nal) { out.emplace_back(nal.begin(), nal.end()); });
  return out;
}

struct Collector final : NalUnitSink {
  std::vector<std::pair<Bytes, bool>> nals;
  void on_nal_unit(std::span<const std::uint8_t> nal, bool began_in_this_chunk) override {
    nals.emplace_back(Bytes(nal.begin(), nal.end()), began_in_this_chunk);
  }
  std::vector<Bytes> bytes() const {
    std::vector<Bytes> out;
    for (const auto& n : nals) out.push_back(n.first);
    return out;
  }
};

TEST(AnnexBTest, FindsThreeByteStartCodes) {
  const Bytes data = {0x09, 0x00, 0x00, 0x01, 0x65, 0x00, 0x00, 0x00, 0x01};
  EXPECT_EQ(find_start_code(data), 1u);
  EXPECT_EQ(find_start_code(data, 2), 6u);
  EXPECT_EQ(find_start_code(data, 7), kNoStartCode);
  EXPECT_EQ(find_start_code(Bytes{0, 0}), kNoStartCode);
  EXPECT_EQ(find_start_code(Bytes{}), kNoStartCode);
  EXPECT_EQ(find_start_code(Bytes{0, 0, 2, 0, 0, 0, 0, 1}), 5u);
}

TEST(AnnexBTest, SplitsOnThreeAndFourByteStartCodes) {
  const Bytes data = {0, 0, 0, 1, 0x67, 0xaa, 0, 0, 1, 0x68, 0xbb, 0xcc, 0, 0, 0, 1, 0x65, 0x01};
  const auto nals = read_all(data);
  ASSERT_EQ(nals.size(), 3u);
  EXPECT_EQ(nals[0], (Bytes{0x67, 0xaa}));
  EXPECT_EQ(nals[1], (Bytes{0x68, 0xbb, 0xcc}));
  EXPECT_EQ(nals[2], (Bytes{0x65, 0x01}));
}

TEST(AnnexBTest, TrailingZeroBytesBelongToNoNalUnit) {
  const Bytes data = {0, 0, 1, 0x09, 0xf0, 0, 0, 0, 0, 0, 0, 1, 0x65, 0x88, 0, 0, 0};
  const auto nals = read_all(data);
  ASSERT_EQ(nals.size(), 2u);
  EXPECT_EQ(nals[0], (Bytes{0x09, 0xf0}));
  EXPECT_EQ(nals[1], (Bytes{0x65, 0x88}));
}

TEST(AnnexBTest, BytesBeforeTheFirstStartCodeAreNotANalUnit) {
  const Bytes data = {0x12, 0x34, 0, 0, 1, 0x41, 0x9a};
  const auto nals = read_all(data);
  ASSERT_EQ(nals.size(), 1u);
  EXPECT_EQ(nals[0], (Bytes{0x41, 0x9a}));
  EXPECT_TRUE(read_all(Bytes{0x12, 0x34, 0x56}).empty());
  EXPECT_TRUE(read_all(Bytes{}).empty());
}

TEST(AnnexBTest, SkipsEmptyNalUnits) {
  const Bytes data = {0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0x41, 0, 0, 1};
  const auto nals = read_all(data);
  ASSERT_EQ(nals.size(), 1u);
  EXPECT_EQ(nals[0], (Bytes{0x41}));
}

TEST(AnnexBTest, ReaderReturnsSpansIntoTheInput) {
  const Bytes data = {0, 0, 1, 0x41, 0x9a, 0x00};
  AnnexBReader reader(data);
  auto nal = reader.next();
  ASSERT_TRUE(nal);
  EXPECT_EQ(nal->data(), data.data() + 3);
  EXPECT_EQ(nal->size(), 2u);
  EXPECT_FALSE(reader.next());
  EXPECT_FALSE(reader.next());
}

TEST(AnnexBSplitterTest, HandsOutCompleteNalUnitsAndCarriesTheLast) {
  AnnexBSplitter splitter;
  Collector sink;
  const Bytes a = {0, 0, 0, 1, 0x67, 0x01, 0, 0, 1, 0x68, 0x02, 0, 0, 1, 0x65, 0x03};
  splitter.push(a, sink);
  ASSERT_EQ(sink.nals.size(), 2u);
  EXPECT_TRUE(sink.nals[0].second);
  EXPECT_TRUE(splitter.carrying());
  EXPECT_TRUE(splitter.carry_began_in_last_chunk());
  const Bytes b = {0x04, 0x05, 0, 0, 0, 1, 0x41, 0x06};
  splitter.push(b, sink);
  ASSERT_EQ(sink.nals.size(), 3u);
  EXPECT_EQ(sink.nals[2].first, (Bytes{0x65, 0x03, 0x04, 0x05}));
  EXPECT_FALSE(sink.nals[2].second) << "began in the previous chunk";
  splitter.flush(sink);
  ASSERT_EQ(sink.nals.size(), 4u);
  EXPECT_EQ(sink.nals[3].first, (Bytes{0x41, 0x06}));
  EXPECT_FALSE(splitter.carrying());
}

TEST(AnnexBSplitterTest, FindsStartCodesThatStraddleChunks) {
  const Bytes stream = {0, 0, 0, 1, 0x67, 0x11, 0, 0, 0, 1, 0x68, 0x22, 0, 0, 1, 0x65, 0x33};
  const auto expected = read_all(stream);
  // Every way of cutting the stream in two, and in three.
  for (std::size_t i = 0; i <= stream.size(); ++i) {
    for (std::size_t j = i; j <= stream.size(); ++j) {
      AnnexBSplitter splitter;
      Collector sink;
      splitter.push(std::span(stream).first(i), sink);
      splitter.push(std::span(stream).subspan(i, j - i), sink);
      splitter.push(std::span(stream).subspan(j), sink);
      splitter.flush(sink);
      EXPECT_EQ(sink.bytes(), expected) << "cut at " << i << " and " << j;
    }
  }
}

TEST(AnnexBSplitterTest, ByteByByteEqualsWhole) {
  std::mt19937 rng(7);
  Bytes stream;
  for (int n = 0; n < 50; ++n) {
    stream.insert(stream.end(), {0, 0, 0, 1});
    const int len = 1 + static_cast<int>(rng() % 40);
    for (int i = 0; i < len; ++i) {
      // Plenty of zeros so that near-start-codes appear.
      const auto r = rng() % 4;
      stream.push_back(static_cast<std::uint8_t>(r == 0 ? 0 : (r == 1 ? 3 : rng() % 256)));
    }
    stream.push_back(0x80);
  }
  const auto expected = read_all(stream);
  AnnexBSplitter splitter;
  Collector sink;
  for (const std::uint8_t b : stream) splitter.push(std::span(&b, 1), sink);
  splitter.flush(sink);
  EXPECT_EQ(sink.bytes(), expected);
}

TEST(AnnexBSplitterTest, DropsNalUnitsLongerThanTheLimit) {
  AnnexBSplitter splitter(8);
  Collector sink;
  const Bytes big = {0, 0, 1, 0x65, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  splitter.push(big, sink);
  EXPECT_EQ(splitter.oversized_nal_units(), 1u);
  EXPECT_FALSE(splitter.carrying());
  const Bytes more = {10, 11, 0, 0, 1, 0x41, 0x01, 0, 0, 1};
  splitter.push(more, sink);
  ASSERT_EQ(sink.nals.size(), 1u) << "the oversized NAL unit is skipped up to the next start code";
  EXPECT_EQ(sink.nals[0].first, (Bytes{0x41, 0x01}));
}

TEST(AnnexBSplitterTest, IgnoresLeadingGarbageAndResetForgetsTheCarry) {
  AnnexBSplitter splitter;
  Collector sink;
  splitter.push(Bytes{0x12, 0x00, 0x00}, sink);
  splitter.push(Bytes{0x01, 0x41, 0x02}, sink);
  EXPECT_TRUE(sink.nals.empty());
  EXPECT_TRUE(splitter.carrying());
  splitter.reset();
  splitter.flush(sink);
  EXPECT_TRUE(sink.nals.empty());
}

TEST(LengthPrefixedTest, WritesFourByteBigEndianLengths) {
  const Bytes a = {0x65, 1, 2};
  const Bytes b(300, 0x41);
  const std::span<const std::uint8_t> nals[] = {a, b};
  EXPECT_EQ(length_prefixed_size(nals), 4u + 3 + 4 + 300);
  const core::BufferRef buf = write_length_prefixed(nals);
  ASSERT_EQ(buf.size(), 311u);
  const auto bytes = buf.bytes();
  EXPECT_EQ(Bytes(bytes.begin(), bytes.begin() + 7), (Bytes{0, 0, 0, 3, 0x65, 1, 2}));
  EXPECT_EQ(Bytes(bytes.begin() + 7, bytes.begin() + 11), (Bytes{0, 0, 1, 0x2c}));

  std::vector<Bytes> back;
  EXPECT_TRUE(for_each_length_prefixed(bytes, [&](std::span<const std::uint8_t> nal) {
    back.emplace_back(nal.begin(), nal.end());
  }));
  EXPECT_EQ(back, (std::vector<Bytes>{a, b}));
}

TEST(LengthPrefixedTest, ConvertsAnnexBAndAppends) {
  const Bytes annexb = {0, 0, 0, 1, 0x67, 0x42, 0, 0, 1, 0x68, 0xce};
  const core::BufferRef buf = annexb_to_length_prefixed(annexb);
  const auto bytes = buf.bytes();
  EXPECT_EQ(Bytes(bytes.begin(), bytes.end()),
            (Bytes{0, 0, 0, 2, 0x67, 0x42, 0, 0, 0, 2, 0x68, 0xce}));
  Bytes out = {0xaa};
  append_length_prefixed(out, Bytes{0x41});
  EXPECT_EQ(out, (Bytes{0xaa, 0, 0, 0, 1, 0x41}));
}

TEST(LengthPrefixedTest, RejectsLengthsPastTheEnd) {
  int calls = 0;
  auto count = [&](std::span<const std::uint8_t>) { ++calls; };
  EXPECT_FALSE(for_each_length_prefixed(Bytes{0, 0, 0, 1, 0x41, 0, 0, 0, 9, 1}, count));
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(for_each_length_prefixed(Bytes{0, 0, 0}, count));
  EXPECT_FALSE(for_each_length_prefixed(Bytes{0xff, 0xff, 0xff, 0xff, 1}, count));
  EXPECT_TRUE(for_each_length_prefixed(Bytes{}, count));
  EXPECT_TRUE(for_each_length_prefixed(Bytes{0, 0, 0, 0}, count))
      << "an empty NAL unit is well-formed";
}

}  // namespace
}  // namespace mirror::media
