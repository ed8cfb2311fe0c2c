// S3 archiving throughput and cost: COUNT segment files of SIZE_MB in DIR
// (with their init segment) offered to the archiver (WORKERS keep-alive
// connections, multipart above 8 MiB) as the segment writer offers them,
// against the S3-compatible server at ENDPOINT. The reference is the
// input's real-time rate: 25 streams of 50 Mbit/s need 156 MB/s.
// Prints one line:
//   s3_upload segments=N bytes=... seconds=... mb_per_s=... vs_25x50M=...
//     worker_cpu_s_per_gib=... process_cpu_s_per_gib=... failures=...
// Usage: bench_s3_upload ENDPOINT BUCKET DIR COUNT SIZE_MB [WORKERS]
#include "storage/s3/archiver.h"

#include <fmt/format.h>

#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <string>

namespace {

double process_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: %s ENDPOINT BUCKET DIR COUNT SIZE_MB [WORKERS]\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[3];
  const int count = std::atoi(argv[4]);
  const double size_mb = std::atof(argv[5]);
  const int workers = argc > 6 ? std::atoi(argv[6]) : 4;
  const auto size = static_cast<std::size_t>(size_mb * 1e6);
  std::filesystem::create_directories(dir);
  // One file of random bytes serves as every segment (the archiver reads it each time).
  const std::string file = dir + "/segment.m4s";
  const std::string init = dir + "/init.mp4";
  {
    std::mt19937 rng(1);
    std::string bytes(size, '\0');
    for (auto& c : bytes) c = static_cast<char>(rng());
    std::ofstream(file, std::ios::binary) << bytes;
    std::ofstream(init, std::ios::binary) << std::string(1200, 'i');
  }

  mirror::storage::s3::ArchiverSettings settings;
  settings.s3.endpoint = argv[1];
  settings.s3.bucket = argv[2];
  settings.s3.access_key_id = "S3RVER";
  settings.s3.secret_access_key = "S3RVER";
  settings.workers = workers;
  std::mutex m;
  std::condition_variable done_cv;
  int done = 0;
  mirror::storage::s3::Archiver archiver(settings, [&](mirror::storage::ArchiveReport r) {
    if (r.kind != mirror::storage::ArchiveReport::Kind::kUploaded) return;
    std::lock_guard lock(m);
    done += static_cast<int>(r.segments.size());
    done_cv.notify_all();
  });
  archiver.start();
  const double cpu0 = process_cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  int offered = 0;
  while (offered < count) {
    // As the writer does: as many as the archiver has room for.
    for (std::size_t room = archiver.room(); room > 0 && offered < count; --room, ++offered) {
      mirror::storage::SegmentRecord r;
      r.key = {fmt::format("cam{}", offered % 25), "source", 1, offered};
      r.init_version = 0;
      r.program_date_time_ms = 1'796'000'000'000 + offered * 2000LL;
      r.duration_us = 2'000'000;
      r.size_bytes = static_cast<std::int64_t>(size);
      archiver.offer(std::move(r), file, init);
    }
    std::unique_lock lock(m);
    done_cv.wait_for(lock, std::chrono::milliseconds(50));
  }
  {
    std::unique_lock lock(m);
    done_cv.wait(lock, [&] { return done >= count; });
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = process_cpu_seconds() - cpu0;
  const auto stats = archiver.stats();
  archiver.stop();
  const double bytes = static_cast<double>(stats.bytes_uploaded);
  const double gib = bytes / (1024.0 * 1024.0 * 1024.0);
  const double mb_per_s = bytes / 1e6 / seconds;
  std::printf(
      "s3_upload segments=%d segment_mb=%.1f workers=%d bytes=%.0f seconds=%.2f mb_per_s=%.1f vs_25x50M=%.2f "
      "worker_cpu_s_per_gib=%.2f process_cpu_s_per_gib=%.2f failures=%llu\n",
      count, size_mb, workers, bytes, seconds, mb_per_s, mb_per_s / (25 * 50e6 / 8 / 1e6), stats.cpu_seconds / gib,
      cpu / gib, static_cast<unsigned long long>(stats.failures));
  std::filesystem::remove(file);
  std::filesystem::remove(init);
  return 0;
}
