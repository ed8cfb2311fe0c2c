#include "ingest/rtp/rtp_mp2t_depacketizer.h"

#include <utility>

namespace mirror::ingest {

RtpMp2tDepacketizer::RtpMp2tDepacketizer(TsPacketsCallback on_ts_packets)
    : on_ts_packets_(std::move(on_ts_packets)) {}

void RtpMp2tDepacketizer::push(const RtpPacket& packet, bool after_loss) {
  ++stats_.packets;
  if (after_loss) lost();
  const auto payload = packet.payload;
  if (payload.empty() || payload.size() % kTsPacketSize != 0) {
    ++stats_.malformed_packets;
    return;
  }
  for (std::size_t offset = 0; offset < payload.size(); offset += kTsPacketSize) {
    if (payload[offset] != 0x47) {
      ++stats_.malformed_packets;
      return;
    }
  }
  stats_.ts_packets += payload.size() / kTsPacketSize;
  if (on_ts_packets_) on_ts_packets_(payload, packet.timestamp);
}

}  // namespace mirror::ingest
