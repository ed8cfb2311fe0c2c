// The body shared by the RTP video fuzz targets (H.264, HEVC). The input is a
// list of records [u16 length][u8 flags][datagram]; flags' low 7 bits advance
// a fake clock (ms) and bit 7 reports a loss before the packet. Each datagram
// goes through parse_rtp_header and RTCP parsing; valid RTP packets go
// straight to one depacketizer (with the loss flag) and through a small jitter
// buffer to another. Checks, besides the sanitizers: every access unit is
// non-empty Annex B starting with a 4-byte start code and within the size cap,
// and the jitter buffer releases strictly increasing sequence numbers.
#pragma once

#include "ingest/rtp/jitter_buffer.h"
#include "ingest/rtp/rtcp.h"
#include "ingest/rtp/rtp_packet.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

namespace mirror::fuzz {

inline void require(bool condition) {
  if (!condition) std::abort();
}

// `min_access_unit`: start code plus the smallest NAL header of the codec.
template <class Depacketizer>
int fuzz_rtp_video(const std::uint8_t* data, std::size_t size, std::size_t min_access_unit) {
  using namespace mirror::ingest;
  constexpr std::size_t kMaxAccessUnit = 256 * 1024;
  auto check_access_unit = [min_access_unit](std::span<const std::uint8_t> annexb, std::uint32_t,
                                             bool) {
    require(annexb.size() >= min_access_unit && annexb.size() <= kMaxAccessUnit);
    require(annexb[0] == 0 && annexb[1] == 0 && annexb[2] == 0 && annexb[3] == 1);
  };
  Depacketizer direct(check_access_unit, kMaxAccessUnit);
  Depacketizer ordered(check_access_unit, kMaxAccessUnit);
  JitterBufferOptions options;
  options.max_packets = 32;
  options.reset_window = 200;
  JitterBuffer jitter(options);
  auto now = std::chrono::steady_clock::time_point(std::chrono::hours(1));
  std::vector<ReleasedPacket> released;
  bool have_last = false;
  std::int64_t last = 0;
  auto deliver = [&] {
    for (const auto& r : released) {
      require(!have_last || r.extended_sequence > last || r.discontinuity);
      have_last = true;
      last = r.extended_sequence;
      ordered.push(r.packet, r.lost_before > 0 || r.discontinuity);
    }
    released.clear();
  };

  std::span<const std::uint8_t> input(data, size);
  while (input.size() >= 3) {
    const std::size_t length = std::min<std::size_t>((input[0] << 8) | input[1], input.size() - 3);
    const std::uint8_t flags = input[2];
    const auto datagram = input.subspan(3, length);
    input = input.subspan(3 + length);
    now += std::chrono::milliseconds(flags & 0x7f);

    RtcpCompound compound;
    (void)parse_rtcp_compound(datagram, compound);
    RtpPacket packet;
    if (parse_rtp_header(datagram, packet) != RtpError::kNone) continue;
    require(packet.payload.size() <= datagram.size());
    direct.push(packet, (flags & 0x80) != 0);

    mirror::core::BufferRef copy = mirror::core::BufferPool::global().copy_of(datagram);
    RtpPacket owned;
    require(parse_rtp_header(copy.bytes(), owned) == RtpError::kNone);
    jitter.insert(std::move(copy), owned, now);
    jitter.pop_ready(now, released);
    deliver();
    require(jitter.stats().held <= 32);
  }
  jitter.flush(released);
  deliver();
  direct.flush();
  ordered.flush();
  return 0;
}

}  // namespace mirror::fuzz
