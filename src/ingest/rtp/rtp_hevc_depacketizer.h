// HEVC over RTP (RFC 7798) without DONL fields (sprop-max-don-diff = 0):
// single NAL unit packets (types 0-47), aggregation packets (48) and
// fragmentation units (49). PACI packets (50) and undefined types (51-63) are
// counted as unsupported and skipped. Emits one Annex B access unit per RTP
// timestamp (see NalAccessUnitAssembler); sprop-vps/sps/pps from the SDP are
// kept as Annex B for the caller to put in front of the first access unit.
//
// Threads: single-threaded object, one per RTP source.
#pragma once

#include "ingest/rtp/nal_access_unit_assembler.h"
#include "ingest/rtp/rtp_packet.h"
#include "ingest/rtp/sdp_codec_params.h"

#include <cstdint>
#include <span>
#include <vector>

namespace mirror::ingest {

class RtpHevcDepacketizer {
 public:
  explicit RtpHevcDepacketizer(AccessUnitCallback on_access_unit,
                               std::size_t max_access_unit_size = kDefaultMaxAccessUnitSize);

  // Parameter sets from the SDP (hevc_rtp_parameters()).
  void set_parameters(const HevcRtpParameters& parameters);
  // VPS, SPS, PPS as Annex B (4-byte start codes); empty without them.
  std::span<const std::uint8_t> initial_parameter_sets() const noexcept { return parameter_sets_; }

  // One packet in sequence order; `after_loss` as for RtpH264Depacketizer.
  void push(const RtpPacket& packet, bool after_loss = false);
  void lost() { assembler_.lost(); }
  void flush() { assembler_.flush(); }

  const NalDepacketizerStats& stats() const noexcept { return assembler_.stats(); }

 private:
  void push_aggregation(std::span<const std::uint8_t> payload);
  void push_fragment(const RtpPacket& packet);
  void reject(std::uint64_t NalDepacketizerStats::*counter);

  NalAccessUnitAssembler assembler_;
  std::vector<std::uint8_t> parameter_sets_;
};

}  // namespace mirror::ingest
