#include "ingest/rtp/rtp_h264_depacketizer.h"

#include <utility>

namespace mirror::ingest {
namespace {

// NAL unit types of the RTP payload header. STAP-B (25), MTAP16 (26),
// MTAP24 (27) and FU-B (29) belong to the interleaved mode.
constexpr std::uint8_t kStapA = 24;
constexpr std::uint8_t kFuA = 28;

}  // namespace

RtpH264Depacketizer::RtpH264Depacketizer(AccessUnitCallback on_access_unit,
                                         std::size_t max_access_unit_size)
    : assembler_(std::move(on_access_unit), max_access_unit_size) {}

void RtpH264Depacketizer::set_parameters(const H264RtpParameters& parameters) {
  parameter_sets_.clear();
  for (const auto& nal : parameters.parameter_sets) {
    if (nal.empty()) continue;
    parameter_sets_.insert(parameter_sets_.end(), {0, 0, 0, 1});
    parameter_sets_.insert(parameter_sets_.end(), nal.begin(), nal.end());
  }
}

void RtpH264Depacketizer::push(const RtpPacket& packet, bool after_loss) {
  auto& stats = assembler_.stats();
  ++stats.packets;
  if (after_loss) assembler_.lost();
  assembler_.begin_packet(packet);
  const auto payload = packet.payload;
  if (payload.empty()) {
    ++stats.empty_packets;
  } else {
    const std::uint8_t type = payload[0] & 0x1f;
    if (type >= 1 && type <= 23) {
      assembler_.add_nal({}, payload);
    } else if (type == kStapA) {
      push_stap_a(payload);
    } else if (type == kFuA) {
      push_fu_a(packet);
    } else {
      // Interleaved-mode types, or 0, 30, 31 which are undefined.
      ++stats.unsupported_packets;
      assembler_.mark_incomplete();
    }
  }
  assembler_.end_packet(packet);
}

void RtpH264Depacketizer::push_stap_a(std::span<const std::uint8_t> payload) {
  // Check every size against the end before taking anything, so a forged
  // packet contributes nothing.
  std::size_t offset = 1;
  std::size_t count = 0;
  bool valid = true;
  while (offset < payload.size()) {
    const std::size_t left = payload.size() - offset;
    const std::size_t size =
        left < 2 ? 0 : (std::size_t{payload[offset]} << 8) | payload[offset + 1];
    if (left < 2 || size == 0 || size > left - 2) {
      valid = false;
      break;
    }
    offset += 2 + size;
    ++count;
  }
  if (!valid || count == 0) {
    ++assembler_.stats().malformed_packets;
    assembler_.mark_incomplete();
    return;
  }
  offset = 1;
  while (offset < payload.size()) {
    const std::size_t size = (std::size_t{payload[offset]} << 8) | payload[offset + 1];
    assembler_.add_nal({}, payload.subspan(offset + 2, size));
    offset += 2 + size;
  }
}

void RtpH264Depacketizer::push_fu_a(const RtpPacket& packet) {
  const auto payload = packet.payload;
  if (payload.size() < 2) {
    ++assembler_.stats().malformed_packets;
    assembler_.mark_incomplete();
    return;
  }
  const std::uint8_t indicator = payload[0];
  const std::uint8_t fu_header = payload[1];
  const bool start = (fu_header & 0x80) != 0;
  const bool end = (fu_header & 0x40) != 0;
  const std::uint8_t nal_type = fu_header & 0x1f;
  const auto body = payload.subspan(2);
  if (start) {
    if (nal_type == 0 || nal_type > 23) {
      ++assembler_.stats().malformed_packets;
      assembler_.mark_incomplete();
      return;
    }
    // The NAL header is rebuilt from the indicator's F/NRI and the FU type.
    const std::uint8_t header = static_cast<std::uint8_t>((indicator & 0xe0) | nal_type);
    if (end) {
      // RFC 6184 forbids S and E together, but the unit is whole: keep it.
      assembler_.add_nal({&header, 1}, body);
    } else {
      assembler_.fragment_start({&header, 1}, body, packet.sequence);
    }
    return;
  }
  assembler_.fragment_continue(body, packet.sequence, end);
}

}  // namespace mirror::ingest
