// Jitter buffer: ordering, loss, duplicates, late packets, wrap, resets,
// bounded memory and RFC 3550 interarrival jitter.
#include "ingest/rtp/jitter_buffer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <vector>

namespace mirror::ingest {
namespace {

using namespace std::chrono_literals;
using Clock = JitterBuffer::Clock;

const Clock::time_point t0 = Clock::time_point(1000s);

class JitterBufferTest : public ::testing::Test {
 protected:
  JitterBuffer::InsertResult insert(JitterBuffer& jb, std::uint16_t seq, Clock::time_point now,
                                    std::uint32_t ts = 0) {
    std::vector<std::uint8_t> d = {0x80,
                                   96,
                                   static_cast<std::uint8_t>(seq >> 8),
                                   static_cast<std::uint8_t>(seq),
                                   static_cast<std::uint8_t>(ts >> 24),
                                   static_cast<std::uint8_t>(ts >> 16),
                                   static_cast<std::uint8_t>(ts >> 8),
                                   static_cast<std::uint8_t>(ts),
                                   0,
                                   0,
                                   0,
                                   1,
                                   0xab};
    core::BufferRef ref = core::BufferPool::global().copy_of(d);
    RtpPacket header;
    EXPECT_EQ(parse_rtp_header(ref.bytes(), header), RtpError::kNone);
    return jb.insert(std::move(ref), header, now);
  }

  // Starts the timeline at `seq`: inserted 50 ms before t0 and released at t0.
  void prime(JitterBuffer& jb, std::uint16_t seq) {
    insert(jb, seq, t0 - 50ms);
    const auto out = jb.pop_ready(t0);
    ASSERT_EQ(out.size(), 1u);
    ASSERT_EQ(out[0].packet.sequence, seq);
  }

  static std::vector<std::uint16_t> sequences(const std::vector<ReleasedPacket>& out) {
    std::vector<std::uint16_t> s;
    for (const auto& r : out) s.push_back(r.packet.sequence);
    return s;
  }
};

TEST_F(JitterBufferTest, FirstPacketWaitsThenInOrderPacketsLeaveAtOnce) {
  JitterBuffer jb;
  for (std::uint16_t s = 10; s < 15; ++s)
    EXPECT_EQ(insert(jb, s, t0), JitterBuffer::InsertResult::kStored);
  EXPECT_TRUE(jb.pop_ready(t0 + 49ms).empty());
  EXPECT_EQ(*jb.next_deadline(), t0 + 50ms);
  auto out = jb.pop_ready(t0 + 50ms);
  EXPECT_EQ(sequences(out), (std::vector<std::uint16_t>{10, 11, 12, 13, 14}));
  EXPECT_EQ(out[0].lost_before, 0u);
  EXPECT_FALSE(out[0].discontinuity);
  // The payload view still points into the datagram the buffer handed back.
  EXPECT_EQ(out[0].packet.payload.data(), out[0].datagram.data() + 12);
  EXPECT_EQ(jb.stats().released, 5u);
  EXPECT_EQ(jb.stats().held, 0u);
  EXPECT_FALSE(jb.next_deadline().has_value());
  insert(jb, 15, t0 + 60ms);
  EXPECT_EQ(sequences(jb.pop_ready(t0 + 60ms)), (std::vector<std::uint16_t>{15}));
}

TEST_F(JitterBufferTest, EarlierPacketArrivingSecondAtTheStartIsTheHead) {
  JitterBuffer jb;
  insert(jb, 502, t0);
  insert(jb, 500, t0 + 1ms);
  insert(jb, 501, t0 + 2ms);
  auto out = jb.pop_ready(t0 + 50ms);
  EXPECT_EQ(sequences(out), (std::vector<std::uint16_t>{500, 501, 502}));
  EXPECT_EQ(jb.stats().late, 0u);
  EXPECT_EQ(jb.stats().reordered, 2u);
}

TEST_F(JitterBufferTest, ReordersWithinTheWindow) {
  JitterBuffer jb;
  prime(jb, 100);
  insert(jb, 102, t0 + 1ms);
  insert(jb, 103, t0 + 2ms);
  EXPECT_TRUE(jb.pop_ready(t0 + 2ms).empty());  // 101 is missing, not yet given up
  insert(jb, 101, t0 + 3ms);
  EXPECT_EQ(sequences(jb.pop_ready(t0 + 3ms)), (std::vector<std::uint16_t>{101, 102, 103}));
  EXPECT_EQ(jb.stats().reordered, 1u);
  EXPECT_EQ(jb.stats().lost, 0u);
}

TEST_F(JitterBufferTest, GivesUpOnAMissingPacketAfterTheDelay) {
  JitterBufferOptions options;
  options.delay = 50ms;
  JitterBuffer jb(options);
  prime(jb, 1);
  insert(jb, 4, t0 + 10ms);
  insert(jb, 5, t0 + 20ms);
  EXPECT_TRUE(jb.pop_ready(t0 + 59ms).empty());
  ASSERT_TRUE(jb.next_deadline().has_value());
  EXPECT_EQ(*jb.next_deadline(), t0 + 60ms);
  auto out = jb.pop_ready(t0 + 60ms);
  ASSERT_EQ(sequences(out), (std::vector<std::uint16_t>{4, 5}));
  EXPECT_EQ(out[0].lost_before, 2u);
  EXPECT_EQ(out[1].lost_before, 0u);
  EXPECT_EQ(jb.stats().lost, 2u);
}

TEST_F(JitterBufferTest, LatePacketIsDroppedAndCounted) {
  JitterBuffer jb;
  insert(jb, 1, t0);
  insert(jb, 3, t0);
  jb.pop_ready(t0 + 100ms);  // 2 given up
  EXPECT_EQ(insert(jb, 2, t0 + 101ms), JitterBuffer::InsertResult::kLate);
  EXPECT_EQ(jb.stats().late, 1u);
  EXPECT_TRUE(jb.pop_ready(t0 + 200ms).empty());
}

TEST_F(JitterBufferTest, DuplicatesAreDroppedWhetherHeldOrReleased) {
  JitterBuffer jb;
  prime(jb, 1);
  insert(jb, 3, t0);
  EXPECT_EQ(insert(jb, 3, t0), JitterBuffer::InsertResult::kDuplicate);  // held
  EXPECT_EQ(insert(jb, 1, t0), JitterBuffer::InsertResult::kDuplicate);  // already released
  EXPECT_EQ(jb.stats().duplicates, 2u);
  insert(jb, 2, t0);
  EXPECT_EQ(sequences(jb.pop_ready(t0)), (std::vector<std::uint16_t>{2, 3}));
}

TEST_F(JitterBufferTest, SequenceWrapsAt65535) {
  JitterBuffer jb;
  insert(jb, 65534, t0);
  insert(jb, 0, t0);
  insert(jb, 65535, t0);
  insert(jb, 1, t0);
  auto out = jb.pop_ready(t0 + 50ms);
  EXPECT_EQ(sequences(out), (std::vector<std::uint16_t>{65534, 65535, 0, 1}));
  EXPECT_EQ(out[2].extended_sequence, 65536);
  EXPECT_EQ(jb.stats().lost, 0u);
  EXPECT_EQ(jb.stats().resets, 0u);
}

TEST_F(JitterBufferTest, HugeForwardJumpIsADiscontinuityNotAGap) {
  JitterBuffer jb;
  prime(jb, 10);
  insert(jb, 12, t0);  // waiting for 11
  EXPECT_TRUE(jb.pop_ready(t0).empty());
  insert(jb, 30012, t0 + 1ms);
  // What waited is released at once; the new timeline starts like the first.
  auto out = jb.pop_ready(t0 + 1ms);
  ASSERT_EQ(sequences(out), (std::vector<std::uint16_t>{12}));
  EXPECT_EQ(out[0].lost_before, 1u);
  EXPECT_FALSE(out[0].discontinuity);
  out = jb.pop_ready(t0 + 51ms);
  ASSERT_EQ(sequences(out), (std::vector<std::uint16_t>{30012}));
  EXPECT_TRUE(out[0].discontinuity);
  EXPECT_EQ(out[0].lost_before, 0u);
  EXPECT_EQ(jb.stats().resets, 1u);
  EXPECT_LT(jb.stats().lost, 10u);  // not ~30000
  insert(jb, 30013, t0 + 52ms);
  out = jb.pop_ready(t0 + 52ms);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].discontinuity);
}

TEST_F(JitterBufferTest, HugeBackwardJumpIsADiscontinuity) {
  JitterBuffer jb;
  prime(jb, 20000);
  insert(jb, 5000, t0);
  auto out = jb.pop_ready(t0 + 50ms);
  ASSERT_EQ(sequences(out), (std::vector<std::uint16_t>{5000}));
  EXPECT_TRUE(out[0].discontinuity);
  EXPECT_EQ(jb.stats().late, 0u);
}

TEST_F(JitterBufferTest, JumpsNeverGrowMemory) {
  JitterBufferOptions options;
  options.max_packets = 64;
  JitterBuffer jb(options);
  std::uint16_t seq = 0;
  for (int i = 0; i < 2000; ++i) {
    insert(jb, seq, t0 + std::chrono::milliseconds(i));
    seq = static_cast<std::uint16_t>(seq + (i % 2 ? 30001 : 7));
    EXPECT_LE(jb.stats().held, 64u);
  }
  std::vector<ReleasedPacket> out;
  jb.flush(out);
  EXPECT_EQ(jb.stats().held, 0u);
}

TEST_F(JitterBufferTest, FullBufferDropsOldestAndCounts) {
  JitterBufferOptions options;
  options.max_packets = 16;
  JitterBuffer jb(options);
  prime(jb, 0);
  // 1 missing; 2..16 fill the ring. 17 needs slot 1's place (skipped as
  // lost), 18 needs 2's (dropped).
  for (std::uint16_t s = 2; s <= 18; ++s) insert(jb, s, t0);
  EXPECT_EQ(jb.stats().held, 16u);
  EXPECT_EQ(jb.stats().overflow_dropped, 1u);
  EXPECT_EQ(jb.stats().lost, 1u);
  auto out = jb.pop_ready(t0);
  ASSERT_EQ(out.size(), 16u);
  EXPECT_EQ(out.front().packet.sequence, 3);
  EXPECT_EQ(out.front().lost_before, 2u);  // 1 lost, 2 dropped
  EXPECT_EQ(out.back().packet.sequence, 18);
}

TEST_F(JitterBufferTest, TimeoutIsCountedFromTheLowestWaitingPacket) {
  JitterBuffer jb;
  prime(jb, 0);
  insert(jb, 3, t0 + 10ms);
  insert(jb, 2, t0 + 30ms);
  EXPECT_TRUE(jb.pop_ready(t0 + 79ms).empty());
  EXPECT_EQ(sequences(jb.pop_ready(t0 + 80ms)), (std::vector<std::uint16_t>{2, 3}));
}

TEST_F(JitterBufferTest, FlushReleasesEverythingSkippingGaps) {
  JitterBuffer jb;
  insert(jb, 5, t0);
  insert(jb, 7, t0);
  insert(jb, 9, t0);
  std::vector<ReleasedPacket> out;
  jb.flush(out);
  EXPECT_EQ(sequences(out), (std::vector<std::uint16_t>{5, 7, 9}));
  EXPECT_EQ(jb.stats().lost, 2u);
}

TEST_F(JitterBufferTest, RejectsHeaderThatDoesNotBelongToTheDatagram) {
  JitterBuffer jb;
  std::vector<std::uint8_t> other = {0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xaa};
  RtpPacket header;
  ASSERT_EQ(parse_rtp_header(other, header), RtpError::kNone);
  core::BufferRef ref = core::BufferPool::global().copy_of(other);
  EXPECT_EQ(jb.insert(ref, header, t0), JitterBuffer::InsertResult::kRejected);
  EXPECT_EQ(jb.insert(core::BufferRef(), header, t0), JitterBuffer::InsertResult::kRejected);
  EXPECT_EQ(jb.stats().rejected, 2u);
}

TEST_F(JitterBufferTest, InterarrivalJitterIsZeroForSteadyPackets) {
  JitterBufferOptions options;
  options.clock_rate = 90000;
  JitterBuffer jb(options);
  for (int i = 0; i < 50; ++i) {
    insert(jb, static_cast<std::uint16_t>(i), t0 + std::chrono::milliseconds(40 * i),
           static_cast<std::uint32_t>(3600 * i));
  }
  EXPECT_NEAR(jb.stats().jitter, 0.0, 1e-9);
}

TEST_F(JitterBufferTest, InterarrivalJitterFollowsRfc3550) {
  JitterBufferOptions options;
  options.clock_rate = 90000;
  JitterBuffer jb(options);
  // Every packet 10 ms (900 ticks) early or late in turn: |D| = 900 each time.
  double expected = 0;
  for (int i = 0; i < 40; ++i) {
    const auto offset = std::chrono::milliseconds(i % 2 ? 10 : 0);
    insert(jb, static_cast<std::uint16_t>(i), t0 + std::chrono::milliseconds(40 * i) + offset,
           0xfffff000u + static_cast<std::uint32_t>(3600 * i));  // RTP time wraps on the way
    if (i > 0) expected += (900.0 - expected) / 16.0;
  }
  EXPECT_NEAR(jb.stats().jitter, expected, 1.0);
}

}  // namespace
}  // namespace mirror::ingest
