#include "ingest/rtp/rtcp.h"

#include <string>

namespace mirror::ingest {
namespace {

constexpr std::uint8_t kSenderReport = 200;
constexpr std::uint8_t kBye = 203;
constexpr std::size_t kHeaderSize = 4;
constexpr std::size_t kSenderInfoSize = 24;  // SSRC + NTP(8) + RTP ts + 2 counts
constexpr std::size_t kReportBlockSize = 24;

std::uint32_t be32(const std::uint8_t* p) noexcept {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

RtcpError parse_sender_report(std::span<const std::uint8_t> body, std::uint8_t report_count,
                              RtcpCompound& out) noexcept {
  if (body.size() < kSenderInfoSize + std::size_t{report_count} * kReportBlockSize) {
    return RtcpError::kBadReport;
  }
  if (out.sender_report_count == RtcpCompound::kMaxEntries) {
    ++out.dropped_entries;
    return RtcpError::kNone;
  }
  const std::uint8_t* p = body.data();
  RtcpSenderReport& sr = out.sender_reports[out.sender_report_count++];
  sr.ssrc = be32(p);
  sr.ntp_timestamp = (std::uint64_t{be32(p + 4)} << 32) | be32(p + 8);
  sr.rtp_timestamp = be32(p + 12);
  sr.packet_count = be32(p + 16);
  sr.octet_count = be32(p + 20);
  return RtcpError::kNone;
}

RtcpError parse_bye(std::span<const std::uint8_t> body, std::uint8_t source_count,
                    RtcpCompound& out) noexcept {
  if (body.size() < std::size_t{source_count} * 4) return RtcpError::kBadReport;
  out.bye = true;
  for (std::size_t i = 0; i < source_count; ++i) {
    if (out.bye_ssrc_count == RtcpCompound::kMaxEntries) {
      ++out.dropped_entries;
      continue;
    }
    out.bye_ssrcs[out.bye_ssrc_count++] = be32(body.data() + i * 4);
  }
  return RtcpError::kNone;
}

}  // namespace

std::string_view rtcp_error_name(RtcpError error) noexcept {
  switch (error) {
    case RtcpError::kNone:
      return "ok";
    case RtcpError::kTruncated:
      return "truncated";
    case RtcpError::kBadVersion:
      return "bad_version";
    case RtcpError::kBadLength:
      return "bad_length";
    case RtcpError::kBadPadding:
      return "bad_padding";
    case RtcpError::kBadReport:
      return "bad_report";
  }
  return "unknown";
}

RtcpError parse_rtcp_compound(std::span<const std::uint8_t> datagram, RtcpCompound& out) noexcept {
  out = RtcpCompound{};
  if (datagram.size() < kHeaderSize) return RtcpError::kTruncated;
  std::size_t offset = 0;
  while (offset < datagram.size()) {
    const std::size_t left = datagram.size() - offset;
    if (left < kHeaderSize) return RtcpError::kTruncated;
    const std::uint8_t* p = datagram.data() + offset;
    if ((p[0] >> 6) != 2) return RtcpError::kBadVersion;
    const bool padding = (p[0] & 0x20) != 0;
    const std::uint8_t count = p[0] & 0x1f;
    const std::uint8_t type = p[1];
    // The length field counts 32-bit words minus one, so a packet is at least
    // its header and the whole compound is walked in word-sized steps.
    const std::size_t length =
        (std::size_t{static_cast<std::uint16_t>((p[2] << 8) | p[3])} + 1) * 4;
    if (length > left) return RtcpError::kBadLength;
    std::span<const std::uint8_t> body =
        datagram.subspan(offset + kHeaderSize, length - kHeaderSize);
    if (padding) {
      const std::uint8_t pad = p[length - 1];
      if (pad == 0 || pad > body.size()) return RtcpError::kBadPadding;
      body = body.first(body.size() - pad);
    }
    ++out.packet_count;
    RtcpError error = RtcpError::kNone;
    switch (type) {
      case kSenderReport:
        error = parse_sender_report(body, count, out);
        break;
      case kBye:
        error = parse_bye(body, count, out);
        break;
      default:
        ++out.skipped_packets;
        break;
    }
    if (error != RtcpError::kNone) return error;
    offset += length;
  }
  return RtcpError::kNone;
}

core::Result<RtcpCompound> parse_rtcp(std::span<const std::uint8_t> datagram) {
  RtcpCompound compound;
  const RtcpError error = parse_rtcp_compound(datagram, compound);
  if (error == RtcpError::kNone) return compound;
  return core::Error(core::ErrorCode::kInvalidInput,
                     "rtcp: " + std::string(rtcp_error_name(error)) + " in packet " +
                         std::to_string(compound.packet_count + 1) + " of the compound",
                     {{"reason", std::string(rtcp_error_name(error))}});
}

std::chrono::system_clock::time_point ntp_to_system_time(std::uint64_t ntp) noexcept {
  // 70 years (17 leap days) between the NTP and Unix epochs.
  constexpr std::int64_t kNtpToUnixSeconds = 2208988800LL;
  const std::int64_t seconds = static_cast<std::int64_t>(ntp >> 32) - kNtpToUnixSeconds;
  const std::int64_t micros = static_cast<std::int64_t>(((ntp & 0xffffffffULL) * 1000000ULL) >> 32);
  return std::chrono::system_clock::time_point(std::chrono::seconds(seconds) +
                                               std::chrono::microseconds(micros));
}

}  // namespace mirror::ingest
