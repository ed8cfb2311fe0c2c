// AAC over RTP as RFC 3640 mpeg4-generic, modes AAC-hbr and AAC-lbr: a 16-bit
// AU-headers-length (in bits), AU headers of AU-size + AU-Index(-delta) bits,
// then the access units back to back. Several AUs per packet are split; an AU
// larger than its packet is reassembled from consecutive packets with the same
// timestamp (the last has the marker bit). Emits raw AAC frames (no ADTS),
// each with its RTP timestamp: the packet's for the first AU, then
// samples_per_frame × (index delta + 1) more for each following one.
//
// Threads: single-threaded object, one per RTP source.
#pragma once

#include "core/buffer_pool.h"
#include "ingest/rtp/rtp_packet.h"
#include "ingest/rtp/sdp_codec_params.h"

#include <cstdint>
#include <functional>
#include <span>

namespace mirror::ingest {

// A raw AAC frame, valid only during the call, and its RTP timestamp.
using AacFrameCallback =
    std::function<void(std::span<const std::uint8_t> raw_aac, std::uint32_t rtp_timestamp)>;

struct AacDepacketizerStats {
  std::uint64_t packets = 0;
  std::uint64_t frames = 0;
  std::uint64_t reassembled_frames = 0;  // of `frames`, built from several packets
  std::uint64_t empty_packets = 0;
  std::uint64_t malformed_packets = 0;  // AU headers or sizes past the end, bad counts
  std::uint64_t fragments_dropped = 0;  // partial AUs abandoned (loss, gap, bad size)
  std::uint64_t losses = 0;
};

class RtpAacDepacketizer {
 public:
  RtpAacDepacketizer(AacRtpParameters parameters, AacFrameCallback on_frame);

  const AacRtpParameters& parameters() const noexcept { return parameters_; }
  // The AudioSpecificConfig from the SDP's `config`.
  std::span<const std::uint8_t> audio_specific_config() const noexcept {
    return parameters_.audio_specific_config;
  }

  void push(const RtpPacket& packet, bool after_loss = false);
  // Packets were lost: a partial AU is abandoned.
  void lost();

  const AacDepacketizerStats& stats() const noexcept { return stats_; }

 private:
  void push_fragment(const RtpPacket& packet, std::size_t au_size,
                     std::span<const std::uint8_t> data);
  void drop_fragment();
  void emit(std::span<const std::uint8_t> frame, std::uint32_t timestamp);

  AacRtpParameters parameters_;
  AacFrameCallback on_frame_;
  core::Buffer fragment_;  // reused; AU-size is at most 16 bits
  std::size_t fragment_size_ = 0;
  std::size_t fragment_filled_ = 0;
  std::uint32_t fragment_timestamp_ = 0;
  std::uint16_t fragment_sequence_ = 0;
  bool fragment_active_ = false;
  AacDepacketizerStats stats_;
};

}  // namespace mirror::ingest
