// libFuzzer target for the MPEG-TS demuxer. The first bytes choose chunk sizes
// (1..200 bytes, or multiples of 188 up to 56 packets); the rest is the stream.
// Checks, besides the sanitizers: delivered PES are within the 16 MiB cap and
// only of supported types, timestamps and PCRs within their bit widths, the
// byte accounting adds up after every push, and the output does not depend
// on the chunking (the same input pushed whole gives the same PES and stats).
#include "ingest/mpegts/stream_type.h"
#include "ingest/mpegts/ts_demuxer.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

namespace {

using mirror::ingest::PesPacket;
using mirror::ingest::ProgramInfo;
using mirror::ingest::TsDemuxer;
using mirror::ingest::TsDemuxerCallbacks;
using mirror::ingest::TsDemuxerStats;

void require(bool condition) {
  if (!condition) std::abort();
}

struct Seen {
  std::uint16_t pid;
  std::uint8_t stream_type;
  std::int64_t pts, dts;
  bool random_access, discontinuity;
  std::size_t size;
  std::uint64_t checksum;
  bool operator==(const Seen&) const = default;
};

struct Run {
  std::vector<Seen> pes;
  std::size_t programs = 0;
  std::size_t pcrs = 0;
  TsDemuxerStats stats;
};

constexpr std::int64_t kTimestampLimit = std::int64_t{1} << 33;

void check_accounting(const TsDemuxer& d) {
  const TsDemuxerStats& s = d.stats();
  require(d.buffered_bytes() < 3 * mirror::ingest::kTsPacketSize);
  require(s.bytes ==
          s.packets * mirror::ingest::kTsPacketSize + s.bytes_skipped + d.buffered_bytes());
  require(s.transport_errors + s.scrambled + s.malformed_packets <= s.packets);
}

Run demux(std::span<const std::uint8_t> stream, std::span<const std::size_t> chunks) {
  Run run;
  TsDemuxerCallbacks cb;
  cb.on_pes = [&run](const PesPacket& p) {
    require(p.payload.size() <= mirror::ingest::PesAssembler::kMaxPayloadSize);
    require(mirror::ingest::is_supported_stream_type(p.stream_type));
    require(p.pid <= mirror::ingest::kMaxPid);
    require(!p.pts || (*p.pts >= 0 && *p.pts < kTimestampLimit));
    require(!p.dts || (*p.dts >= 0 && *p.dts < kTimestampLimit));
    std::uint64_t sum = 1469598103934665603ull;
    for (std::uint8_t b : p.payload.bytes()) sum = (sum ^ b) * 1099511628211ull;
    run.pes.push_back({p.pid, p.stream_type, p.pts.value_or(-1), p.dts.value_or(-1),
                       p.random_access, p.discontinuity, p.payload.size(), sum});
  };
  cb.on_program = [&run](const ProgramInfo& info) {
    for (std::size_t i = 0; i < info.streams.size(); ++i) {
      require(mirror::ingest::is_supported_stream_type(info.streams[i].stream_type));
      for (std::size_t j = 0; j < i; ++j) require(info.streams[i].pid != info.streams[j].pid);
    }
    ++run.programs;
  };
  cb.on_pcr = [&run](std::uint16_t, std::int64_t pcr, std::chrono::system_clock::time_point) {
    // base * 300 + a 9-bit extension, which the wire may carry up to 511.
    require(pcr >= 0 && pcr <= (kTimestampLimit - 1) * 300 + 511);
    ++run.pcrs;
  };
  TsDemuxer demuxer(cb);
  const auto arrival = std::chrono::system_clock::time_point{};
  std::size_t at = 0;
  for (std::size_t i = 0; at < stream.size(); ++i) {
    const std::size_t n = chunks.empty() ? stream.size() : chunks[i % chunks.size()];
    const std::size_t take = n < stream.size() - at ? n : stream.size() - at;
    demuxer.push(stream.subspan(at, take), arrival);
    at += take;
    check_accounting(demuxer);
  }
  demuxer.flush();
  check_accounting(demuxer);
  require(demuxer.buffered_bytes() == 0);
  run.stats = demuxer.stats();
  require(run.stats.pes_delivered == run.pes.size());
  require(run.stats.bytes == stream.size());
  return run;
}

bool same_stats(const TsDemuxerStats& a, const TsDemuxerStats& b) {
  return a.packets == b.packets && a.bytes == b.bytes && a.bytes_skipped == b.bytes_skipped &&
         a.resyncs == b.resyncs && a.continuity_errors == b.continuity_errors &&
         a.transport_errors == b.transport_errors && a.scrambled == b.scrambled &&
         a.malformed_packets == b.malformed_packets && a.psi_errors == b.psi_errors &&
         a.pes_errors == b.pes_errors && a.pes_truncated == b.pes_truncated &&
         a.pes_oversized == b.pes_oversized &&
         a.timestamp_marker_errors == b.timestamp_marker_errors &&
         a.pes_delivered == b.pes_delivered;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t count = std::size_t{data[0]} % 8 + 1;
  if (size < 1 + count) return 0;
  std::array<std::size_t, 8> chunks{};
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint8_t b = data[1 + i];
    chunks[i] = b < 200 ? std::size_t{b} + 1 : mirror::ingest::kTsPacketSize * (b - 199);
  }
  const std::span<const std::uint8_t> stream(data + 1 + count, size - 1 - count);

  const Run chunked = demux(stream, std::span<const std::size_t>(chunks.data(), count));
  const Run whole = demux(stream, {});
  require(chunked.pes == whole.pes);
  require(chunked.programs == whole.programs);
  require(chunked.pcrs == whole.pcrs);
  require(same_stats(chunked.stats, whole.stats));
  return 0;
}
