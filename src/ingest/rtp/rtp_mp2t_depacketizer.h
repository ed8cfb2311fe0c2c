// MPEG-TS over RTP (RFC 2250, static payload type 33): each payload is a whole
// number of 188-byte TS packets, every one starting with the 0x47 sync byte.
// Valid payloads are handed on as they are (a view into the datagram) for the
// TS demuxer; anything else is counted and dropped.
//
// Threads: single-threaded object, one per RTP source.
#pragma once

#include "ingest/rtp/rtp_packet.h"

#include <cstdint>
#include <functional>
#include <span>

namespace mirror::ingest {

// TS packets, valid only during the call, and the RTP timestamp they came with.
using TsPacketsCallback =
    std::function<void(std::span<const std::uint8_t> ts, std::uint32_t rtp_timestamp)>;

struct Mp2tDepacketizerStats {
  std::uint64_t packets = 0;
  std::uint64_t ts_packets = 0;
  std::uint64_t malformed_packets = 0;  // empty, not a multiple of 188, or lost sync
  std::uint64_t losses = 0;
};

class RtpMp2tDepacketizer {
 public:
  static constexpr std::size_t kTsPacketSize = 188;

  explicit RtpMp2tDepacketizer(TsPacketsCallback on_ts_packets);

  // `after_loss` is only counted: the TS demuxer finds the gap through its
  // continuity counters.
  void push(const RtpPacket& packet, bool after_loss = false);
  void lost() { ++stats_.losses; }

  const Mp2tDepacketizerStats& stats() const noexcept { return stats_; }

 private:
  TsPacketsCallback on_ts_packets_;
  Mp2tDepacketizerStats stats_;
};

}  // namespace mirror::ingest
