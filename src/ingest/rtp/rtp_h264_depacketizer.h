// H.264 over RTP (RFC 6184), packetization modes 0 and 1: single NAL unit
// packets (types 1-23), STAP-A (24) and FU-A (28). STAP-B, MTAP16/24 and FU-B
// (interleaved mode) are counted as unsupported and skipped. Emits one Annex B
// access unit per RTP timestamp (see NalAccessUnitAssembler); the SDP's
// sprop-parameter-sets are kept as Annex B for the caller to put in front of
// the first access unit.
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

class RtpH264Depacketizer {
 public:
  explicit RtpH264Depacketizer(AccessUnitCallback on_access_unit,
                               std::size_t max_access_unit_size = kDefaultMaxAccessUnitSize);

  // Parameter sets from the SDP (h264_rtp_parameters()).
  void set_parameters(const H264RtpParameters& parameters);
  // sprop-parameter-sets as Annex B (4-byte start codes); empty without them.
  std::span<const std::uint8_t> initial_parameter_sets() const noexcept { return parameter_sets_; }

  // One packet in sequence order. `after_loss`: packets are missing right
  // before this one (a jitter-buffer gap or discontinuity); same as lost().
  void push(const RtpPacket& packet, bool after_loss = false);
  void lost() { assembler_.lost(); }
  // End of stream: emits the access unit in progress.
  void flush() { assembler_.flush(); }

  const NalDepacketizerStats& stats() const noexcept { return assembler_.stats(); }

 private:
  void push_stap_a(std::span<const std::uint8_t> payload);
  void push_fu_a(const RtpPacket& packet);

  NalAccessUnitAssembler assembler_;
  std::vector<std::uint8_t> parameter_sets_;
};

}  // namespace mirror::ingest
