// The part H.264 (RFC 6184) and HEVC (RFC 7798) depacketizing share: gathers
// the NAL units of one RTP timestamp into an Annex B access unit (4-byte start
// codes) in one reused pooled buffer, reassembles fragmentation units, and
// decides when an access unit ends (marker bit or a new timestamp) and
// whether it is complete (no loss, dropped fragment or rejected packet in it).
// The codec-specific classes parse payload headers and call in here.
//
// Threads: single-threaded object, owned by one depacketizer, one per RTP source.
#pragma once

#include "core/buffer_pool.h"
#include "ingest/rtp/rtp_packet.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>

namespace mirror::ingest {

// Annex B bytes of one access unit, valid only during the call; its RTP
// timestamp; false for `complete` when part of it is known to be missing.
using AccessUnitCallback = std::function<void(std::span<const std::uint8_t> annexb,
                                              std::uint32_t rtp_timestamp, bool complete)>;

inline constexpr std::size_t kDefaultMaxAccessUnitSize = 8u << 20;

struct NalDepacketizerStats {
  std::uint64_t packets = 0;
  std::uint64_t access_units = 0;             // emitted, complete or not
  std::uint64_t incomplete_access_units = 0;  // emitted with complete == false
  std::uint64_t nal_units = 0;
  std::uint64_t empty_packets = 0;          // no payload, or too short for its header
  std::uint64_t malformed_packets = 0;      // aggregation sizes past the end, bad FU
  std::uint64_t unsupported_packets = 0;    // STAP-B, MTAP, FU-B, PACI, reserved types
  std::uint64_t fragments_dropped = 0;      // FU without start, with a gap, or never ended
  std::uint64_t oversize_access_units = 0;  // beyond the size limit: dropped
  std::uint64_t losses = 0;                 // loss reports from the caller
};

class NalAccessUnitAssembler {
 public:
  NalAccessUnitAssembler(AccessUnitCallback on_access_unit, std::size_t max_access_unit_size);

  // Around every packet: begin flushes the previous access unit when the
  // timestamp changed, end flushes on the marker bit.
  void begin_packet(const RtpPacket& packet);
  void end_packet(const RtpPacket& packet);

  // A whole NAL unit: `header` then `body` (either may be empty, not both).
  void add_nal(std::span<const std::uint8_t> header, std::span<const std::uint8_t> body);
  // A fragmentation unit; `sequence` detects gaps between fragments.
  void fragment_start(std::span<const std::uint8_t> header, std::span<const std::uint8_t> body,
                      std::uint16_t sequence);
  void fragment_continue(std::span<const std::uint8_t> body, std::uint16_t sequence, bool end);

  // Packets were lost (or the stream broke) before the next one.
  void lost();
  // The current packet was rejected (malformed/unsupported): the unit is not whole.
  void mark_incomplete() noexcept { incomplete_ = true; }
  // Emits the access unit in progress, if any.
  void flush();

  NalDepacketizerStats& stats() noexcept { return stats_; }
  const NalDepacketizerStats& stats() const noexcept { return stats_; }

 private:
  bool append(std::span<const std::uint8_t> bytes);
  void drop_fragment();

  AccessUnitCallback on_access_unit_;
  std::size_t max_size_;
  core::Buffer buffer_;  // reused across access units; grows up to max_size_
  std::size_t size_ = 0;
  std::uint32_t timestamp_ = 0;
  bool have_timestamp_ = false;
  bool incomplete_ = false;
  bool oversize_ = false;
  bool loss_pending_ = false;
  bool fragment_active_ = false;
  std::size_t fragment_offset_ = 0;
  std::uint16_t fragment_sequence_ = 0;
  NalDepacketizerStats stats_;
};

}  // namespace mirror::ingest
