#include "ingest/mpegts/ts_packet.h"

namespace mirror::ingest {

std::int64_t parse_pcr(std::span<const std::uint8_t, 6> b) {
  const std::int64_t base = (std::int64_t{b[0]} << 25) | (std::int64_t{b[1]} << 17) |
                            (std::int64_t{b[2]} << 9) | (std::int64_t{b[3]} << 1) |
                            (std::int64_t{b[4]} >> 7);
  const std::int64_t extension = ((std::int64_t{b[4]} & 0x01) << 8) | std::int64_t{b[5]};
  return base * 300 + extension;
}

TsPacketError parse_ts_packet(std::span<const std::uint8_t, kTsPacketSize> b, TsPacket& out) {
  out = TsPacket{};
  if (b[0] != kTsSyncByte) return TsPacketError::kNoSync;
  out.transport_error = (b[1] & 0x80) != 0;
  out.unit_start = (b[1] & 0x40) != 0;
  out.pid = static_cast<std::uint16_t>(((b[1] & 0x1F) << 8) | b[2]);
  out.scrambling = static_cast<std::uint8_t>(b[3] >> 6);
  const std::uint8_t control = (b[3] >> 4) & 0x03;
  out.continuity_counter = b[3] & 0x0F;
  if (control == 0) return TsPacketError::kReservedAdaptationControl;

  std::size_t offset = 4;
  if (control & 0x02) {
    const std::size_t length = b[4];
    // With a payload, at least one payload byte must remain (§2.4.3.5).
    const std::size_t max_length = (control & 0x01) ? 182 : 183;
    if (length > max_length) return TsPacketError::kBadAdaptationLength;
    out.adaptation.present = true;
    // adaptation_field_length 0 is a single stuffing byte.
    out.adaptation.stuffing = length == 0;
    if (length > 0) {
      const std::uint8_t flags = b[5];
      out.adaptation.discontinuity = (flags & 0x80) != 0;
      out.adaptation.random_access = (flags & 0x40) != 0;
      // A PCR flag without room for the PCR is ignored rather than read past
      // the field.
      if ((flags & 0x10) && length >= 7) {
        out.adaptation.pcr = parse_pcr(b.subspan<6, 6>());
      }
      // Bytes the flagged fields take (§2.4.3.4); whatever is left is stuffing.
      std::size_t used = 1;
      if (flags & 0x10) used += 6;  // PCR
      if (flags & 0x08) used += 6;  // OPCR
      if (flags & 0x04) used += 1;  // splice countdown
      if ((flags & 0x02) && used < length) used += 1 + b[5 + used];  // private data
      if ((flags & 0x01) && used < length) used += 1 + b[5 + used];  // extension
      out.adaptation.stuffing = flags == 0 || used < length;
    }
    offset = 5 + length;
  }
  if (control & 0x01) {
    out.has_payload = true;
    out.payload = std::span<const std::uint8_t>(b).subspan(offset);
  }
  return TsPacketError::kNone;
}

ContinuityCounter::Result ContinuityCounter::check(std::uint8_t counter, bool has_payload,
                                                   bool discontinuity) noexcept {
  counter &= 0x0F;
  if (discontinuity) {
    // Packets without payload do not advance the counter, so only a payload
    // packet can serve as the new reference.
    last_ = has_payload ? static_cast<std::int8_t>(counter) : std::int8_t{-1};
    duplicate_seen_ = false;
    return Result::kOk;
  }
  if (!has_payload) return Result::kOk;
  if (last_ < 0 || counter == ((last_ + 1) & 0x0F)) {
    last_ = static_cast<std::int8_t>(counter);
    duplicate_seen_ = false;
    return Result::kOk;
  }
  if (counter == last_ && !duplicate_seen_) {
    duplicate_seen_ = true;
    return Result::kDuplicate;
  }
  last_ = static_cast<std::int8_t>(counter);
  duplicate_seen_ = false;
  return Result::kGap;
}

}  // namespace mirror::ingest
