// Program-specific information of an MPEG-TS (ISO/IEC 13818-1 §2.4.4): the
// MPEG-2 CRC-32 that guards every section, and parsers for the two tables
// Mirror needs, the program association table (PAT, PID 0) and the program map
// table (PMT). Each parser takes one complete section (from table_id through
// CRC_32) and checks its CRC, its lengths and its fixed bits.
//
// Threads: pure functions, no shared state.
#pragma once

#include "core/errors.h"

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace mirror::ingest {

inline constexpr std::uint8_t kTableIdPat = 0x00;
inline constexpr std::uint8_t kTableIdPmt = 0x02;
// section_length of a PAT or PMT is at most 1021, so a whole section fits in 1024.
inline constexpr std::size_t kMaxPsiSectionLength = 1021;
inline constexpr std::size_t kMaxPsiSectionSize = 3 + kMaxPsiSectionLength;

// CRC-32/MPEG-2: polynomial 0x04C11DB7, initial value 0xFFFFFFFF, no reflection,
// no final XOR. Over a section including its CRC_32 field the result is 0.
std::uint32_t crc32_mpeg2(std::span<const std::uint8_t> bytes,
                          std::uint32_t crc = 0xFFFFFFFFu) noexcept;

struct PatProgram {
  std::uint16_t program_number = 0;  // 0: the network information table
  std::uint16_t pid = 0;             // the PMT's PID (or the NIT's for program 0)
};

struct Pat {
  std::uint16_t transport_stream_id = 0;
  std::uint8_t version = 0;
  bool current = true;  // current_next_indicator: false means "not yet in force"
  std::uint8_t section_number = 0;
  std::uint8_t last_section_number = 0;
  std::vector<PatProgram> programs;

  // The first program that is not the NIT (program 0); nullptr when none.
  const PatProgram* first_program() const noexcept;
};

struct PmtStream {
  std::uint8_t stream_type = 0;
  std::uint16_t pid = 0;
};

struct Pmt {
  std::uint16_t program_number = 0;
  std::uint8_t version = 0;
  bool current = true;
  std::uint16_t pcr_pid = 0;       // 0x1FFF: no PCR
  std::vector<PmtStream> streams;  // in section order; ES info descriptors skipped
};

// Both return kInvalidInput with a reason for a wrong table_id, a bad length or
// a CRC mismatch.
core::Result<Pat> parse_pat(std::span<const std::uint8_t> section);
core::Result<Pmt> parse_pmt(std::span<const std::uint8_t> section);

}  // namespace mirror::ingest
