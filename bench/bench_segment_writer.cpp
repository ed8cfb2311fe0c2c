// The DVR's segment writer at the mission's rate: every 500 ms, one 3.1 MB
// segment (50 Mbit/s) for each of 25 streams, written to DIR (temporary
// file, fdatasync, rename) and indexed. Per round, the time from handing
// the 25 segments over to all of them being durable and indexed (an upper
// bound of each segment's complete-to-durable delay). The reference, in the
// same run and on the same disk: the same bytes written by plain
// write + fdatasync per file, one after another.
// Prints one line:
//   segment_writer rounds=R streams=S mib_per_s=... cpu_s_per_gib=... ref_cpu_s_per_gib=...
//     cpu_vs_ref=... round_p50_ms=... round_p99_ms=... ref_round_p50_ms=...
// Usage: bench_segment_writer DIR [ROUNDS] [STREAMS]
#include "cpu_time.h"
#include "storage/segment_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kSegmentBytes = 50'000'000 / 8 / 2;
constexpr std::int64_t kT0 = 1'796'000'000'000;

double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DIR [ROUNDS] [STREAMS]\n", argv[0]);
    return 2;
  }
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(argv[1]) / "bench-segment-writer";
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 40;
  const int streams = argc > 3 ? std::atoi(argv[3]) : 25;
  fs::remove_all(dir);
  fs::create_directories(dir);
  // A segment as the packager hands it over: fragments of ~64 KiB.
  std::vector<mirror::core::SharedBytes> chunks;
  for (std::size_t at = 0; at < kSegmentBytes; at += 65536) {
    chunks.push_back(mirror::core::SharedBytes::from_string(std::string(std::min<std::size_t>(65536, kSegmentBytes - at), 'x')));
  }

  auto index = std::move(*mirror::storage::SegmentIndex::open((dir / "index.db").string()));
  mirror::storage::SegmentWriterSettings settings;
  settings.cache_dir = (dir / "cache").string();
  settings.max_bytes = std::int64_t{1} << 40;
  mirror::storage::SegmentWriter writer(settings, *index);
  writer.start();
  std::vector<double> round_ms;
  const double cpu0 = mirror::bench::cpu_seconds(RUSAGE_SELF);
  const auto t0 = Clock::now();
  for (int r = 0; r < rounds; ++r) {
    const auto start = Clock::now();
    for (int s = 0; s < streams; ++s) {
      mirror::storage::SegmentJob job;
      job.record.key = {fmt::format("cam{}", s), "source", 1, r};
      job.record.program_date_time_ms = kT0 + r * 500;
      job.record.duration_us = 500'000;
      job.bytes = chunks;
      writer.submit(std::move(job));
    }
    writer.flush();
    round_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    // Real time: the next round's segments complete 500 ms after these.
    std::this_thread::sleep_until(start + std::chrono::milliseconds(500));
  }
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  const double cpu = mirror::bench::cpu_seconds(RUSAGE_SELF) - cpu0;
  writer.stop();
  const double gib = static_cast<double>(kSegmentBytes) * rounds * streams / (1024.0 * 1024 * 1024);
  fs::remove_all(dir / "cache");

  // The reference: plain write + fdatasync of the same bytes.
  std::vector<double> ref_ms;
  const double rcpu0 = mirror::bench::cpu_seconds(RUSAGE_SELF);
  fs::create_directories(dir / "ref");
  for (int r = 0; r < rounds; ++r) {
    const auto start = Clock::now();
    for (int s = 0; s < streams; ++s) {
      const auto path = (dir / "ref" / fmt::format("{}-{}.m4s", s, r)).string();
      const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      for (const auto& c : chunks) {
        if (::write(fd, c.data(), c.size()) < 0) return 1;
      }
      ::fdatasync(fd);
      ::close(fd);
    }
    ref_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    std::this_thread::sleep_until(start + std::chrono::milliseconds(500));
  }
  const double rcpu = mirror::bench::cpu_seconds(RUSAGE_SELF) - rcpu0;
  fs::remove_all(dir);
  std::printf(
      "segment_writer rounds=%d streams=%d mib_per_s=%.0f cpu_s_per_gib=%.3f ref_cpu_s_per_gib=%.3f cpu_vs_ref=%.2f "
      "round_p50_ms=%.0f round_p99_ms=%.0f ref_round_p50_ms=%.0f ref_round_p99_ms=%.0f written=%llu errors=%llu\n",
      rounds, streams, gib * 1024 / wall, cpu / gib, rcpu / gib, cpu / rcpu, quantile(round_ms, 0.5),
      quantile(round_ms, 0.99), quantile(ref_ms, 0.5), quantile(ref_ms, 0.99),
      static_cast<unsigned long long>(writer.stats().written), static_cast<unsigned long long>(writer.stats().write_errors));
  return 0;
}
