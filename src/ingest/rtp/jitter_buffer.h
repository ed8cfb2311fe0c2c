// Per-source RTP jitter buffer: holds datagrams until they can be released in
// sequence order, waiting at most `delay` for a missing packet before giving
// up on it (counted as lost). Also measures what the network did to the
// stream: loss, duplicates, reordering, late arrivals, sequence resets and the
// RFC 3550 §6.4.1 interarrival jitter.
//
// The first packet (and the first after a reset) waits `delay` too, so that
// packets overtaken at the very start are not taken for late ones.
//
// Memory is bounded and allocated once: a ring of `max_packets` slots indexed
// by the 64-bit extended sequence number. A jump of the sequence by more than
// `reset_window` (either way) is a discontinuity, never a reason to allocate:
// whatever was waiting is released at once and the buffer restarts at the new
// number, flagging its next released packet.
//
// Time is passed in by the caller, so tests are deterministic. Typical use:
//   buffer.insert(datagram, header, now);
//   buffer.pop_ready(now, released);         // reuse `released` between calls
//   for (auto& r : released) {
//     depacketizer.push(r.packet, r.lost_before > 0 || r.discontinuity);
//   }
//   // ... and arm a timer for next_deadline() to release after a loss.
//
// Threads: single-threaded object, one per RTP source (SSRC).
#pragma once

#include "core/buffer_pool.h"
#include "ingest/rtp/rtp_packet.h"
#include "ingest/rtp/rtp_unwrap.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace mirror::ingest {

struct JitterBufferOptions {
  // ingestion.rtp.jitter_buffer: how long a packet waits for a missing one.
  std::chrono::nanoseconds delay = std::chrono::milliseconds(50);
  // RTP clock rate of the payload, for the interarrival jitter; 0 disables it.
  std::uint32_t clock_rate = 90000;
  // Packets held at once (rounded up to a power of two, at least 16); when a
  // new packet does not fit, the oldest ones are dropped and counted.
  std::size_t max_packets = 4096;
  // A sequence jump larger than this is a discontinuity, not a gap.
  std::uint32_t reset_window = 3000;
};

struct JitterBufferStats {
  std::uint64_t received = 0;  // packets stored (not counting the ones dropped below)
  std::uint64_t released = 0;
  std::uint64_t lost = 0;        // sequence numbers given up on (skipped at timeout or overflow)
  std::uint64_t duplicates = 0;  // already held or already released: dropped
  std::uint64_t reordered = 0;   // arrived after a packet with a higher number
  std::uint64_t late = 0;        // arrived after its slot was skipped: dropped
  std::uint64_t resets = 0;      // sequence discontinuities
  std::uint64_t overflow_dropped = 0;  // held packets dropped to make room
  std::uint64_t rejected = 0;          // header and datagram did not belong together
  double jitter = 0;                   // RFC 3550 interarrival jitter, in RTP clock units
  std::size_t held = 0;                // packets waiting now
};

// A packet leaving the buffer, in sequence order. `packet`'s spans point into
// `datagram`, which keeps the bytes alive.
struct ReleasedPacket {
  core::BufferRef datagram;
  RtpPacket packet;
  std::int64_t extended_sequence = 0;
  std::uint64_t lost_before = 0;  // sequence numbers skipped just before this one
  bool discontinuity = false;     // first packet after a sequence reset
};

class JitterBuffer {
 public:
  using Clock = std::chrono::steady_clock;

  enum class InsertResult : std::uint8_t { kStored, kDuplicate, kLate, kRejected };

  explicit JitterBuffer(JitterBufferOptions options = {});

  // Takes a reference to the datagram (from core::BufferPool) and the header
  // parse_rtp_header() made of it; the header's spans must lie in the datagram.
  InsertResult insert(core::BufferRef datagram, const RtpPacket& packet, Clock::time_point now);

  // Appends to `out` every packet that may leave now: contiguous ones at once
  // (after the first of a timeline has waited `delay`), and past a gap once
  // the lowest-numbered waiting packet has waited `delay`.
  void pop_ready(Clock::time_point now, std::vector<ReleasedPacket>& out);
  std::vector<ReleasedPacket> pop_ready(Clock::time_point now);

  // Releases everything held, skipping gaps (end of stream, source timeout).
  void flush(std::vector<ReleasedPacket>& out);

  // When pop_ready() will next release something without a new packet; nullopt
  // when nothing is held. A time in the past means "now".
  std::optional<Clock::time_point> next_deadline();

  const JitterBufferStats& stats() const noexcept { return stats_; }
  const JitterBufferOptions& options() const noexcept { return options_; }

 private:
  struct Slot {
    core::BufferRef datagram;
    RtpPacket packet;
    Clock::time_point arrival{};
    std::int64_t sequence = 0;
    std::int64_t released_sequence = -1;  // last number that left through this slot
    bool held = false;
  };

  Slot& slot(std::int64_t sequence) noexcept {
    return slots_[static_cast<std::uint64_t>(sequence) & mask_];
  }
  void release(Clock::time_point now, bool force, std::vector<ReleasedPacket>& out);
  bool waited(Clock::time_point arrival, Clock::time_point now) const;
  void release_head(std::vector<ReleasedPacket>& out);
  void drop_head();
  // The lowest-numbered held packet at or after next_ (held_ > 0).
  std::int64_t first_held();
  void reset_to(std::int64_t sequence);
  void update_jitter(std::uint32_t rtp_timestamp, Clock::time_point now);

  JitterBufferOptions options_;
  std::vector<Slot> slots_;
  std::uint64_t mask_ = 0;
  std::int64_t window_ = 0;
  SequenceUnwrapper unwrapper_;
  bool started_ = false;
  bool head_known_ = false;             // false until the first packet of a timeline has waited
  Clock::time_point timeline_start_{};  // arrival of that first packet
  std::int64_t next_ = 0;               // the number the consumer expects next
  std::int64_t highest_ = 0;            // highest number stored since the last reset
  std::size_t held_ = 0;
  std::optional<std::int64_t> first_held_;  // cache for first_held()
  std::uint64_t pending_lost_ = 0;
  bool pending_discontinuity_ = false;
  // Packets released by a reset inside insert(), handed out by the next pop.
  std::vector<ReleasedPacket> flushed_;
  // Interarrival jitter state.
  bool have_transit_ = false;
  std::uint32_t last_transit_ = 0;
  Clock::time_point clock_origin_{};
  JitterBufferStats stats_;
};

}  // namespace mirror::ingest
