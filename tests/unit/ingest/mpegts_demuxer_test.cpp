// TsDemuxer against transport streams built by hand, packet by packet: PSI,
// PES reassembly, continuity, sync, flags and every counted error.
#include "ingest/mpegts/psi.h"
#include "ingest/mpegts/stream_type.h"
#include "ingest/mpegts/ts_demuxer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <utility>
#include <vector>

namespace mirror::ingest {
namespace {

using Clock = std::chrono::system_clock;
using Bytes = std::vector<std::uint8_t>;

constexpr std::uint16_t kPmtPid = 0x1000;
constexpr std::uint16_t kVideoPid = 0x100;
constexpr std::uint16_t kAudioPid = 0x101;
constexpr std::uint8_t kVideoStreamId = 0xE0;
constexpr std::uint8_t kAudioStreamId = 0xC0;
const Clock::time_point kT0 = Clock::time_point{} + std::chrono::hours(1);

// ---------------------------------------------------------------------------
// A small transport-stream writer.

void append_crc(Bytes& s) {
  const std::uint32_t crc = crc32_mpeg2(s);
  for (int shift = 24; shift >= 0; shift -= 8) s.push_back(static_cast<std::uint8_t>(crc >> shift));
}

void set_section_length(Bytes& s) {
  const std::size_t length = s.size() - 3 + 4;  // + CRC
  s[1] = static_cast<std::uint8_t>(0xB0 | (length >> 8));
  s[2] = static_cast<std::uint8_t>(length & 0xFF);
}

Bytes pat_section(const std::vector<std::pair<std::uint16_t, std::uint16_t>>& programs,
                  std::uint8_t version = 0) {
  Bytes s = {kTableIdPat, 0, 0, 0x00, 0x01, static_cast<std::uint8_t>(0xC1 | (version << 1)), 0, 0};
  for (auto [number, pid] : programs) {
    s.insert(s.end(),
             {static_cast<std::uint8_t>(number >> 8), static_cast<std::uint8_t>(number),
              static_cast<std::uint8_t>(0xE0 | (pid >> 8)), static_cast<std::uint8_t>(pid)});
  }
  set_section_length(s);
  append_crc(s);
  return s;
}

struct EsEntry {
  std::uint8_t type;
  std::uint16_t pid;
  Bytes descriptors = {};
};

Bytes pmt_section(std::uint16_t pcr_pid, const std::vector<EsEntry>& streams,
                  std::uint8_t version = 0, std::uint16_t program = 1) {
  Bytes s = {kTableIdPmt,
             0,
             0,
             static_cast<std::uint8_t>(program >> 8),
             static_cast<std::uint8_t>(program),
             static_cast<std::uint8_t>(0xC1 | (version << 1)),
             0,
             0,
             static_cast<std::uint8_t>(0xE0 | (pcr_pid >> 8)),
             static_cast<std::uint8_t>(pcr_pid),
             0xF0,
             0x00};
  for (const EsEntry& e : streams) {
    s.insert(s.end(), {e.type, static_cast<std::uint8_t>(0xE0 | (e.pid >> 8)),
                       static_cast<std::uint8_t>(e.pid),
                       static_cast<std::uint8_t>(0xF0 | (e.descriptors.size() >> 8)),
                       static_cast<std::uint8_t>(e.descriptors.size())});
    s.insert(s.end(), e.descriptors.begin(), e.descriptors.end());
  }
  set_section_length(s);
  append_crc(s);
  return s;
}

void put_timestamp(Bytes& b, std::uint8_t prefix, std::int64_t v) {
  b.push_back(static_cast<std::uint8_t>((prefix << 4) | (((v >> 30) & 0x07) << 1) | 1));
  b.push_back(static_cast<std::uint8_t>(v >> 22));
  b.push_back(static_cast<std::uint8_t>((((v >> 15) & 0x7F) << 1) | 1));
  b.push_back(static_cast<std::uint8_t>(v >> 7));
  b.push_back(static_cast<std::uint8_t>(((v & 0x7F) << 1) | 1));
}

// A whole PES packet; `bounded` sets PES_packet_length, else it is 0.
Bytes pes_bytes(std::uint8_t stream_id, const Bytes& payload, std::optional<std::int64_t> pts,
                std::optional<std::int64_t> dts = std::nullopt, bool bounded = false,
                std::optional<std::size_t> length_override = std::nullopt) {
  const std::size_t header_data = (pts ? 5 : 0) + (dts ? 5 : 0);
  std::size_t length = bounded ? 3 + header_data + payload.size() : 0;
  if (length_override) length = *length_override;
  const std::uint8_t flags = static_cast<std::uint8_t>((pts ? 0x80 : 0) | (dts ? 0x40 : 0));
  Bytes b = {0x00,
             0x00,
             0x01,
             stream_id,
             static_cast<std::uint8_t>(length >> 8),
             static_cast<std::uint8_t>(length),
             0x84,
             flags,
             static_cast<std::uint8_t>(header_data)};
  if (pts) put_timestamp(b, dts ? 0x03 : 0x02, *pts);
  if (dts) put_timestamp(b, 0x01, *dts);
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

Bytes pattern(std::size_t n, std::uint8_t seed) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(seed + i * 7);
  return b;
}

struct PacketOptions {
  bool unit_start = false;
  bool random_access = false;
  bool discontinuity = false;
  std::optional<std::int64_t> pcr;
  bool transport_error = false;
  std::uint8_t scrambling = 0;
  bool payload = true;     // false: an adaptation-field-only packet
  std::size_t min_af = 0;  // adaptation field bytes to use at least (shrinks the payload)
};

class TsWriter {
 public:
  Bytes out;

  // One packet carrying as much of `data` as fits (stuffed with an adaptation
  // field); returns how many bytes it took.
  std::size_t packet(std::uint16_t pid, std::span<const std::uint8_t> data,
                     const PacketOptions& o = {}) {
    const bool flags = o.random_access || o.discontinuity || o.pcr.has_value();
    const std::size_t af_min = std::max<std::size_t>(flags ? 2 + (o.pcr ? 6 : 0) : 0, o.min_af);
    const std::size_t take = o.payload ? std::min(data.size(), 184 - af_min) : 0;
    const std::size_t af_size = 184 - take;  // including the length byte
    const std::uint8_t control = static_cast<std::uint8_t>((o.payload ? 1 : 0) | (af_size ? 2 : 0));
    std::uint8_t& next = next_cc_[pid];
    const std::uint8_t cc = o.payload ? next : static_cast<std::uint8_t>((next + 15) & 0x0F);
    if (o.payload) next = (next + 1) & 0x0F;
    out.insert(out.end(), {kTsSyncByte,
                           static_cast<std::uint8_t>((o.transport_error ? 0x80 : 0) |
                                                     (o.unit_start ? 0x40 : 0) | (pid >> 8)),
                           static_cast<std::uint8_t>(pid),
                           static_cast<std::uint8_t>((o.scrambling << 6) | (control << 4) | cc)});
    if (af_size > 0) {
      out.push_back(static_cast<std::uint8_t>(af_size - 1));
      std::size_t written = 1;
      if (af_size > 1) {
        out.push_back(static_cast<std::uint8_t>((o.discontinuity ? 0x80 : 0) |
                                                (o.random_access ? 0x40 : 0) | (o.pcr ? 0x10 : 0)));
        ++written;
        if (o.pcr) {
          const std::int64_t base = *o.pcr / 300, ext = *o.pcr % 300;
          out.insert(out.end(),
                     {static_cast<std::uint8_t>(base >> 25), static_cast<std::uint8_t>(base >> 17),
                      static_cast<std::uint8_t>(base >> 9), static_cast<std::uint8_t>(base >> 1),
                      static_cast<std::uint8_t>(((base & 1) << 7) | 0x7E | (ext >> 8)),
                      static_cast<std::uint8_t>(ext)});
          written += 6;
        }
      }
      out.insert(out.end(), af_size - written, 0xFF);
    }
    out.insert(out.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(take));
    return take;
  }

  // A PSI section from a new packet on, pointer_field 0, 0xFF stuffing.
  void section(std::uint16_t pid, const Bytes& section) {
    Bytes data = {0x00};
    data.insert(data.end(), section.begin(), section.end());
    bool first = true;
    for (std::size_t at = 0; at < data.size(); first = false) {
      Bytes chunk(data.begin() + static_cast<std::ptrdiff_t>(at),
                  data.begin() + static_cast<std::ptrdiff_t>(std::min(data.size(), at + 184)));
      at += chunk.size();
      chunk.resize(184, 0xFF);
      packet(pid, chunk, {.unit_start = first});
    }
  }

  void pat(std::uint16_t pmt_pid = kPmtPid) { section(kPatPid, pat_section({{1, pmt_pid}})); }

  void pmt(const std::vector<EsEntry>& streams, std::uint8_t version = 0,
           std::uint16_t pcr_pid = kVideoPid) {
    section(kPmtPid, pmt_section(pcr_pid, streams, version));
  }

  void program(std::uint8_t version = 0) {
    pat();
    pmt({{kStreamTypeH264, kVideoPid}, {kStreamTypeAacAdts, kAudioPid}}, version);
  }

  // A PES over as many packets as it needs; `first` applies to the first one.
  void pes(std::uint16_t pid, const Bytes& pes, PacketOptions first = {}) {
    first.unit_start = true;
    std::span<const std::uint8_t> rest(pes);
    rest = rest.subspan(packet(pid, rest, first));
    while (!rest.empty()) rest = rest.subspan(packet(pid, rest));
  }

  void video(const Bytes& payload, std::int64_t pts, PacketOptions first = {}) {
    pes(kVideoPid, pes_bytes(kVideoStreamId, payload, pts, pts - 3000), first);
  }
  void audio(const Bytes& payload, std::int64_t pts) {
    pes(kAudioPid, pes_bytes(kAudioStreamId, payload, pts, std::nullopt, true));
  }

  void skip_cc(std::uint16_t pid) { next_cc_[pid] = (next_cc_[pid] + 1) & 0x0F; }
  void rewind_cc(std::uint16_t pid) { next_cc_[pid] = (next_cc_[pid] + 15) & 0x0F; }
  // The last `n` packets, as bytes.
  Bytes last_packets(std::size_t n) const {
    return Bytes(out.end() - static_cast<std::ptrdiff_t>(n * kTsPacketSize), out.end());
  }
  void drop_last_packets(std::size_t n) { out.resize(out.size() - n * kTsPacketSize); }

 private:
  std::map<std::uint16_t, std::uint8_t> next_cc_;
};

// ---------------------------------------------------------------------------
// What the demuxer reported.

struct Pes {
  std::uint16_t pid;
  std::uint8_t stream_type;
  std::optional<std::int64_t> pts, dts;
  bool random_access, discontinuity;
  Clock::time_point arrival;
  Bytes payload;
  friend bool operator==(const Pes&, const Pes&) = default;
};

struct Output {
  std::vector<Pes> pes;
  std::vector<ProgramInfo> programs;
  std::vector<std::pair<std::uint16_t, std::uint8_t>> unsupported;
  std::vector<std::pair<std::uint16_t, std::int64_t>> pcrs;
};

TsDemuxerCallbacks record_into(Output& out) {
  TsDemuxerCallbacks cb;
  cb.on_pes = [&out](const PesPacket& p) {
    const auto bytes = p.payload.bytes();
    out.pes.push_back({p.pid, p.stream_type, p.pts, p.dts, p.random_access, p.discontinuity,
                       p.arrival, Bytes(bytes.begin(), bytes.end())});
  };
  cb.on_program = [&out](const ProgramInfo& info) { out.programs.push_back(info); };
  cb.on_unsupported_stream = [&out](std::uint16_t pid, std::uint8_t type) {
    out.unsupported.emplace_back(pid, type);
  };
  cb.on_pcr = [&out](std::uint16_t pid, std::int64_t pcr, Clock::time_point) {
    out.pcrs.emplace_back(pid, pcr);
  };
  return cb;
}

class TsDemuxerFixture : public ::testing::Test {
 protected:
  void feed(Clock::time_point arrival = kT0) {
    demuxer.push(ts.out, arrival);
    ts.out.clear();
  }
  void expect_consistent_byte_count() const {
    const TsDemuxerStats& s = demuxer.stats();
    EXPECT_EQ(s.bytes, s.packets * kTsPacketSize + s.bytes_skipped + demuxer.buffered_bytes());
  }

  Output got;
  TsDemuxer demuxer{record_into(got)};
  TsWriter ts;
};

// Most tests pin the next-start rule; padding is covered by its own tests.
class TsDemuxerTest : public TsDemuxerFixture {
 protected:
  TsDemuxerTest() { demuxer.set_padding_ends_pes(false); }
};

class TsDemuxerPaddingTest : public TsDemuxerFixture {};

TEST_F(TsDemuxerPaddingTest, PaddedLastPacketEndsAnUnboundedPesAtOnce) {
  ts.program();
  ts.video(pattern(5000, 1), 90000);
  feed();
  ASSERT_EQ(got.pes.size(), 1u);  // no need to wait for the next frame
  EXPECT_EQ(got.pes[0].payload, pattern(5000, 1));
  ts.video(pattern(10, 2), 93600);
  feed();
  ASSERT_EQ(got.pes.size(), 2u);
  EXPECT_EQ(got.pes[1].payload, pattern(10, 2));
}

TEST_F(TsDemuxerPaddingTest, MuxerThatPadsInsideAPesIsNoLongerTrusted) {
  ts.program();
  // A PES whose first packet is padded although more of it follows.
  const Bytes pes = pes_bytes(kVideoStreamId, pattern(400, 3), 90000, 87000);
  PacketOptions first;
  first.unit_start = true;
  first.min_af = 20;
  std::size_t at = ts.packet(kVideoPid, pes, first);
  while (at < pes.size()) at += ts.packet(kVideoPid, std::span(pes).subspan(at));
  feed();
  // The first piece went out alone (a broken frame, once) ...
  ASSERT_GE(got.pes.size(), 1u);
  got.pes.clear();
  // ... after which padding no longer ends units on the PID.
  ts.video(pattern(5000, 4), 93600);
  feed();
  EXPECT_TRUE(got.pes.empty());
  ts.video(pattern(10, 5), 97200);
  feed();
  ASSERT_EQ(got.pes.size(), 1u);
  EXPECT_EQ(got.pes[0].payload, pattern(5000, 4));
}

// ---------------------------------------------------------------------------
// PAT / PMT

TEST_F(TsDemuxerTest, ReportsProgramFromPatAndPmt) {
  ts.program();
  feed();
  demuxer.flush();
  ASSERT_EQ(got.programs.size(), 1u);
  const ProgramInfo& p = got.programs[0];
  EXPECT_EQ(p.program_number, 1);
  EXPECT_EQ(p.pmt_pid, kPmtPid);
  EXPECT_EQ(p.pcr_pid, kVideoPid);
  const std::vector<ProgramStream> expected = {{kVideoPid, kStreamTypeH264},
                                               {kAudioPid, kStreamTypeAacAdts}};
  EXPECT_EQ(p.streams, expected);
  EXPECT_EQ(demuxer.program().streams, expected);
  EXPECT_EQ(demuxer.stats().psi_errors, 0u);
}

TEST_F(TsDemuxerTest, IgnoresNetworkProgramZeroInPat) {
  ts.section(kPatPid, pat_section({{0, 0x0010}, {7, kPmtPid}}));
  ts.section(kPmtPid, pmt_section(kVideoPid, {{kStreamTypeH264, kVideoPid}}, 0, 7));
  feed();
  demuxer.flush();
  ASSERT_EQ(got.programs.size(), 1u);
  EXPECT_EQ(got.programs[0].program_number, 7);
  EXPECT_EQ(got.programs[0].pmt_pid, kPmtPid);
}

TEST_F(TsDemuxerTest, RepeatedTablesReportTheProgramOnce) {
  for (int i = 0; i < 5; ++i) ts.program();
  ts.program(/*version=*/1);  // a new version with the same streams
  feed();
  EXPECT_EQ(got.programs.size(), 1u);
}

TEST_F(TsDemuxerTest, PmtVersionChangeReplacesStreamsAndFlushesRemovedOnes) {
  ts.program();
  ts.video(pattern(1000, 1), 9000);  // unbounded: still pending
  feed();
  EXPECT_TRUE(got.pes.empty());
  ts.pmt({{kStreamTypeAacAdts, kAudioPid}}, /*version=*/1);
  feed();
  // The removed video stream's pending PES came out before the new program.
  ASSERT_EQ(got.pes.size(), 1u);
  EXPECT_EQ(got.pes[0].pid, kVideoPid);
  EXPECT_EQ(got.pes[0].payload, pattern(1000, 1));
  ASSERT_EQ(got.programs.size(), 2u);
  EXPECT_EQ(got.programs[1].streams, (std::vector<ProgramStream>{{kAudioPid, kStreamTypeAacAdts}}));
  EXPECT_EQ(got.programs[1].version, 1);

  ts.video(pattern(500, 2), 12000);  // no longer in the program
  ts.audio(pattern(300, 3), 12000);
  feed();
  demuxer.flush();
  ASSERT_EQ(got.pes.size(), 2u);
  EXPECT_EQ(got.pes[1].pid, kAudioPid);
}

TEST_F(TsDemuxerTest, ChangedStreamTypeOnPidResetsIt) {
  ts.program();
  ts.video(pattern(400, 1), 9000);
  ts.pmt({{kStreamTypeHevc, kVideoPid}, {kStreamTypeAacAdts, kAudioPid}}, 1);
  ts.video(pattern(400, 2), 12000);
  feed();
  demuxer.flush();
  ASSERT_EQ(got.programs.size(), 2u);
  EXPECT_EQ(got.programs[1].streams[0].stream_type, kStreamTypeHevc);
  ASSERT_EQ(got.pes.size(), 2u);
  EXPECT_EQ(got.pes[0].stream_type, kStreamTypeH264);
  EXPECT_EQ(got.pes[1].stream_type, kStreamTypeHevc);
  EXPECT_EQ(got.pes[1].payload, pattern(400, 2));
}

TEST_F(TsDemuxerTest, PmtSpanningPacketsWithDescriptorsIsParsed) {
  std::vector<EsEntry> streams = {{kStreamTypeH264, kVideoPid, Bytes(120, 0x05)},
                                  {kStreamTypeAacAdts, kAudioPid, Bytes(150, 0x0A)}};
  ts.pat();
  ts.pmt(streams);
  ASSERT_EQ(ts.out.size(), 3 * kTsPacketSize);  // PAT + a PMT over two packets
  feed();
  ASSERT_EQ(got.programs.size(), 1u);
  EXPECT_EQ(got.programs[0].streams.size(), 2u);
}

TEST_F(TsDemuxerTest, SectionWithBadCrcIsDroppedAndCounted) {
  ts.pat();
  Bytes bad = pmt_section(kVideoPid, {{kStreamTypeH264, kVideoPid}});
  bad[bad.size() - 1] ^= 0x01;
  ts.section(kPmtPid, bad);
  feed();
  demuxer.flush();
  EXPECT_TRUE(got.programs.empty());
  EXPECT_EQ(demuxer.stats().psi_errors, 1u);
}

TEST_F(TsDemuxerTest, PmtNamingAPidThatNeverArrivesIsHarmless) {
  ts.pat();
  ts.pmt({{kStreamTypeH264, kVideoPid}, {kStreamTypeAacAdts, 0x777}});
  ts.video(pattern(700, 1), 9000);
  feed();
  demuxer.flush();
  ASSERT_EQ(got.pes.size(), 1u);
  EXPECT_EQ(got.pes[0].pid, kVideoPid);
}

TEST_F(TsDemuxerTest, PesOnPidOutsideThePmtIsIgnored) {
  ts.program();
  ts.pes(0x555, pes_bytes(kVideoStreamId, pattern(900, 1), 9000));
  ts.pes(0x555, pes_bytes(kVideoStreamId, pattern(900, 1), 12000));
  feed();
  demuxer.flush();
  EXPECT_TRUE(got.pes.empty());
  EXPECT_EQ(demuxer.stats().continuity_errors, 0u);
}

TEST_F(TsDemuxerTest, UnsupportedStreamTypesAreReportedOncePerPidAndType) {
  ts.pat();
  const std::vector<EsEntry> streams = {{kStreamTypeH264, kVideoPid},
                                        {kStreamTypeMpeg1Audio, 0x102},
                                        {kStreamTypeAc3, 0x103},
                                        {kStreamTypeScte35, 0x104}};
  ts.pmt(streams);
  ts.pmt(streams, 1);
  ts.pmt(streams, 2);
  ts.pes(0x102, pes_bytes(kAudioStreamId, pattern(100, 1), 9000, std::nullopt, true));
  feed();
  const std::vector<std::pair<std::uint16_t, std::uint8_t>> expected = {
      {0x102, kStreamTypeMpeg1Audio}, {0x103, kStreamTypeAc3}, {0x104, kStreamTypeScte35}};
  EXPECT_EQ(got.unsupported, expected);
  EXPECT_TRUE(got.pes.empty());
  ASSERT_EQ(got.programs.size(), 1u);
  EXPECT_EQ(got.programs[0].streams.size(), 1u);
}

// ---------------------------------------------------------------------------
// PES reassembly

TEST_F(TsDemuxerTest, ReassemblesPesAcrossPacketsAtTheNextStart) {
  ts.program();
  ts.video(pattern(5000, 1), 90000);
  feed();
  EXPECT_TRUE(got.pes.empty());  // unbounded: waits for the next start
  ts.video(pattern(10, 2), 93600);
  feed();
  ASSERT_EQ(got.pes.size(), 1u);
  EXPECT_EQ(got.pes[0].payload, pattern(5000, 1));
  EXPECT_EQ(got.pes[0].pts, 90000);
  EXPECT_EQ(got.pes[0].dts, 87000);
  EXPECT_EQ(got.pes[0].stream_type, kStreamTypeH264);
  demuxer.flush();
  ASSERT_EQ(got.pes.size(), 2u);
  EXPECT_EQ(got.pes[1].payload, pattern(10, 2));
  EXPECT_EQ(demuxer.stats().pes_delivered, 2u);
}

TEST_F(TsDemuxerTest, BoundedPesIsDeliveredAsSoonAsComplete) {
  ts.program();
  feed();
  ts.audio(pattern(600, 1), 1800);
  ASSERT_EQ(ts.out.size(), 4 * kTsPacketSize);
  const Bytes all = ts.out;
  demuxer.push(std::span(all).first(3 * kTsPacketSize), kT0);
  EXPECT_TRUE(got.pes.empty());
  demuxer.push(std::span(all).subspan(3 * kTsPacketSize), kT0);
  ASSERT_EQ(got.pes.size(), 1u);  // without waiting for another packet
  EXPECT_EQ(got.pes[0].payload, pattern(600, 1));
  EXPECT_EQ(got.pes[0].pts, 1800);
  EXPECT_FALSE(got.pes[0].dts.has_value());
}

TEST_F(TsDemuxerTest, PesCarriesArrivalOfItsFirstPacket) {
  ts.program();
  ts.packet(kNullPid, pattern(184, 0));  // three packets: sync is confirmed
  feed();
  ts.audio(pattern(400, 1), 1800);
  const Bytes all = ts.out;
  const Clock::time_point t1 = kT0 + std::chrono::milliseconds(5);
  demuxer.push(std::span(all).first(kTsPacketSize + 10), t1);
  demuxer.push(std::span(all).subspan(kTsPacketSize + 10), t1 + std::chrono::milliseconds(20));
  ASSERT_EQ(got.pes.size(), 1u);
  EXPECT_EQ(got.pes[0].arrival, t1);
}

TEST_F(TsDemuxerTest, PesHeaderSplitAcrossPacketsIsReassembled) {
  ts.program();
  const Bytes pes = pes_bytes(kAudioStreamId, pattern(300, 4), 7777, std::nullopt, true);
  std::span<const std::uint8_t> rest(pes);
  // Only 5 header bytes in the first packet.
  rest = rest.subspan(ts.packet(kAudioPid, rest, {.unit_start = true, .min_af = 179}));
  while (!rest.empty()) rest = rest.subspan(ts.packet(kAudioPid, rest));
  feed();
  ASSERT_EQ(got.pes.size(), 1u);
  EXPECT_EQ(got.pes[0].pts, 7777);
  EXPECT_EQ(got.pes[0].payload, pattern(300, 4));
}

TEST_F(TsDemuxerTest, TruncatedBoundedPesIsCountedAndDropped) {
  ts.program();
  ts.audio(pattern(600, 1), 1800);
  ts.drop_last_packets(1);  // never sent: the next start cuts the PES short
  ts.rewind_cc(kAudioPid);  // with continuity intact, so only the length tells
  ts.audio(pattern(200, 2), 3600);
  feed();
  ASSERT_EQ(got.pes.size(), 1u);
  EXPECT_EQ(got.pes[0].payload, pattern(200, 2));
  EXPECT_EQ(demuxer.stats().pes_truncated, 1u);
  EXPECT_EQ(demuxer.stats().continuity_errors, 0u);
}

TEST_F(TsDemuxerTest, AbsurdPesLengthCountsAsTruncated) {
  ts.program();
  // Announces 60000 bytes, carries 500; the next PES starts after it.
  ts.pes(kAudioPid, pes_bytes(kAudioStreamId, pattern(500, 1), 1800, std::nullopt, true, 60000));
  ts.audio(pattern(200, 2), 3600);
  feed();
  ASSERT_EQ(got.pes.size(), 1u);
  EXPECT_EQ(got.pes[0].payload, pattern(200, 2));
  EXPECT_EQ(demuxer.stats().pes_truncated, 1u);
  EXPECT_EQ(demuxer.stats().continuity_errors, 0u);
  // And at the end of the stream as well.
  ts.pes(kAudioPid, pes_bytes(kAudioStreamId, pattern(500, 1), 5400, std::nullopt, true, 60000));
  feed();
  demuxer.flush();
  EXPECT_EQ(demuxer.stats().pes_truncated, 2u);
  EXPECT_EQ(got.pes.size(), 1u);
}

TEST_F(TsDemuxerTest, BadPesStartCodeIsCountedAndSkipped) {
  ts.program();
  Bytes bad = pes_bytes(kVideoStreamId, pattern(300, 1), 9000);
  bad[2] = 0x02;
  ts.pes(kVideoPid, bad);
  ts.video(pattern(300, 2), 12000);
  feed();
  demuxer.flush();
  ASSERT_EQ(got.pes.size(), 1u);
  EXPECT_EQ(got.pes[0].payload, pattern(300, 2));
  EXPECT_EQ(demuxer.stats().pes_errors, 1u);
}

TEST_F(TsDemuxerTest, TimestampsPassThroughUntouched) {
  ts.program();
  const std::vector<std::int64_t> pts = {900000, 450000, 8589934590, 3, 8589934591, 0, 123456789};
  for (std::size_t i = 0; i < pts.size(); ++i) ts.audio(pattern(50, 1), pts[i]);
  feed();
  ASSERT_EQ(got.pes.size(), pts.size());
  for (std::size_t i = 0; i < pts.size(); ++i) EXPECT_EQ(got.pes[i].pts, pts[i]) << i;
}

TEST_F(TsDemuxerTest, PesIsCappedAt16MiB) {
  ts.program();
  ts.video(pattern(PesAssembler::kMaxPayloadSize + 1000, 1), 9000);  // dropped
  ts.video(pattern(PesAssembler::kMaxPayloadSize, 2), 12000);        // exactly at the cap
  ts.video(pattern(100, 3), 15000);
  feed();
  ASSERT_EQ(got.pes.size(), 1u);
  EXPECT_EQ(got.pes[0].payload, pattern(PesAssembler::kMaxPayloadSize, 2));
  EXPECT_EQ(demuxer.stats().pes_oversized, 1u);
}

// ---------------------------------------------------------------------------
// Continuity

TEST_F(TsDemuxerTest, ContinuityGapDropsOnlyTheBrokenPes) {
  ts.program();
  ts.audio(pattern(100, 1), 1800);
  ts.video(pattern(600, 2), 9000);  // 4 packets
  const Bytes tail = ts.last_packets(2);
  ts.drop_last_packets(3);  // lose the second packet of the video PES
  ts.out.insert(ts.out.end(), tail.begin(), tail.end());
  ts.video(pattern(700, 3), 12000);
  ts.video(pattern(10, 4), 15000);
  feed();
  ASSERT_EQ(got.pes.size(), 2u);
  EXPECT_EQ(got.pes[0].pid, kAudioPid);
  EXPECT_EQ(got.pes[1].payload, pattern(700, 3));
  EXPECT_EQ(demuxer.stats().continuity_errors, 1u);
}

TEST_F(TsDemuxerTest, DuplicatePacketIsIgnoredOnce) {
  ts.program();
  ts.video(pattern(600, 1), 9000);  // 4 packets
  Bytes tail = ts.last_packets(3);
  ts.drop_last_packets(3);
  const Bytes dup(tail.begin(), tail.begin() + kTsPacketSize);
  ts.out.insert(ts.out.end(), dup.begin(), dup.end());  // sent twice
  ts.out.insert(ts.out.end(), tail.begin(), tail.end());
  ts.video(pattern(10, 2), 12000);
  feed();
  ASSERT_EQ(got.pes.size(), 1u);
  EXPECT_EQ(got.pes[0].payload, pattern(600, 1));
  EXPECT_EQ(demuxer.stats().continuity_errors, 0u);
}

TEST_F(TsDemuxerTest, ThirdCopyOfAPacketIsAContinuityError) {
  ts.program();
  ts.video(pattern(600, 1), 9000);
  Bytes tail = ts.last_packets(3);
  ts.drop_last_packets(3);
  const Bytes dup(tail.begin(), tail.begin() + kTsPacketSize);
  for (int i = 0; i < 2; ++i) ts.out.insert(ts.out.end(), dup.begin(), dup.end());
  ts.out.insert(ts.out.end(), tail.begin(), tail.end());
  ts.video(pattern(10, 2), 12000);
  feed();
  EXPECT_EQ(demuxer.stats().continuity_errors, 1u);  // the 3rd copy; the PES is lost
  EXPECT_TRUE(got.pes.empty());
}

TEST_F(TsDemuxerTest, DiscontinuityIndicatorAllowsCounterJumpAndFlagsNextPes) {
  ts.program();
  ts.video(pattern(300, 1), 9000);
  ts.skip_cc(kVideoPid);
  ts.skip_cc(kVideoPid);
  ts.video(pattern(300, 2), 500, {.discontinuity = true});
  ts.video(pattern(300, 3), 3500);
  feed();
  demuxer.flush();
  ASSERT_EQ(got.pes.size(), 3u);
  EXPECT_FALSE(got.pes[0].discontinuity);
  EXPECT_TRUE(got.pes[1].discontinuity);
  EXPECT_FALSE(got.pes[2].discontinuity);
  EXPECT_EQ(demuxer.stats().continuity_errors, 0u);
}

TEST_F(TsDemuxerTest, RandomAccessIndicatorIsPropagated) {
  ts.program();
  ts.video(pattern(300, 1), 9000, {.random_access = true});
  ts.video(pattern(300, 2), 12000);
  feed();
  demuxer.flush();
  ASSERT_EQ(got.pes.size(), 2u);
  EXPECT_TRUE(got.pes[0].random_access);
  EXPECT_FALSE(got.pes[1].random_access);
}

TEST_F(TsDemuxerTest, DeliversPcrOfThePcrPid) {
  ts.program();
  const std::int64_t pcr = (std::int64_t{8589934591} * 300) + 299;  // largest PCR
  ts.video(pattern(300, 1), 9000, {.pcr = pcr});
  ts.video(pattern(300, 2), 12000, {.pcr = 27'000'000});
  ts.pes(kAudioPid, pes_bytes(kAudioStreamId, pattern(30, 1), 1, std::nullopt, true),
         {.pcr = 5});  // not the PCR PID
  feed();
  const std::vector<std::pair<std::uint16_t, std::int64_t>> expected = {{kVideoPid, pcr},
                                                                        {kVideoPid, 27'000'000}};
  EXPECT_EQ(got.pcrs, expected);
}

TEST_F(TsDemuxerTest, DeliversPcrFromAPcrOnlyPid) {
  ts.pat();
  ts.pmt({{kStreamTypeH264, kVideoPid}}, 0, /*pcr_pid=*/0x1FF);
  ts.packet(0x1FF, {}, {.pcr = 600, .payload = false});
  ts.packet(0x1FF, {}, {.pcr = 900, .payload = false});
  feed();
  const std::vector<std::pair<std::uint16_t, std::int64_t>> expected = {{0x1FF, 600}, {0x1FF, 900}};
  EXPECT_EQ(got.pcrs, expected);
  EXPECT_EQ(demuxer.stats().malformed_packets, 0u);
}

// ---------------------------------------------------------------------------
// Damaged transport

TEST_F(TsDemuxerTest, ScrambledAndTransportErrorPacketsAreDroppedAndCounted) {
  ts.program();
  ts.packet(kVideoPid, pattern(184, 1), {.unit_start = true, .scrambling = 2});
  ts.packet(kVideoPid, pattern(184, 1), {.transport_error = true});
  ts.skip_cc(kVideoPid);  // the error packet's counter is unreliable: realign
  ts.video(pattern(300, 2), 9000);
  feed();
  demuxer.flush();
  EXPECT_EQ(demuxer.stats().scrambled, 1u);
  EXPECT_EQ(demuxer.stats().transport_errors, 1u);
  ASSERT_EQ(got.pes.size(), 1u);
  EXPECT_EQ(got.pes[0].payload, pattern(300, 2));
}

TEST_F(TsDemuxerTest, NullPacketsAreIgnored) {
  ts.program();
  ts.packet(kNullPid, pattern(184, 1));
  ts.audio(pattern(50, 1), 1800);
  ts.packet(kNullPid, pattern(184, 1));
  feed();
  EXPECT_EQ(got.pes.size(), 1u);
  EXPECT_EQ(demuxer.stats().packets, 5u);
}

TEST_F(TsDemuxerTest, MalformedAdaptationFieldIsCounted) {
  ts.program();
  ts.audio(pattern(100, 1), 1800);
  ts.out[ts.out.size() - kTsPacketSize + 4] = 184;  // adaptation length past the packet
  ts.audio(pattern(100, 2), 3600);
  feed();
  EXPECT_EQ(demuxer.stats().malformed_packets, 1u);
  ASSERT_EQ(got.pes.size(), 1u);
  EXPECT_EQ(got.pes[0].payload, pattern(100, 2));
}

TEST_F(TsDemuxerTest, ResyncsAfterGarbageBetweenPackets) {
  ts.program();
  ts.audio(pattern(300, 1), 1800);
  Bytes garbage(77, 0x47);  // sync bytes, but not at a 188-byte stride
  for (std::size_t i = 0; i < garbage.size(); i += 2) garbage[i] = static_cast<std::uint8_t>(i);
  ts.out.insert(ts.out.end(), garbage.begin(), garbage.end());
  ts.audio(pattern(300, 2), 3600);
  ts.audio(pattern(300, 3), 5400);
  feed();
  demuxer.flush();
  ASSERT_EQ(got.pes.size(), 3u);
  EXPECT_EQ(got.pes[2].payload, pattern(300, 3));
  EXPECT_EQ(demuxer.stats().resyncs, 1u);
  EXPECT_EQ(demuxer.stats().bytes_skipped, 77u);
  EXPECT_EQ(demuxer.stats().continuity_errors, 0u);
  expect_consistent_byte_count();
}

TEST_F(TsDemuxerTest, SkipsGarbageBeforeTheFirstSync) {
  ts.out = pattern(1000, 3);
  ts.program();
  ts.audio(pattern(300, 1), 1800);
  feed();
  demuxer.flush();
  ASSERT_EQ(got.pes.size(), 1u);
  EXPECT_EQ(demuxer.stats().resyncs, 0u);  // not a loss of sync: it was never there
  EXPECT_EQ(demuxer.stats().bytes_skipped, 1000u);
  expect_consistent_byte_count();
}

TEST_F(TsDemuxerTest, ResyncsAfterBytesLostInsideAPacket) {
  ts.program();
  ts.audio(pattern(300, 1), 1800);
  ts.audio(pattern(300, 2), 3600);
  ts.out.erase(ts.out.end() - 100, ts.out.end() - 60);  // 40 bytes lost in the last packet
  ts.audio(pattern(300, 3), 5400);
  ts.audio(pattern(300, 4), 7200);
  feed();
  demuxer.flush();
  ASSERT_GE(got.pes.size(), 2u);
  EXPECT_EQ(got.pes.front().payload, pattern(300, 1));
  EXPECT_EQ(got.pes.back().payload, pattern(300, 4));
  EXPECT_EQ(demuxer.stats().resyncs, 1u);
  expect_consistent_byte_count();
}

// The reference stream for the chunking tests: tables, PCR, interleaved
// bounded and unbounded PES, a null packet.
Bytes reference_stream() {
  TsWriter ts;
  ts.program();
  ts.video(pattern(2000, 1), 9000, {.random_access = true, .pcr = 1000});
  ts.audio(pattern(400, 2), 1800);
  ts.packet(kNullPid, pattern(184, 0));
  ts.video(pattern(700, 3), 12600, {.pcr = 2000});
  ts.audio(pattern(20, 4), 3600);
  ts.program();
  ts.video(pattern(90, 5), 16200);
  return ts.out;
}

Output demux_in_chunks(const Bytes& stream, const std::vector<std::size_t>& cuts) {
  Output out;
  TsDemuxer demuxer(record_into(out));
  std::size_t at = 0;
  for (std::size_t cut : cuts) {
    demuxer.push(std::span(stream).subspan(at, cut - at), kT0);
    at = cut;
  }
  demuxer.push(std::span(stream).subspan(at), kT0);
  demuxer.flush();
  const TsDemuxerStats& s = demuxer.stats();
  EXPECT_EQ(s.bytes, stream.size());
  EXPECT_EQ(s.bytes_skipped, 0u);
  return out;
}

TEST(TsDemuxerChunkingTest, ChunkingAtEveryByteBoundaryGivesIdenticalOutput) {
  const Bytes stream = reference_stream();
  const Output whole = demux_in_chunks(stream, {});
  ASSERT_EQ(whole.pes.size(), 5u);
  ASSERT_EQ(whole.pcrs.size(), 2u);
  for (std::size_t cut = 1; cut < stream.size(); ++cut) {
    const Output split = demux_in_chunks(stream, {cut});
    ASSERT_EQ(split.pes, whole.pes) << "cut at " << cut;
    ASSERT_EQ(split.pcrs, whole.pcrs) << "cut at " << cut;
    ASSERT_EQ(split.programs.size(), whole.programs.size()) << "cut at " << cut;
  }
  std::vector<std::size_t> every_byte(stream.size() - 1);
  for (std::size_t i = 0; i < every_byte.size(); ++i) every_byte[i] = i + 1;
  EXPECT_EQ(demux_in_chunks(stream, every_byte).pes, whole.pes);
}

TEST(TsDemuxerChunkingTest, SrtSizedChunksGiveIdenticalOutput) {
  const Bytes stream = reference_stream();
  const Output whole = demux_in_chunks(stream, {});
  for (std::size_t chunk : {1316u, 1000u, 187u, 189u, 376u, 377u}) {
    std::vector<std::size_t> cuts;
    for (std::size_t at = chunk; at < stream.size(); at += chunk) cuts.push_back(at);
    EXPECT_EQ(demux_in_chunks(stream, cuts).pes, whole.pes) << "chunk " << chunk;
  }
}

TEST(TsDemuxerChunkingTest, ShortStreamIsDemuxedAtFlush) {
  TsWriter ts;
  ts.program();  // two packets only: sync cannot be confirmed three times
  Output out;
  TsDemuxer demuxer(record_into(out));
  demuxer.push(ts.out, kT0);
  EXPECT_TRUE(out.programs.empty());
  demuxer.flush();
  EXPECT_EQ(out.programs.size(), 1u);
  EXPECT_EQ(demuxer.stats().packets, 2u);
}

}  // namespace
}  // namespace mirror::ingest
