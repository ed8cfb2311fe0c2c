// RTP fixed header parsing (RFC 3550 §5.1): one datagram in, a view of its
// header fields and payload out. Pure function over a byte span; the payload,
// CSRC list and header extension are views into the caller's bytes, so an
// RtpPacket is valid only as long as the datagram it was parsed from.
//
// Threads: stateless; call from any thread.
#pragma once

#include "core/errors.h"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace mirror::ingest {

struct RtpPacket {
  bool marker = false;
  std::uint8_t payload_type = 0;
  std::uint16_t sequence = 0;
  std::uint32_t timestamp = 0;
  std::uint32_t ssrc = 0;
  std::uint8_t csrc_count = 0;
  std::span<const std::uint8_t> csrc_bytes;  // csrc_count × 4 bytes, big-endian
  bool has_extension = false;
  std::uint16_t extension_profile = 0;      // "defined by profile" field
  std::span<const std::uint8_t> extension;  // extension data after its 4-byte header
  std::uint8_t padding_size = 0;            // bytes removed from the end (0 = no padding)
  std::span<const std::uint8_t> payload;

  std::uint32_t csrc(std::size_t index) const noexcept;  // 0 when out of range
};

// Why a datagram is not a valid RTP packet; the names are stable (metrics, logs).
enum class RtpError : std::uint8_t {
  kNone,
  kTruncated,     // shorter than its fixed header plus CSRC list
  kBadVersion,    // version field is not 2
  kBadPadding,    // padding count 0 or larger than the payload
  kBadExtension,  // header extension runs past the end of the datagram
};

// "ok", "truncated", "bad_version", "bad_padding", "bad_extension".
std::string_view rtp_error_name(RtpError error) noexcept;

// The hot-path form: fills `out` and returns kNone, or returns why not (and
// leaves `out` unspecified). Never allocates.
RtpError parse_rtp_header(std::span<const std::uint8_t> datagram, RtpPacket& out) noexcept;

// The same with an Error (INVALID_INPUT, message "rtp: <reason>: ...", details
// {"reason": "<name>"}) for callers that log or report it.
core::Result<RtpPacket> parse_rtp(std::span<const std::uint8_t> datagram);

}  // namespace mirror::ingest
