// PES header parsing and PES reassembly of one PID, without the TS layer.
#include "ingest/mpegts/pes_assembler.h"
#include "ingest/mpegts/pes_header.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace mirror::ingest {
namespace {

using Bytes = std::vector<std::uint8_t>;
using Clock = std::chrono::system_clock;

void put_timestamp(Bytes& b, std::uint8_t prefix, std::int64_t v) {
  b.push_back(static_cast<std::uint8_t>((prefix << 4) | (((v >> 30) & 0x07) << 1) | 1));
  b.push_back(static_cast<std::uint8_t>(v >> 22));
  b.push_back(static_cast<std::uint8_t>((((v >> 15) & 0x7F) << 1) | 1));
  b.push_back(static_cast<std::uint8_t>(v >> 7));
  b.push_back(static_cast<std::uint8_t>(((v & 0x7F) << 1) | 1));
}

Bytes header(std::optional<std::int64_t> pts, std::optional<std::int64_t> dts,
             std::uint16_t packet_length = 0, std::uint8_t extra = 0,
             std::uint8_t stream_id = 0xE0) {
  const std::uint8_t data_length = static_cast<std::uint8_t>((pts ? 5 : 0) + (dts ? 5 : 0) + extra);
  Bytes b = {0,
             0,
             1,
             stream_id,
             static_cast<std::uint8_t>(packet_length >> 8),
             static_cast<std::uint8_t>(packet_length),
             0x84,
             static_cast<std::uint8_t>((pts ? 0x80 : 0) | (dts ? 0x40 : 0)),
             data_length};
  if (pts) put_timestamp(b, dts ? 0x03 : 0x02, *pts);
  if (dts) put_timestamp(b, 0x01, *dts);
  b.insert(b.end(), extra, 0xFF);
  return b;
}

TEST(PesHeaderTest, ParsesPtsAndDts) {
  const Bytes b = header(8589934591, 1);
  PesHeader h;
  ASSERT_EQ(parse_pes_header(b, h), PesHeaderStatus::kOk);
  EXPECT_EQ(h.stream_id, 0xE0);
  EXPECT_EQ(h.header_size, 19u);
  EXPECT_EQ(h.pts, 8589934591);
  EXPECT_EQ(h.dts, 1);
  EXPECT_TRUE(h.data_alignment);
  EXPECT_EQ(h.marker_errors, 0);
  EXPECT_FALSE(h.payload_length().has_value());
}

TEST(PesHeaderTest, PayloadLengthFollowsPesPacketLength) {
  const Bytes b = header(90000, std::nullopt, 3 + 5 + 100);
  PesHeader h;
  ASSERT_EQ(parse_pes_header(b, h), PesHeaderStatus::kOk);
  EXPECT_FALSE(h.dts.has_value());
  EXPECT_EQ(h.payload_length(), 100u);
}

TEST(PesHeaderTest, SkipsOtherHeaderFields) {
  const Bytes b = header(1234, std::nullopt, 0, 20);
  PesHeader h;
  ASSERT_EQ(parse_pes_header(b, h), PesHeaderStatus::kOk);
  EXPECT_EQ(h.header_size, 9u + 25);
  EXPECT_EQ(h.pts, 1234);
}

TEST(PesHeaderTest, AsksForMoreBytesUntilTheHeaderIsComplete) {
  const Bytes b = header(1234, 1000);
  PesHeader h;
  for (std::size_t n = 0; n < b.size(); ++n) {
    ASSERT_EQ(parse_pes_header(std::span(b).first(n), h), PesHeaderStatus::kNeedMoreData) << n;
    EXPECT_EQ(h.header_size, n >= 9 ? b.size() : 0u) << n;
  }
  EXPECT_EQ(parse_pes_header(b, h), PesHeaderStatus::kOk);
}

TEST(PesHeaderTest, CountsWrongMarkerBitsButKeepsTheTimestamp) {
  Bytes b = header(0x1'2345'6789LL & 0x1FFFFFFFFLL, std::nullopt);
  b[9] &= 0xFE;                                            // first marker bit
  b[13] &= 0xFE;                                           // last marker bit
  b[9] = static_cast<std::uint8_t>((b[9] & 0x0F) | 0x30);  // wrong prefix for a lone PTS
  PesHeader h;
  ASSERT_EQ(parse_pes_header(b, h), PesHeaderStatus::kOk);
  EXPECT_EQ(h.marker_errors, 3);
  EXPECT_EQ(h.pts, 0x1'2345'6789LL & 0x1FFFFFFFFLL);
}

TEST(PesHeaderTest, RejectsMalformedHeaders) {
  PesHeader h;
  Bytes b = header(1, std::nullopt);
  b[1] = 1;
  EXPECT_EQ(parse_pes_header(b, h), PesHeaderStatus::kBadStartCode);
  EXPECT_EQ(parse_pes_header(std::span(b).first(2), h), PesHeaderStatus::kBadStartCode);

  b = header(1, std::nullopt, 0, 0, 0xBE);  // padding stream
  EXPECT_EQ(parse_pes_header(b, h), PesHeaderStatus::kNoOptionalHeader);

  b = header(1, std::nullopt);
  b[6] = 0x44;  // MPEG-1 style
  EXPECT_EQ(parse_pes_header(b, h), PesHeaderStatus::kBadOptionalHeader);

  b = header(1, std::nullopt);
  b[7] = 0x40;  // DTS without PTS
  EXPECT_EQ(parse_pes_header(b, h), PesHeaderStatus::kForbiddenPtsDtsFlags);

  b = header(1, 2);
  b[8] = 5;  // room for the PTS only
  EXPECT_EQ(parse_pes_header(b, h), PesHeaderStatus::kHeaderTooShort);

  b = header(1, std::nullopt, 7);  // shorter than its own header
  EXPECT_EQ(parse_pes_header(b, h), PesHeaderStatus::kLengthTooShort);
}

// ---------------------------------------------------------------------------

struct Sink : PesSink {
  std::vector<Bytes> payloads;
  std::vector<PesPacket> packets;
  std::vector<PesError> errors;
  void on_pes_complete(PesPacket& p) override {
    const auto b = p.payload.bytes();
    payloads.emplace_back(b.begin(), b.end());
    packets.push_back(p);
  }
  void on_pes_error(std::uint16_t, PesError e) override { errors.push_back(e); }
};

Bytes payload_of(std::size_t n) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(i * 13 + 1);
  return b;
}

TEST(PesAssemblerTest, GrowsAnUnboundedPesBeyondItsFirstBuffer) {
  core::BufferPool pool;
  Sink sink;
  {
    PesAssembler pes(0x100, 0x1B, pool);
    Bytes first = header(9000, std::nullopt);
    const Bytes body = payload_of(300'000);
    pes.push(first, true, Clock::time_point{}, sink);
    for (std::size_t at = 0; at < body.size(); at += 184) {
      pes.push(std::span(body).subspan(at, std::min<std::size_t>(184, body.size() - at)), false,
               Clock::time_point{}, sink);
    }
    EXPECT_TRUE(sink.payloads.empty());
    pes.flush(sink);
    ASSERT_EQ(sink.payloads.size(), 1u);
    EXPECT_EQ(sink.payloads[0], body);
    EXPECT_FALSE(pes.assembling());
    sink.packets.clear();
  }
  EXPECT_EQ(pool.stats().blocks_in_use(), 0u);
}

TEST(PesAssemblerTest, EmptyBoundedPesIsDeliveredEmpty) {
  Sink sink;
  PesAssembler pes(0x101, 0x0F);
  pes.push(header(5, std::nullopt, 3 + 5), true, Clock::time_point{}, sink);
  ASSERT_EQ(sink.payloads.size(), 1u);
  EXPECT_TRUE(sink.payloads[0].empty());
  EXPECT_EQ(sink.packets[0].pts, 5);
}

TEST(PesAssemblerTest, BytesAfterACompleteBoundedPesAreIgnored) {
  Sink sink;
  PesAssembler pes(0x101, 0x0F);
  Bytes b = header(5, std::nullopt, 3 + 5 + 4);
  b.insert(b.end(), {1, 2, 3, 4, 9, 9, 9});
  pes.push(b, true, Clock::time_point{}, sink);
  pes.push(Bytes{7, 7}, false, Clock::time_point{}, sink);
  pes.flush(sink);
  ASSERT_EQ(sink.payloads.size(), 1u);
  EXPECT_EQ(sink.payloads[0], (Bytes{1, 2, 3, 4}));
  EXPECT_TRUE(sink.errors.empty());
}

TEST(PesAssemblerTest, DroppedPesKeepsItsDiscontinuityForTheNextOne) {
  Sink sink;
  PesAssembler pes(0x100, 0x1B);
  pes.mark_discontinuity();
  pes.mark_random_access();
  pes.push(header(1, std::nullopt), true, Clock::time_point{}, sink);
  pes.drop();  // continuity gap
  pes.push(header(2, std::nullopt), true, Clock::time_point{}, sink);
  pes.flush(sink);
  ASSERT_EQ(sink.packets.size(), 1u);
  EXPECT_TRUE(sink.packets[0].discontinuity);
  EXPECT_FALSE(sink.packets[0].random_access);  // that was the dropped one's
}

TEST(PesAssemblerTest, StartWithoutCompleteHeaderIsTruncated) {
  Sink sink;
  PesAssembler pes(0x100, 0x1B);
  pes.push(Bytes{0, 0, 1, 0xE0, 0}, true, Clock::time_point{}, sink);
  pes.push(header(2, std::nullopt), true, Clock::time_point{}, sink);
  ASSERT_EQ(sink.errors.size(), 1u);
  EXPECT_EQ(sink.errors[0], PesError::kTruncated);
}

TEST(PesAssemblerTest, WrongMarkerBitsAreReportedAndThePesDelivered) {
  Sink sink;
  PesAssembler pes(0x100, 0x1B);
  Bytes b = header(2, std::nullopt, 3 + 5 + 1);
  b[11] &= 0xFE;
  b.push_back(0x42);
  pes.push(b, true, Clock::time_point{}, sink);
  ASSERT_EQ(sink.errors.size(), 1u);
  EXPECT_EQ(sink.errors[0], PesError::kTimestampMarker);
  ASSERT_EQ(sink.payloads.size(), 1u);
  EXPECT_EQ(sink.payloads[0], Bytes{0x42});
}

}  // namespace
}  // namespace mirror::ingest
