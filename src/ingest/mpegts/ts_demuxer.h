// TsDemuxer: turns an MPEG transport stream (as SRT delivers it: any chunking,
// possibly with garbage or lost bytes) into PES packets of the first program's
// H.264, HEVC and AAC (ADTS) streams, plus the program's PCR. It finds and
// keeps packet sync, follows the PAT and PMT (sections across packets, CRC
// checked, version changes), checks continuity counters, and reassembles PES
// packets into pooled buffers. It does not judge timestamps: PTS/DTS pass
// through raw, jumps and all.
//
// Every malformed input is counted in TsDemuxerStats and skipped; nothing
// throws and nothing is read past the bytes given. In steady state the only
// allocation is one pooled buffer per PES.
//
// Threads: single-threaded. A TsDemuxer is owned by one ingest thread; push(),
// flush() and stats() are called from it, and the callbacks run on it, inside
// push() or flush(). Callbacks must not call back into the demuxer.
#pragma once

#include "core/buffer_pool.h"
#include "ingest/mpegts/pes_assembler.h"
#include "ingest/mpegts/pes_packet.h"
#include "ingest/mpegts/psi.h"
#include "ingest/mpegts/section_assembler.h"
#include "ingest/mpegts/ts_packet.h"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace mirror::ingest {

struct ProgramStream {
  std::uint16_t pid = 0;
  std::uint8_t stream_type = 0;

  friend bool operator==(const ProgramStream&, const ProgramStream&) = default;
};

struct ProgramInfo {
  std::uint16_t program_number = 0;
  std::uint16_t pmt_pid = 0;
  std::uint16_t pcr_pid = kNullPid;  // kNullPid: the program has no PCR
  std::uint8_t version = 0;          // of the PMT that produced this
  // The streams this demuxer delivers (H.264, HEVC, AAC), in PMT order. Other
  // stream types are reported through on_unsupported_stream instead.
  std::vector<ProgramStream> streams;
};

struct TsDemuxerStats {
  std::uint64_t packets = 0;            // 188-byte packets taken in sync
  std::uint64_t bytes = 0;              // bytes given to push()
  std::uint64_t bytes_skipped = 0;      // garbage while out of sync, partial packets at flush()
  std::uint64_t resyncs = 0;            // sync regained after it was lost
  std::uint64_t continuity_errors = 0;  // continuity_counter gaps on PIDs in use
  std::uint64_t transport_errors = 0;   // transport_error_indicator set
  std::uint64_t scrambled = 0;          // transport_scrambling_control != 0
  std::uint64_t malformed_packets = 0;  // reserved adaptation_field_control, bad adaptation length
  std::uint64_t psi_errors = 0;         // bad section: pointer, length, CRC, table syntax
  std::uint64_t pes_errors = 0;         // bad PES header: start code, flags, lengths
  std::uint64_t pes_truncated = 0;      // PES ended before PES_packet_length bytes arrived
  std::uint64_t pes_oversized = 0;      // unbounded PES past 16 MiB
  std::uint64_t timestamp_marker_errors = 0;  // PES with wrong PTS/DTS marker bits (delivered)
  std::uint64_t pes_delivered = 0;
};

struct TsDemuxerCallbacks {
  // A complete PES of a delivered stream. Copy the payload slice to keep it.
  std::function<void(const PesPacket&)> on_pes;
  // The first program's set of delivered streams (or its PCR PID) changed.
  // PES of streams that left were flushed before this call.
  std::function<void(const ProgramInfo&)> on_program;
  // A stream type Mirror does not ingest; once per (pid, stream_type).
  std::function<void(std::uint16_t pid, std::uint8_t stream_type)> on_unsupported_stream;
  // A PCR on the program's PCR PID: 42 bits, base * 300 + extension (27 MHz).
  std::function<void(std::uint16_t pid, std::int64_t pcr_27mhz,
                     std::chrono::system_clock::time_point arrival)>
      on_pcr;
};

class TsDemuxer : private SectionSink, private PesSink {
 public:
  explicit TsDemuxer(TsDemuxerCallbacks callbacks,
                     core::BufferPool& pool = core::BufferPool::global());
  TsDemuxer(const TsDemuxer&) = delete;
  TsDemuxer& operator=(const TsDemuxer&) = delete;
  ~TsDemuxer();

  // Bytes of the stream in order, chunked any way. `arrival` is when they were
  // received; a PES carries the arrival of the chunk that held its first byte
  // (while sync is being searched, of the oldest chunk held back).
  void push(std::span<const std::uint8_t> bytes, std::chrono::system_clock::time_point arrival);

  // Whether a padded packet ends an unbounded PES at once (on by default; see
  // AdaptationField::stuffing). Off, such a PES ends at the next start only.
  void set_padding_ends_pes(bool on) { padding_ends_pes_ = on; }

  // End of stream: delivers pending unbounded PES packets, counts short
  // bounded ones as truncated and a trailing partial packet as skipped. The
  // program stays known; the next push() starts a fresh sync search and
  // continuity check (a new connection of the same source).
  void flush();

  const TsDemuxerStats& stats() const noexcept { return stats_; }
  // Streams of the program as last reported through on_program (empty before).
  const ProgramInfo& program() const noexcept { return program_; }
  // Bytes held back waiting for the rest of a packet or for sync confirmation.
  std::size_t buffered_bytes() const noexcept { return stash_length_; }

 private:
  struct ElementaryStream {
    PesAssembler pes;
    ContinuityCounter continuity;
  };

  // Sync.
  std::span<const std::uint8_t> search_sync(std::span<const std::uint8_t> bytes,
                                            std::chrono::system_clock::time_point arrival);
  void process_stash(std::chrono::system_clock::time_point arrival);
  void drain_stash_at_end();
  void lose_sync() noexcept;

  // Packets.
  void handle_packet(std::span<const std::uint8_t, kTsPacketSize> bytes,
                     std::chrono::system_clock::time_point arrival);
  ElementaryStream* stream_for(std::uint16_t pid) noexcept;

  // Tables.
  void on_section(std::uint16_t pid, std::span<const std::uint8_t> section) override;
  void on_section_error(std::uint16_t pid) override;
  void handle_pat(std::span<const std::uint8_t> section);
  void handle_pmt(std::span<const std::uint8_t> section);
  void apply_pmt(const Pmt& pmt);
  void report_unsupported(std::uint16_t pid, std::uint8_t stream_type);

  // PES.
  void on_pes_complete(PesPacket& packet) override;
  void on_pes_error(std::uint16_t pid, PesError error) override;

  static constexpr std::uint16_t kNoPid = 0xFFFF;
  // Sync is confirmed by three sync bytes 188 bytes apart, so up to three
  // packets wait here while it is searched.
  static constexpr std::size_t kStashSize = 3 * kTsPacketSize;

  TsDemuxerCallbacks callbacks_;
  core::BufferPool* pool_;
  TsDemuxerStats stats_;

  bool locked_ = false;
  bool sync_lost_ = false;  // locked once and lost since: the next lock is a resync
  std::size_t stash_length_ = 0;
  std::chrono::system_clock::time_point stash_arrival_{};
  std::array<std::uint8_t, kStashSize> stash_{};

  SectionAssembler pat_sections_{kPatPid};
  ContinuityCounter pat_continuity_;
  SectionAssembler pmt_sections_{kNoPid};
  ContinuityCounter pmt_continuity_;
  std::uint16_t pmt_pid_ = kNoPid;
  std::uint16_t program_number_ = 0;
  std::uint16_t pcr_pid_ = kNoPid;
  // The last section applied, to skip the identical repetitions quickly.
  std::vector<std::uint8_t> last_pat_;
  std::vector<std::uint8_t> last_pmt_;

  std::vector<ElementaryStream> streams_;
  std::array<std::uint16_t, kMaxPid + 1> stream_index_{};  // PID -> index + 1, 0: none
  ProgramInfo program_;
  bool program_reported_ = false;
  std::vector<std::uint32_t> unsupported_reported_;  // sorted (pid << 8 | type)
  bool padding_ends_pes_ = true;
};

}  // namespace mirror::ingest
