#include "ingest/rtp/rtp_hevc_depacketizer.h"

#include <utility>

namespace mirror::ingest {
namespace {

constexpr std::uint8_t kAggregation = 48;
constexpr std::uint8_t kFragmentation = 49;
constexpr std::size_t kPayloadHeaderSize = 2;

std::uint8_t nal_type(std::uint8_t first_header_byte) noexcept {
  return (first_header_byte >> 1) & 0x3f;
}

}  // namespace

RtpHevcDepacketizer::RtpHevcDepacketizer(AccessUnitCallback on_access_unit,
                                         std::size_t max_access_unit_size)
    : assembler_(std::move(on_access_unit), max_access_unit_size) {}

void RtpHevcDepacketizer::set_parameters(const HevcRtpParameters& parameters) {
  parameter_sets_.clear();
  for (const auto* list : {&parameters.vps, &parameters.sps, &parameters.pps}) {
    for (const auto& nal : *list) {
      if (nal.empty()) continue;
      parameter_sets_.insert(parameter_sets_.end(), {0, 0, 0, 1});
      parameter_sets_.insert(parameter_sets_.end(), nal.begin(), nal.end());
    }
  }
}

void RtpHevcDepacketizer::reject(std::uint64_t NalDepacketizerStats::*counter) {
  ++(assembler_.stats().*counter);
  assembler_.mark_incomplete();
}

void RtpHevcDepacketizer::push(const RtpPacket& packet, bool after_loss) {
  ++assembler_.stats().packets;
  if (after_loss) assembler_.lost();
  assembler_.begin_packet(packet);
  const auto payload = packet.payload;
  if (payload.size() < kPayloadHeaderSize) {
    ++assembler_.stats().empty_packets;
  } else if ((payload[1] & 0x07) == 0) {
    // TID 0 is forbidden: not a payload header a real encoder writes.
    reject(&NalDepacketizerStats::malformed_packets);
  } else {
    const std::uint8_t type = nal_type(payload[0]);
    if (type < kAggregation) {
      assembler_.add_nal({}, payload);
    } else if (type == kAggregation) {
      push_aggregation(payload);
    } else if (type == kFragmentation) {
      push_fragment(packet);
    } else {
      // PACI (50) and undefined types.
      reject(&NalDepacketizerStats::unsupported_packets);
    }
  }
  assembler_.end_packet(packet);
}

void RtpHevcDepacketizer::push_aggregation(std::span<const std::uint8_t> payload) {
  // Without DONL an AP is a list of (16-bit size, NAL unit). Validate all of
  // it before taking any unit.
  std::size_t offset = kPayloadHeaderSize;
  std::size_t count = 0;
  bool valid = true;
  while (offset < payload.size()) {
    const std::size_t left = payload.size() - offset;
    const std::size_t size =
        left < 2 ? 0 : (std::size_t{payload[offset]} << 8) | payload[offset + 1];
    if (left < 2 || size < 2 || size > left - 2) {
      valid = false;
      break;
    }
    offset += 2 + size;
    ++count;
  }
  if (!valid || count == 0) {
    reject(&NalDepacketizerStats::malformed_packets);
    return;
  }
  offset = kPayloadHeaderSize;
  while (offset < payload.size()) {
    const std::size_t size = (std::size_t{payload[offset]} << 8) | payload[offset + 1];
    assembler_.add_nal({}, payload.subspan(offset + 2, size));
    offset += 2 + size;
  }
}

void RtpHevcDepacketizer::push_fragment(const RtpPacket& packet) {
  const auto payload = packet.payload;
  if (payload.size() < kPayloadHeaderSize + 1) {
    reject(&NalDepacketizerStats::malformed_packets);
    return;
  }
  const std::uint8_t fu_header = payload[kPayloadHeaderSize];
  const bool start = (fu_header & 0x80) != 0;
  const bool end = (fu_header & 0x40) != 0;
  const std::uint8_t type = fu_header & 0x3f;
  const auto body = payload.subspan(kPayloadHeaderSize + 1);
  if (start) {
    if (type >= kAggregation) {
      reject(&NalDepacketizerStats::malformed_packets);
      return;
    }
    // The NAL header is the payload header with the FU's type: F, LayerId
    // and TID carry over.
    const std::uint8_t header[2] = {static_cast<std::uint8_t>((payload[0] & 0x81) | (type << 1)),
                                    payload[1]};
    if (end) {
      assembler_.add_nal(header, body);
    } else {
      assembler_.fragment_start(header, body, packet.sequence);
    }
    return;
  }
  assembler_.fragment_continue(body, packet.sequence, end);
}

}  // namespace mirror::ingest
