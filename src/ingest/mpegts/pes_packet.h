// PesPacket: one reassembled PES packet of an elementary stream, as the
// TsDemuxer hands it to its owner (the per-track H.264 / HEVC / AAC frame
// assemblers). The payload is a slice of a pooled buffer: keep a copy of the
// slice (a reference count) to keep the bytes.
#pragma once

#include "core/buffer_pool.h"

#include <chrono>
#include <cstdint>
#include <optional>

namespace mirror::ingest {

struct PesPacket {
  std::uint16_t pid = 0;
  std::uint8_t stream_type = 0;
  // Raw 33-bit values from the PES header, NOT unwrapped: the demuxer does not
  // judge timestamps; jumps and wraps are the owner's business.
  std::optional<std::int64_t> pts;
  std::optional<std::int64_t> dts;
  // random_access_indicator of the TS packet that started this PES (or of a
  // packet of the PID since the previous PES started).
  bool random_access = false;
  // discontinuity_indicator seen on the PID since the previous PES started.
  bool discontinuity = false;
  // When the TS packet that started this PES arrived.
  std::chrono::system_clock::time_point arrival{};
  // The PES payload after the header (Annex B video, ADTS audio).
  core::BufferSlice payload;
};

}  // namespace mirror::ingest
