#include "ingest/mpegts/psi.h"

#include <array>
#include <string>

namespace mirror::ingest {
namespace {

constexpr std::array<std::uint32_t, 256> make_crc_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i << 24;
    for (int bit = 0; bit < 8; ++bit) {
      c = (c & 0x80000000u) ? (c << 1) ^ 0x04C11DB7u : (c << 1);
    }
    table[i] = c;
  }
  return table;
}

constexpr std::array<std::uint32_t, 256> kCrcTable = make_crc_table();

core::Error invalid(std::string message) {
  return core::Error(core::ErrorCode::kInvalidInput, std::move(message));
}

std::uint16_t read_pid(const std::uint8_t* p) {
  return static_cast<std::uint16_t>(((p[0] & 0x1F) << 8) | p[1]);
}

std::uint16_t read_length12(const std::uint8_t* p) {
  return static_cast<std::uint16_t>(((p[0] & 0x0F) << 8) | p[1]);
}

// The checks every long-form PAT/PMT section shares. On success `body` is the
// part between the 8-byte long header and the CRC.
struct LongSection {
  std::span<const std::uint8_t> whole;  // table_id .. CRC_32
  std::span<const std::uint8_t> body;
  std::uint16_t table_id_extension = 0;
  std::uint8_t version = 0;
  bool current = true;
  std::uint8_t section_number = 0;
  std::uint8_t last_section_number = 0;
};

core::Result<LongSection> parse_long_section(std::span<const std::uint8_t> section,
                                             std::uint8_t table_id, std::size_t min_length) {
  if (section.size() < 3) return invalid("section shorter than its 3-byte header");
  if (section[0] != table_id) return invalid("unexpected table_id");
  if ((section[1] & 0x80) == 0) return invalid("section_syntax_indicator is 0");
  if ((section[1] & 0x40) != 0) return invalid("the bit after section_syntax_indicator is 1");
  const std::size_t length = read_length12(&section[1]);
  if (length > kMaxPsiSectionLength) return invalid("section_length above 1021");
  if (length < min_length) return invalid("section_length too small for the table");
  if (section.size() < 3 + length) return invalid("section shorter than its section_length");
  LongSection s;
  s.whole = section.first(3 + length);
  if (crc32_mpeg2(s.whole) != 0) return invalid("CRC_32 mismatch");
  s.table_id_extension = static_cast<std::uint16_t>((section[3] << 8) | section[4]);
  s.version = (section[5] >> 1) & 0x1F;
  s.current = (section[5] & 0x01) != 0;
  s.section_number = section[6];
  s.last_section_number = section[7];
  if (s.section_number > s.last_section_number) {
    return invalid("section_number above last_section_number");
  }
  s.body = s.whole.subspan(8, s.whole.size() - 8 - 4);
  return s;
}

}  // namespace

std::uint32_t crc32_mpeg2(std::span<const std::uint8_t> bytes, std::uint32_t crc) noexcept {
  for (std::uint8_t b : bytes) {
    crc = (crc << 8) ^ kCrcTable[((crc >> 24) ^ b) & 0xFF];
  }
  return crc;
}

const PatProgram* Pat::first_program() const noexcept {
  for (const PatProgram& p : programs) {
    if (p.program_number != 0) return &p;
  }
  return nullptr;
}

core::Result<Pat> parse_pat(std::span<const std::uint8_t> section) {
  // 5 bytes of long header after section_length, then the CRC.
  auto s = parse_long_section(section, kTableIdPat, 5 + 4);
  if (!s) return s.error();
  if (s->body.size() % 4 != 0) return invalid("PAT program loop is not a multiple of 4 bytes");
  Pat pat;
  pat.transport_stream_id = s->table_id_extension;
  pat.version = s->version;
  pat.current = s->current;
  pat.section_number = s->section_number;
  pat.last_section_number = s->last_section_number;
  pat.programs.reserve(s->body.size() / 4);
  for (std::size_t i = 0; i + 4 <= s->body.size(); i += 4) {
    const std::uint8_t* p = &s->body[i];
    pat.programs.push_back({static_cast<std::uint16_t>((p[0] << 8) | p[1]), read_pid(p + 2)});
  }
  return pat;
}

core::Result<Pmt> parse_pmt(std::span<const std::uint8_t> section) {
  // Long header, PCR_PID and program_info_length, CRC.
  auto s = parse_long_section(section, kTableIdPmt, 5 + 4 + 4);
  if (!s) return s.error();
  if (s->section_number != 0 || s->last_section_number != 0) {
    return invalid("PMT section_number must be 0");
  }
  const std::span<const std::uint8_t> body = s->body;
  Pmt pmt;
  pmt.program_number = s->table_id_extension;
  pmt.version = s->version;
  pmt.current = s->current;
  pmt.pcr_pid = read_pid(&body[0]);
  const std::size_t info_length = read_length12(&body[2]);
  std::size_t offset = 4 + info_length;
  if (offset > body.size()) return invalid("program_info_length runs past the section");
  while (offset < body.size()) {
    if (body.size() - offset < 5) return invalid("truncated elementary stream entry");
    const std::uint8_t* p = &body[offset];
    const std::size_t es_info_length = read_length12(p + 3);
    if (body.size() - offset - 5 < es_info_length) {
      return invalid("ES_info_length runs past the section");
    }
    pmt.streams.push_back({p[0], read_pid(p + 1)});
    offset += 5 + es_info_length;
  }
  return pmt;
}

}  // namespace mirror::ingest
