#include "ingest/mpegts/pes_header.h"

namespace mirror::ingest {
namespace {

// stream_ids whose PES packets carry no optional header (§2.4.3.7).
bool has_optional_header(std::uint8_t stream_id) {
  switch (stream_id) {
    case 0xBC:  // program_stream_map
    case 0xBE:  // padding_stream
    case 0xBF:  // private_stream_2
    case 0xF0:  // ECM
    case 0xF1:  // EMM
    case 0xF2:  // DSMCC
    case 0xF8:  // H.222.1 type E
    case 0xFF:  // program_stream_directory
      return false;
    default:
      return true;
  }
}

}  // namespace

std::int64_t parse_pes_timestamp(std::span<const std::uint8_t, 5> b, std::uint8_t prefix,
                                 int& marker_errors) {
  if ((b[0] >> 4) != prefix) ++marker_errors;
  if ((b[0] & 0x01) == 0) ++marker_errors;
  if ((b[2] & 0x01) == 0) ++marker_errors;
  if ((b[4] & 0x01) == 0) ++marker_errors;
  return (std::int64_t{(b[0] >> 1) & 0x07} << 30) | (std::int64_t{b[1]} << 22) |
         (std::int64_t{b[2] >> 1} << 15) | (std::int64_t{b[3]} << 7) | std::int64_t{b[4] >> 1};
}

PesHeaderStatus parse_pes_header(std::span<const std::uint8_t> b, PesHeader& out) {
  out = PesHeader{};
  // The start code and stream_id can be judged before the rest arrives.
  for (std::size_t i = 0; i < 3 && i < b.size(); ++i) {
    if (b[i] != (i == 2 ? 0x01 : 0x00)) return PesHeaderStatus::kBadStartCode;
  }
  if (b.size() >= 4 && !has_optional_header(b[3])) return PesHeaderStatus::kNoOptionalHeader;
  if (b.size() < kPesFixedHeaderSize) return PesHeaderStatus::kNeedMoreData;

  out.stream_id = b[3];
  out.packet_length = static_cast<std::uint16_t>((b[4] << 8) | b[5]);
  if ((b[6] & 0xC0) != 0x80) return PesHeaderStatus::kBadOptionalHeader;
  out.data_alignment = (b[6] & 0x04) != 0;
  const std::uint8_t pts_dts_flags = b[7] >> 6;
  const std::size_t data_length = b[8];
  out.header_size = kPesFixedHeaderSize + data_length;
  if (pts_dts_flags == 0x01) return PesHeaderStatus::kForbiddenPtsDtsFlags;
  const std::size_t timestamp_bytes = pts_dts_flags == 0x03 ? 10 : pts_dts_flags == 0x02 ? 5 : 0;
  if (data_length < timestamp_bytes) return PesHeaderStatus::kHeaderTooShort;
  // PES_packet_length counts the bytes after itself: 3 of flags and length, then
  // the header data.
  if (out.packet_length != 0 && out.packet_length < 3 + data_length) {
    return PesHeaderStatus::kLengthTooShort;
  }
  if (b.size() < out.header_size) return PesHeaderStatus::kNeedMoreData;

  const auto timestamps = b.subspan(kPesFixedHeaderSize);
  if (pts_dts_flags == 0x02) {
    out.pts = parse_pes_timestamp(timestamps.first<5>(), 0x02, out.marker_errors);
  } else if (pts_dts_flags == 0x03) {
    out.pts = parse_pes_timestamp(timestamps.first<5>(), 0x03, out.marker_errors);
    out.dts = parse_pes_timestamp(timestamps.subspan<5, 5>(), 0x01, out.marker_errors);
  }
  return PesHeaderStatus::kOk;
}

}  // namespace mirror::ingest
