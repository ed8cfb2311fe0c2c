#include "ingest/rtp/rtp_packet.h"

#include <string>

namespace mirror::ingest {
namespace {

constexpr std::size_t kFixedHeaderSize = 12;

std::uint16_t be16(const std::uint8_t* p) noexcept {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
std::uint32_t be32(const std::uint8_t* p) noexcept {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

}  // namespace

std::uint32_t RtpPacket::csrc(std::size_t index) const noexcept {
  if (index >= csrc_count || (index + 1) * 4 > csrc_bytes.size()) return 0;
  return be32(csrc_bytes.data() + index * 4);
}

std::string_view rtp_error_name(RtpError error) noexcept {
  switch (error) {
    case RtpError::kNone:
      return "ok";
    case RtpError::kTruncated:
      return "truncated";
    case RtpError::kBadVersion:
      return "bad_version";
    case RtpError::kBadPadding:
      return "bad_padding";
    case RtpError::kBadExtension:
      return "bad_extension";
  }
  return "unknown";
}

RtpError parse_rtp_header(std::span<const std::uint8_t> datagram, RtpPacket& out) noexcept {
  const std::size_t size = datagram.size();
  if (size < kFixedHeaderSize) return RtpError::kTruncated;
  const std::uint8_t* p = datagram.data();
  if ((p[0] >> 6) != 2) return RtpError::kBadVersion;
  const bool padding = (p[0] & 0x20) != 0;
  const bool extension = (p[0] & 0x10) != 0;
  const std::uint8_t cc = p[0] & 0x0f;

  out = RtpPacket{};
  out.marker = (p[1] & 0x80) != 0;
  out.payload_type = p[1] & 0x7f;
  out.sequence = be16(p + 2);
  out.timestamp = be32(p + 4);
  out.ssrc = be32(p + 8);
  out.csrc_count = cc;

  std::size_t offset = kFixedHeaderSize;
  const std::size_t csrc_size = std::size_t{cc} * 4;
  if (size - offset < csrc_size) return RtpError::kTruncated;
  out.csrc_bytes = datagram.subspan(offset, csrc_size);
  offset += csrc_size;

  if (extension) {
    if (size - offset < 4) return RtpError::kBadExtension;
    out.has_extension = true;
    out.extension_profile = be16(p + offset);
    const std::size_t ext_size = std::size_t{be16(p + offset + 2)} * 4;
    offset += 4;
    if (size - offset < ext_size) return RtpError::kBadExtension;
    out.extension = datagram.subspan(offset, ext_size);
    offset += ext_size;
  }

  std::size_t end = size;
  if (padding) {
    // The last byte counts the padding, itself included: 0 is meaningless and
    // a count reaching into the headers is forged.
    const std::uint8_t count = p[size - 1];
    if (count == 0 || count > size - offset) return RtpError::kBadPadding;
    out.padding_size = count;
    end -= count;
  }
  out.payload = datagram.subspan(offset, end - offset);
  return RtpError::kNone;
}

core::Result<RtpPacket> parse_rtp(std::span<const std::uint8_t> datagram) {
  RtpPacket packet;
  const RtpError error = parse_rtp_header(datagram, packet);
  if (error == RtpError::kNone) return packet;
  std::string message = "rtp: ";
  message += rtp_error_name(error);
  switch (error) {
    case RtpError::kTruncated:
      message += ": datagram of " + std::to_string(datagram.size()) +
                 " bytes is shorter than its RTP header";
      break;
    case RtpError::kBadVersion:
      message += ": version " + std::to_string(datagram[0] >> 6) + ", expected 2";
      break;
    case RtpError::kBadPadding:
      message += ": padding count " + std::to_string(datagram.back()) + " does not fit the payload";
      break;
    case RtpError::kBadExtension:
      message += ": header extension runs past the end of the datagram";
      break;
    case RtpError::kNone:
      break;
  }
  return core::Error(core::ErrorCode::kInvalidInput, std::move(message),
                     {{"reason", std::string(rtp_error_name(error))}});
}

}  // namespace mirror::ingest
