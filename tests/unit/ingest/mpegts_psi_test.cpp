// PSI: CRC-32/MPEG-2, PAT and PMT parsing, and section reassembly from TS
// payloads (pointer_field, sections across packets, several per packet).
#include "ingest/mpegts/psi.h"
#include "ingest/mpegts/section_assembler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <tuple>
#include <vector>

namespace mirror::ingest {
namespace {

using Bytes = std::vector<std::uint8_t>;

void finish_section(Bytes& s) {
  const std::size_t length = s.size() - 3 + 4;
  s[1] = static_cast<std::uint8_t>((s[1] & 0xF0) | (length >> 8));
  s[2] = static_cast<std::uint8_t>(length);
  const std::uint32_t crc = crc32_mpeg2(s);
  for (int shift = 24; shift >= 0; shift -= 8) s.push_back(static_cast<std::uint8_t>(crc >> shift));
}

Bytes pat(std::vector<std::pair<std::uint16_t, std::uint16_t>> programs, std::uint8_t version = 3,
          bool current = true) {
  Bytes s = {0x00, 0xB0, 0,
             0x12, 0x34, static_cast<std::uint8_t>(0xC0 | (version << 1) | (current ? 1 : 0)),
             0,    0};
  for (auto [n, pid] : programs) {
    s.insert(s.end(),
             {static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n),
              static_cast<std::uint8_t>(0xE0 | (pid >> 8)), static_cast<std::uint8_t>(pid)});
  }
  finish_section(s);
  return s;
}

Bytes pmt(std::uint16_t program, std::uint16_t pcr_pid, const Bytes& program_info,
          const std::vector<std::tuple<std::uint8_t, std::uint16_t, Bytes>>& streams) {
  Bytes s = {0x02,
             0xB0,
             0,
             static_cast<std::uint8_t>(program >> 8),
             static_cast<std::uint8_t>(program),
             0xC3,
             0,
             0,
             static_cast<std::uint8_t>(0xE0 | (pcr_pid >> 8)),
             static_cast<std::uint8_t>(pcr_pid),
             static_cast<std::uint8_t>(0xF0 | (program_info.size() >> 8)),
             static_cast<std::uint8_t>(program_info.size())};
  s.insert(s.end(), program_info.begin(), program_info.end());
  for (const auto& [type, pid, info] : streams) {
    s.insert(s.end(),
             {type, static_cast<std::uint8_t>(0xE0 | (pid >> 8)), static_cast<std::uint8_t>(pid),
              static_cast<std::uint8_t>(0xF0 | (info.size() >> 8)),
              static_cast<std::uint8_t>(info.size())});
    s.insert(s.end(), info.begin(), info.end());
  }
  finish_section(s);
  return s;
}

TEST(Crc32Mpeg2Test, MatchesTheCheckValue) {
  constexpr std::string_view kCheck = "123456789";
  const Bytes b(kCheck.begin(), kCheck.end());
  EXPECT_EQ(crc32_mpeg2(b), 0x0376E6E7u);
  EXPECT_EQ(crc32_mpeg2({}), 0xFFFFFFFFu);
}

TEST(Crc32Mpeg2Test, IsZeroOverASectionWithItsCrc) {
  EXPECT_EQ(crc32_mpeg2(pat({{1, 0x1000}})), 0u);
}

TEST(PatTest, ParsesProgramsAndSkipsTheNit) {
  const auto r = parse_pat(pat({{0, 0x10}, {5, 0x1000}, {6, 0x1001}}, 7));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value().transport_stream_id, 0x1234);
  EXPECT_EQ(r.value().version, 7);
  EXPECT_TRUE(r.value().current);
  ASSERT_EQ(r.value().programs.size(), 3u);
  const PatProgram* first = r.value().first_program();
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->program_number, 5);
  EXPECT_EQ(first->pid, 0x1000);
}

TEST(PatTest, NoProgramButTheNit) {
  const auto r = parse_pat(pat({{0, 0x10}}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().first_program(), nullptr);
}

TEST(PatTest, RejectsBadSections) {
  Bytes s = pat({{1, 0x1000}});
  s[9] ^= 0x01;
  EXPECT_FALSE(parse_pat(s).ok());  // CRC

  s = pat({{1, 0x1000}});
  EXPECT_FALSE(parse_pat(std::span(s).first(s.size() - 1)).ok());  // shorter than section_length
  s[0] = 0x02;
  EXPECT_FALSE(parse_pat(s).ok());  // table_id

  s = {0x00, 0xB0, 0, 0, 1, 0xC1, 0, 0, 0, 1, 0xE1};  // program loop not a multiple of 4
  finish_section(s);
  EXPECT_FALSE(parse_pat(s).ok());

  s = {0x00, 0x30, 0, 0, 1, 0xC1, 0, 0};  // section_syntax_indicator 0
  finish_section(s);
  EXPECT_FALSE(parse_pat(s).ok());

  EXPECT_FALSE(parse_pat(Bytes{0x00, 0xB0}).ok());
}

TEST(PmtTest, ParsesStreamsAndSkipsDescriptors) {
  const Bytes s = pmt(1, 0x100, Bytes{0x05, 0x04, 'H', 'D', 'M', 'V'},
                      {{0x1B, 0x100, Bytes{0x28, 0x04, 1, 2, 3, 4}},
                       {0x0F, 0x101, Bytes{0x0A, 0x04, 'e', 'n', 'g', 0}},
                       {0x86, 0x1F0, Bytes{}}});
  const auto r = parse_pmt(s);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value().program_number, 1);
  EXPECT_EQ(r.value().version, 1);
  EXPECT_EQ(r.value().pcr_pid, 0x100);
  ASSERT_EQ(r.value().streams.size(), 3u);
  EXPECT_EQ(r.value().streams[0].stream_type, 0x1B);
  EXPECT_EQ(r.value().streams[1].pid, 0x101);
  EXPECT_EQ(r.value().streams[2].stream_type, 0x86);
  EXPECT_EQ(r.value().streams[2].pid, 0x1F0);
}

TEST(PmtTest, RejectsLengthsThatRunPastTheSection) {
  Bytes s = pmt(1, 0x100, {}, {{0x1B, 0x100, Bytes{1, 2, 3}}});
  // ES_info_length says 4 where 3 bytes follow; CRC recomputed so only the length is wrong.
  s.resize(s.size() - 4);
  s[16] = 4;
  finish_section(s);
  EXPECT_FALSE(parse_pmt(s).ok());

  s = pmt(1, 0x100, {}, {});
  s.resize(s.size() - 4);
  s[11] = 10;  // program_info_length past the end
  finish_section(s);
  EXPECT_FALSE(parse_pmt(s).ok());

  s = pmt(1, 0x100, {}, {});
  s.resize(s.size() - 4);
  s.insert(s.end(), {0x1B, 0xE1});  // half an ES entry
  finish_section(s);
  EXPECT_FALSE(parse_pmt(s).ok());
}

// ---------------------------------------------------------------------------

struct Sections : SectionSink {
  std::vector<Bytes> got;
  int errors = 0;
  void on_section(std::uint16_t, std::span<const std::uint8_t> s) override {
    got.emplace_back(s.begin(), s.end());
  }
  void on_section_error(std::uint16_t) override { ++errors; }
};

Bytes payload(std::uint8_t pointer, std::initializer_list<Bytes> parts, std::size_t size = 184) {
  Bytes p = {pointer};
  for (const Bytes& part : parts) p.insert(p.end(), part.begin(), part.end());
  p.resize(std::max(size, p.size()), 0xFF);
  return p;
}

TEST(SectionAssemblerTest, SectionInOnePacket) {
  Sections sink;
  SectionAssembler a(0);
  const Bytes s = pat({{1, 0x1000}});
  a.push(payload(0, {s}), true, sink);
  ASSERT_EQ(sink.got.size(), 1u);
  EXPECT_EQ(sink.got[0], s);
  EXPECT_EQ(sink.errors, 0);
}

TEST(SectionAssemblerTest, SeveralSectionsInOnePacket) {
  Sections sink;
  SectionAssembler a(0);
  const Bytes s1 = pat({{1, 0x1000}}, 1), s2 = pat({{2, 0x1001}}, 2);
  a.push(payload(0, {s1, s2}), true, sink);
  ASSERT_EQ(sink.got.size(), 2u);
  EXPECT_EQ(sink.got[1], s2);
}

TEST(SectionAssemblerTest, SectionAcrossPacketsAndPointerField) {
  Sections sink;
  SectionAssembler a(0x1000);
  std::vector<std::tuple<std::uint8_t, std::uint16_t, Bytes>> streams;
  for (std::uint16_t i = 0; i < 40; ++i) streams.emplace_back(0x1B, 0x100 + i, Bytes(4, 0x11));
  const Bytes big = pmt(1, 0x100, {}, streams);  // 376 bytes
  ASSERT_GT(big.size(), 367u);
  const Bytes next = pmt(1, 0x100, {}, {{0x0F, 0x101, Bytes{}}});
  const std::span<const std::uint8_t> b(big);
  a.push(payload(0, {Bytes(b.begin(), b.begin() + 183)}), true, sink);
  a.push(Bytes(b.begin() + 183, b.begin() + 183 + 184), false, sink);
  EXPECT_TRUE(sink.got.empty());
  // The tail finishes the first section before the pointer; a new one follows.
  const Bytes tail(b.begin() + 367, b.end());
  a.push(payload(static_cast<std::uint8_t>(tail.size()), {tail, next}), true, sink);
  ASSERT_EQ(sink.got.size(), 2u);
  EXPECT_EQ(sink.got[0], big);
  EXPECT_EQ(sink.got[1], next);
  EXPECT_EQ(sink.errors, 0);
}

TEST(SectionAssemblerTest, ContinuationWithoutStartIsIgnored) {
  Sections sink;
  SectionAssembler a(0);
  a.push(Bytes(184, 0x42), false, sink);
  EXPECT_TRUE(sink.got.empty());
  EXPECT_EQ(sink.errors, 0);
}

TEST(SectionAssemblerTest, CutShortSectionIsAnError) {
  Sections sink;
  SectionAssembler a(0x1000);
  std::vector<std::tuple<std::uint8_t, std::uint16_t, Bytes>> streams;
  for (std::uint16_t i = 0; i < 40; ++i) streams.emplace_back(0x1B, 0x100 + i, Bytes{});
  const Bytes big = pmt(1, 0x100, {}, streams);
  a.push(payload(0, {Bytes(big.begin(), big.begin() + 183)}), true, sink);
  a.push(payload(0, {pat({{1, 0x1000}})}), true, sink);  // a new start, pointer 0
  EXPECT_EQ(sink.errors, 1);
  EXPECT_EQ(sink.got.size(), 1u);
}

TEST(SectionAssemblerTest, RejectsBadPointerLengthAndCrc) {
  Sections sink;
  SectionAssembler a(0);
  a.push(payload(200, {}), true, sink);  // pointer past the payload
  EXPECT_EQ(sink.errors, 1);
  a.push(Bytes{}, true, sink);  // no pointer at all
  EXPECT_EQ(sink.errors, 2);
  a.push(payload(0, {Bytes{0x02, 0xBF, 0xFF}}), true, sink);  // section_length 4095
  EXPECT_EQ(sink.errors, 3);
  Bytes bad = pat({{1, 0x1000}});
  bad[8] ^= 0x10;
  a.push(payload(0, {bad}), true, sink);
  EXPECT_EQ(sink.errors, 4);
  EXPECT_TRUE(sink.got.empty());
  // Still works afterwards.
  a.push(payload(0, {pat({{1, 0x1000}})}), true, sink);
  EXPECT_EQ(sink.got.size(), 1u);
}

TEST(SectionAssemblerTest, ResetDropsThePartialSection) {
  Sections sink;
  SectionAssembler a(0);
  const Bytes s = pat({{1, 0x1000}});
  a.push(payload(0, {Bytes(s.begin(), s.begin() + 5)}, 6), true, sink);
  a.reset();  // a continuity gap
  a.push(Bytes(s.begin() + 5, s.end()), false, sink);
  EXPECT_TRUE(sink.got.empty());
}

}  // namespace
}  // namespace mirror::ingest
