// libFuzzer target for AAC over RTP (RFC 3640). The first byte picks the
// AU-header layout (size length 1-16, index and index-delta lengths 0-7);
// the rest is a list of records [u16 length][u8 flags][datagram], flags' low
// 7 bits advancing a fake clock (ms) and bit 7 reporting a loss. Valid RTP
// packets go straight to one depacketizer and through a jitter buffer to
// another. Checks, besides the sanitizers: every frame is non-empty and no
// larger than the AU-size field can express.
#include "ingest/rtp/jitter_buffer.h"
#include "ingest/rtp/rtp_aac_depacketizer.h"
#include "ingest/rtp/rtp_packet.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

namespace {

using namespace mirror::ingest;

void require(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  AacRtpParameters params;
  params.size_length = 1 + (data[0] & 0x0f);
  params.index_length = (data[0] >> 4) & 0x07;
  params.index_delta_length = params.index_length;
  params.audio_specific_config = {0x11, 0x90};
  if (data[0] & 0x80) {  // the common AAC-hbr layout
    params.size_length = 13;
    params.index_length = 3;
    params.index_delta_length = 3;
  }
  const std::size_t max_frame = (std::size_t{1} << params.size_length) - 1;
  auto check = [max_frame](std::span<const std::uint8_t> frame, std::uint32_t) {
    require(!frame.empty() && frame.size() <= max_frame);
  };
  RtpAacDepacketizer direct(params, check);
  RtpAacDepacketizer ordered(params, check);
  JitterBufferOptions options;
  options.clock_rate = 48000;
  options.max_packets = 32;
  options.reset_window = 200;
  JitterBuffer jitter(options);
  auto now = std::chrono::steady_clock::time_point(std::chrono::hours(1));
  std::vector<ReleasedPacket> released;

  std::span<const std::uint8_t> input(data + 1, size - 1);
  while (input.size() >= 3) {
    const std::size_t length = std::min<std::size_t>((input[0] << 8) | input[1], input.size() - 3);
    const std::uint8_t flags = input[2];
    const auto datagram = input.subspan(3, length);
    input = input.subspan(3 + length);
    now += std::chrono::milliseconds(flags & 0x7f);

    RtpPacket packet;
    if (parse_rtp_header(datagram, packet) != RtpError::kNone) continue;
    direct.push(packet, (flags & 0x80) != 0);
    mirror::core::BufferRef copy = mirror::core::BufferPool::global().copy_of(datagram);
    RtpPacket owned;
    require(parse_rtp_header(copy.bytes(), owned) == RtpError::kNone);
    jitter.insert(std::move(copy), owned, now);
    jitter.pop_ready(now, released);
    for (const auto& r : released) ordered.push(r.packet, r.lost_before > 0 || r.discontinuity);
    released.clear();
  }
  jitter.flush(released);
  for (const auto& r : released) ordered.push(r.packet, r.lost_before > 0 || r.discontinuity);
  return 0;
}
