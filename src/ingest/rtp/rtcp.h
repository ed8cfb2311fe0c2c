// RTCP compound packet parsing (RFC 3550 §6): walks every packet of a compound
// datagram, keeps what ingest needs (Sender Reports to map RTP time to wall
// time, BYE to end a source) and skips the rest after checking its length.
//
// Threads: stateless; call from any thread.
#pragma once

#include "core/errors.h"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace mirror::ingest {

struct RtcpSenderReport {
  std::uint32_t ssrc = 0;
  std::uint64_t ntp_timestamp = 0;  // 32.32 fixed point seconds since 1900
  std::uint32_t rtp_timestamp = 0;  // the same instant on the RTP clock
  std::uint32_t packet_count = 0;
  std::uint32_t octet_count = 0;
};

// What one compound datagram said. Fixed capacity (no allocation): reports or
// BYE sources beyond it are counted in `dropped_entries`, not stored.
struct RtcpCompound {
  static constexpr std::size_t kMaxEntries = 8;

  std::array<RtcpSenderReport, kMaxEntries> sender_reports{};
  std::size_t sender_report_count = 0;
  std::array<std::uint32_t, kMaxEntries> bye_ssrcs{};
  std::size_t bye_ssrc_count = 0;
  bool bye = false;                 // a BYE packet was present
  std::size_t packet_count = 0;     // RTCP packets in the compound
  std::size_t skipped_packets = 0;  // RR, SDES, APP, feedback, unknown types
  std::size_t dropped_entries = 0;

  std::span<const RtcpSenderReport> reports() const noexcept {
    return {sender_reports.data(), sender_report_count};
  }
  std::span<const std::uint32_t> bye_sources() const noexcept {
    return {bye_ssrcs.data(), bye_ssrc_count};
  }
};

enum class RtcpError : std::uint8_t {
  kNone,
  kTruncated,   // empty, or shorter than one RTCP header
  kBadVersion,  // a packet's version is not 2
  kBadLength,   // a packet's length field runs past the datagram
  kBadPadding,  // padding count 0 or larger than the packet body
  kBadReport,   // SR/BYE body shorter than its counts require
};

// "ok", "truncated", "bad_version", "bad_length", "bad_padding", "bad_report".
std::string_view rtcp_error_name(RtcpError error) noexcept;

// Hot-path form; never allocates. On error `out` holds what was parsed before
// the bad packet.
RtcpError parse_rtcp_compound(std::span<const std::uint8_t> datagram, RtcpCompound& out) noexcept;

core::Result<RtcpCompound> parse_rtcp(std::span<const std::uint8_t> datagram);

// A Sender Report's NTP time as a system_clock instant (NTP era 0, 1900–2036).
std::chrono::system_clock::time_point ntp_to_system_time(std::uint64_t ntp) noexcept;

}  // namespace mirror::ingest
