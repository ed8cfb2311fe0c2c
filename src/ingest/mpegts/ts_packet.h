// One 188-byte MPEG-TS packet (ISO/IEC 13818-1 §2.4.3): its 4-byte header, the
// adaptation field (discontinuity, random access, PCR) and the payload it
// carries, plus the per-PID continuity-counter check. Pure functions and small
// value types over byte spans; no allocation, no exceptions.
//
// Threads: no shared state; a ContinuityCounter belongs to whoever owns the PID
// (the TsDemuxer, on its ingest thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace mirror::ingest {

inline constexpr std::size_t kTsPacketSize = 188;
inline constexpr std::uint8_t kTsSyncByte = 0x47;
inline constexpr std::uint16_t kPatPid = 0x0000;
inline constexpr std::uint16_t kNullPid = 0x1FFF;
inline constexpr std::uint16_t kMaxPid = 0x1FFF;

struct AdaptationField {
  bool present = false;
  bool discontinuity = false;
  bool random_access = false;
  // Program clock reference: base * 300 + extension, in 27 MHz ticks, as sent
  // (an extension above 299, which the standard forbids, is not corrected).
  std::optional<std::int64_t> pcr;
  // The field pads the packet (stuffing bytes, or nothing but padding). A
  // muxer pads only the last packet of a PES, so a padded payload packet
  // ends its PES: an unbounded video PES is then complete without waiting for
  // the next one to start (a frame interval sooner).
  bool stuffing = false;
};

struct TsPacket {
  std::uint16_t pid = 0;
  bool transport_error = false;
  bool unit_start = false;      // payload_unit_start_indicator
  std::uint8_t scrambling = 0;  // transport_scrambling_control, 0 = clear
  std::uint8_t continuity_counter = 0;
  bool has_payload = false;  // adaptation_field_control 01 or 11
  AdaptationField adaptation;
  std::span<const std::uint8_t> payload;  // points into the packet; empty without one
};

enum class TsPacketError : std::uint8_t {
  kNone,
  kNoSync,                     // first byte is not 0x47
  kReservedAdaptationControl,  // adaptation_field_control == 00
  kBadAdaptationLength,        // > 183 without payload, > 182 with payload
};

// Parses one packet. The header fields (pid, transport_error, unit_start,
// scrambling, continuity_counter) are filled even when the adaptation field
// turns out to be malformed, so the caller can classify the packet first.
TsPacketError parse_ts_packet(std::span<const std::uint8_t, kTsPacketSize> bytes, TsPacket& out);

// The 6 PCR bytes of an adaptation field: 33-bit base, 6 reserved bits, 9-bit
// extension.
std::int64_t parse_pcr(std::span<const std::uint8_t, 6> bytes);

// Continuity of one PID (§2.4.3.3): the counter increments on every packet with
// a payload; one duplicate of a packet may be sent.
class ContinuityCounter {
 public:
  enum class Result : std::uint8_t { kOk, kDuplicate, kGap };

  // `discontinuity` is the adaptation field's discontinuity_indicator: the
  // counter may jump there, and this packet becomes the new reference.
  Result check(std::uint8_t counter, bool has_payload, bool discontinuity) noexcept;
  // Forget the expectation (stream restart): the next packet is accepted as is.
  void reset() noexcept {
    last_ = -1;
    duplicate_seen_ = false;
  }

 private:
  std::int8_t last_ = -1;  // -1: no expectation
  bool duplicate_seen_ = false;
};

}  // namespace mirror::ingest
