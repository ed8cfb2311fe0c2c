// Reassembles the PES packets of one elementary-stream PID from the payloads of
// its TS packets. A packet with payload_unit_start begins a PES (and ends the
// previous one); a PES with a PES_packet_length is complete, and delivered at
// once, when that many bytes have arrived; an unbounded one (length 0, usual
// for video) ends at the next start or at flush(). Payloads go straight into
// one pooled buffer sized for the PES: a bounded PES gets its exact size, an
// unbounded one a size learnt from the previous PES of the PID, grown (new
// buffer, one copy) only when it is exceeded, up to kMaxPayloadSize.
//
// Threads: single-threaded; owned by the TsDemuxer on its ingest thread.
#pragma once

#include "core/buffer_pool.h"
#include "ingest/mpegts/pes_header.h"
#include "ingest/mpegts/pes_packet.h"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace mirror::ingest {

enum class PesError : std::uint8_t {
  kBadHeader,        // start code, header flags or lengths wrong: the PES is dropped
  kTruncated,        // ended (next start, flush) before PES_packet_length bytes arrived
  kOversized,        // an unbounded PES passed kMaxPayloadSize (or memory ran out)
  kTimestampMarker,  // wrong PTS/DTS marker bits: counted, the PES is still delivered
};

class PesSink {
 public:
  // A complete PES. The sink may move the payload out.
  virtual void on_pes_complete(PesPacket& packet) = 0;
  virtual void on_pes_error(std::uint16_t pid, PesError error) = 0;

 protected:
  ~PesSink() = default;
};

class PesAssembler {
 public:
  static constexpr std::size_t kMaxPayloadSize = std::size_t{16} << 20;

  PesAssembler(std::uint16_t pid, std::uint8_t stream_type,
               core::BufferPool& pool = core::BufferPool::global());

  std::uint16_t pid() const noexcept { return pid_; }
  std::uint8_t stream_type() const noexcept { return stream_type_; }
  bool assembling() const noexcept { return state_ != State::kWaitStart; }

  // Flags from a TS packet's adaptation field; they go to the next PES to start
  // (the one starting in this very packet, if any). Call before push().
  void mark_random_access() noexcept { pending_random_access_ = true; }
  void mark_discontinuity() noexcept { pending_discontinuity_ = true; }

  // The payload of one TS packet of this PID, in order.
  void push(std::span<const std::uint8_t> payload, bool unit_start,
            std::chrono::system_clock::time_point arrival, PesSink& sink);
  // The PES being assembled is broken (continuity gap): drop it silently (the
  // caller counts the gap) and wait for the next start.
  void drop() noexcept;
  // End of stream or of the PID: delivers an unbounded PES, counts a bounded
  // one that is still short as truncated.
  void flush(PesSink& sink);
  // The last packet pushed was padded, so it ended its PES: an unbounded PES
  // is delivered now instead of when the next one starts.
  // A PID whose muxer turns out to pad inside a PES stops being trusted.
  void end_of_unit(PesSink& sink);

 private:
  enum class State : std::uint8_t { kWaitStart, kHeader, kPayload };

  void finish_current(PesSink& sink);
  void start(std::chrono::system_clock::time_point arrival) noexcept;
  std::span<const std::uint8_t> take_header(std::span<const std::uint8_t> payload, PesSink& sink);
  bool begin_payload(PesSink& sink);
  void take_payload(std::span<const std::uint8_t> payload, PesSink& sink);
  bool ensure_capacity(std::size_t needed) noexcept;
  void deliver(PesSink& sink);
  void abandon(PesSink& sink, PesError error);

  std::uint16_t pid_;
  std::uint8_t stream_type_;
  core::BufferPool* pool_;
  State state_ = State::kWaitStart;
  bool pending_random_access_ = false;
  bool pending_discontinuity_ = false;

  // The PES being assembled.
  bool random_access_ = false;
  bool discontinuity_ = false;
  std::chrono::system_clock::time_point arrival_{};
  PesHeader header_;
  std::optional<std::size_t> expected_;  // payload bytes when bounded
  core::Buffer buffer_;
  std::size_t fill_ = 0;
  bool padding_ends_units_ = true;
  bool ended_by_padding_ = false;
  std::size_t size_hint_;  // first buffer size for an unbounded PES
  std::size_t header_length_ = 0;
  std::array<std::uint8_t, kPesMaxHeaderSize> header_bytes_{};
};

}  // namespace mirror::ingest
