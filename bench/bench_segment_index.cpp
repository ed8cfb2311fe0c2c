// The DVR's segment index at the mission's size: 24 hours of 25 streams in
// 500 ms segments (4.32 million rows) in a file, then windows of 1 minute,
// 1 hour and 24 hours read back for random streams and times, each made into
// the DVR's media playlist (query plus text: what a playlist request costs
// on a reader thread). The reference,
// measured in the same run, is writing the same rows as playlist lines
// (EXT-X-PROGRAM-DATE-TIME, EXTINF, URI) from memory: the text work a DVR
// playlist needs whatever the index.
// Prints one line:
//   segment_index rows=N build_s=... rows_per_s=... file_mib=...
//     w1m_p50_ms=... w1m_p99_ms=... w1h_p50_ms=... w1h_p99_ms=... w24h_p50_ms=... w24h_p99_ms=...
//     w1h_vs_text=...
// (window times include the playlist's text).
// Usage: bench_segment_index DIR [HOURS] [STREAMS]
#include "package/hls/dvr_playlist.h"
#include "storage/segment_index.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using mirror::storage::SegmentIndex;
using mirror::storage::SegmentRecord;

constexpr std::int64_t kT0 = 1'796'000'000'000;
constexpr std::int64_t kSegmentMs = 500;

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))];
}

// What a DVR playlist writes per segment.
std::size_t playlist_text(const std::vector<SegmentRecord>& rows) {
  std::string out;
  out.reserve(rows.size() * 96);
  for (const auto& r : rows) {
    fmt::format_to(std::back_inserter(out), "#EXT-X-PROGRAM-DATE-TIME:{}\n#EXTINF:{:.3f},\nseg-{}-{}.m4s\n",
                   r.program_date_time_ms, static_cast<double>(r.duration_us) / 1e6, r.key.session,
                   r.key.media_sequence);
  }
  return out.size();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DIR [HOURS] [STREAMS]\n", argv[0]);
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  const int hours = argc > 2 ? std::atoi(argv[2]) : 24;
  const int streams = argc > 3 ? std::atoi(argv[3]) : 25;
  std::filesystem::create_directories(dir);
  const auto path = (dir / "bench-index.db").string();
  std::filesystem::remove(path);
  std::filesystem::remove(path + "-wal");
  std::filesystem::remove(path + "-shm");

  auto opened = SegmentIndex::open(path);
  if (!opened) {
    std::fprintf(stderr, "%s\n", opened.error().message.c_str());
    return 1;
  }
  auto& index = **opened;
  const std::int64_t per_stream = hours * 3600LL * 1000 / kSegmentMs;
  // Written as the server writes: a batch per second of all streams' segments.
  const auto build_start = Clock::now();
  std::vector<SegmentRecord> batch;
  for (std::int64_t i = 0; i < per_stream; i += 2) {
    batch.clear();
    for (int s = 0; s < streams; ++s) {
      for (std::int64_t j = i; j < std::min(i + 2, per_stream); ++j) {
        SegmentRecord r;
        r.key = {fmt::format("cam{}", s), "360p", 1, j};
        r.init_version = 1;
        r.program_date_time_ms = kT0 + j * kSegmentMs;
        r.duration_us = kSegmentMs * 1000;
        r.size_bytes = 3'000'000;
        batch.push_back(std::move(r));
      }
    }
    if (auto st = index.add(batch); !st) {
      std::fprintf(stderr, "%s\n", st.error().message.c_str());
      return 1;
    }
  }
  const double build_s = ms_since(build_start) / 1000;
  const auto rows = *index.count();

  std::mt19937_64 rng(42);
  auto timed = [&](std::int64_t span_ms, int queries, std::vector<SegmentRecord>* keep) {
    std::vector<double> ms;
    for (int q = 0; q < queries; ++q) {
      const auto stream = fmt::format("cam{}", rng() % static_cast<unsigned>(streams));
      const std::int64_t total_ms = per_stream * kSegmentMs;
      const std::int64_t from = kT0 + (span_ms >= total_ms ? 0 : static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(total_ms - span_ms)));
      const auto t = Clock::now();
      auto w = index.window(stream, "360p", from, from + span_ms, 1'000'000);
      if (!w || w->empty()) {
        std::fprintf(stderr, "empty window\n");
        std::exit(1);
      }
      std::vector<mirror::package::hls::DvrSegment> segments;
      segments.reserve(w->size());
      for (const auto& r : *w) {
        segments.push_back({r.key.session, r.key.media_sequence, r.discontinuity_sequence, r.init_version,
                            r.program_date_time_ms, r.duration_us});
      }
      const auto text = mirror::package::hls::dvr_media_playlist(segments, {.complete = true, .query = {}});
      ms.push_back(ms_since(t));
      if (text.size() < segments.size() * 40) std::exit(1);
      if (keep) *keep = std::move(*w);
    }
    return ms;
  };
  const auto w1m = timed(60'000, 200, nullptr);
  std::vector<SegmentRecord> hour;
  const auto w1h = timed(3'600'000, 50, &hour);
  const auto w24h = timed(hours * 3'600'000LL, 10, nullptr);

  // The reference: the playlist text of one hour's rows, from memory.
  std::vector<double> text_ms;
  std::size_t bytes = 0;
  for (int i = 0; i < 50; ++i) {
    const auto t = Clock::now();
    bytes += playlist_text(hour);
    text_ms.push_back(ms_since(t));
  }
  const auto file_mib = static_cast<double>(std::filesystem::file_size(path)) / (1024.0 * 1024.0);
  std::printf(
      "segment_index rows=%lld build_s=%.1f rows_per_s=%.0f file_mib=%.0f w1m_p50_ms=%.3f w1m_p99_ms=%.3f "
      "w1h_p50_ms=%.2f w1h_p99_ms=%.2f w24h_p50_ms=%.1f w24h_p99_ms=%.1f text_1h_p50_ms=%.2f w1h_vs_text=%.2f "
      "(%zu text bytes)\n",
      static_cast<long long>(rows), build_s, static_cast<double>(rows) / build_s, file_mib, quantile(w1m, 0.5),
      quantile(w1m, 0.99), quantile(w1h, 0.5), quantile(w1h, 0.99), quantile(w24h, 0.5), quantile(w24h, 0.99),
      quantile(text_ms, 0.5), quantile(w1h, 0.5) / quantile(text_ms, 0.5), bytes / 50);
  std::filesystem::remove(path);
  std::filesystem::remove(path + "-wal");
  std::filesystem::remove(path + "-shm");
  return 0;
}
