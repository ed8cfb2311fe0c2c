// Reassembles PSI sections (PAT, PMT) from the payloads of the TS packets of
// one PID (ISO/IEC 13818-1 §2.4.4.1-2): a packet with payload_unit_start
// begins with a pointer_field that says where the next section starts, the
// bytes before it finish the previous section, several sections may follow
// each other in one packet, and 0xFF stuffing ends a packet's sections.
// Checks section_length (at most 1021) and, for long-form sections, the CRC-32
// before handing a section on. Holds at most one section in a fixed buffer: no
// allocation.
//
// Threads: single-threaded; owned by the TsDemuxer on its ingest thread.
#pragma once

#include "ingest/mpegts/psi.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace mirror::ingest {

class SectionSink {
 public:
  // A complete section, table_id through CRC_32 (CRC already checked when
  // section_syntax_indicator is 1). Valid only during the call.
  virtual void on_section(std::uint16_t pid, std::span<const std::uint8_t> section) = 0;
  // A malformed section: bad pointer_field, length or CRC, or cut short.
  virtual void on_section_error(std::uint16_t pid) = 0;

 protected:
  ~SectionSink() = default;
};

class SectionAssembler {
 public:
  explicit SectionAssembler(std::uint16_t pid = 0) : pid_(pid) {}

  // The payload of one TS packet of this PID, in order.
  void push(std::span<const std::uint8_t> payload, bool unit_start, SectionSink& sink);
  // Drops a partly assembled section (continuity gap, PID change).
  void reset() noexcept {
    active_ = false;
    length_ = 0;
  }
  void set_pid(std::uint16_t pid) noexcept {
    pid_ = pid;
    reset();
  }
  std::uint16_t pid() const noexcept { return pid_; }

 private:
  enum class Progress : std::uint8_t { kNeedMore, kComplete, kError };

  // Appends bytes of the current section; `consumed` says how many were used.
  Progress append(std::span<const std::uint8_t> bytes, std::size_t& consumed);
  void finish(SectionSink& sink);

  std::uint16_t pid_;
  bool active_ = false;
  std::size_t length_ = 0;  // bytes collected of the current section
  std::array<std::uint8_t, kMaxPsiSectionSize> buffer_{};
};

}  // namespace mirror::ingest
