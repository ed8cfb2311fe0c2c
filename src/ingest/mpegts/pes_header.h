// The header of a PES packet (ISO/IEC 13818-1 §2.4.3.6): start code prefix,
// stream_id, PES_packet_length and the optional header with PTS/DTS. Parsed
// from the first bytes of a PES, which the caller may collect across TS
// packets: the parser says how many bytes the whole header needs.
//
// Threads: pure functions, no shared state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace mirror::ingest {

// start code (3) + stream_id (1) + PES_packet_length (2) + flags (2) +
// PES_header_data_length (1).
inline constexpr std::size_t kPesFixedHeaderSize = 9;
inline constexpr std::size_t kPesMaxHeaderSize = kPesFixedHeaderSize + 255;

struct PesHeader {
  std::uint8_t stream_id = 0;
  std::uint16_t packet_length = 0;  // bytes after this field; 0 = unbounded (video)
  std::size_t header_size = 0;      // 9 + PES_header_data_length: where the payload starts
  bool data_alignment = false;
  std::optional<std::int64_t> pts;  // raw 33-bit values, not unwrapped
  std::optional<std::int64_t> dts;
  // Marker bits or the 4-bit PTS/DTS prefixes that are wrong. Counted, not
  // fatal: some muxers get them wrong and the timestamps are still right.
  int marker_errors = 0;

  // Payload bytes announced by PES_packet_length; nullopt when unbounded.
  std::optional<std::size_t> payload_length() const noexcept {
    if (packet_length == 0) return std::nullopt;
    return std::size_t{packet_length} + 6 - header_size;
  }
};

enum class PesHeaderStatus : std::uint8_t {
  kOk,
  kNeedMoreData,       // fewer bytes than the header needs (header_size says how many, once known)
  kBadStartCode,       // not 00 00 01
  kNoOptionalHeader,   // a stream_id without the optional header (padding, private_stream_2, ...)
  kBadOptionalHeader,  // the optional header does not start with '10' (MPEG-1 syntax)
  kForbiddenPtsDtsFlags,  // PTS_DTS_flags == 01
  kHeaderTooShort,        // PES_header_data_length smaller than the flagged fields
  kLengthTooShort,        // PES_packet_length smaller than the header it carries
};

// Parses the header at the start of `bytes` (the PES from its start code on).
// With kNeedMoreData, out.header_size is set once the 9 fixed bytes are there,
// so the caller knows how many to collect.
PesHeaderStatus parse_pes_header(std::span<const std::uint8_t> bytes, PesHeader& out);

// A 5-byte PTS or DTS field; counts wrong marker bits and a prefix other than
// `prefix` (0b0010 for a lone PTS, 0b0011 for a PTS before a DTS, 0b0001 for DTS).
std::int64_t parse_pes_timestamp(std::span<const std::uint8_t, 5> bytes, std::uint8_t prefix,
                                 int& marker_errors);

}  // namespace mirror::ingest
