// LL-HLS packaging cost, as a ratio against ffmpeg on the same file in the
// same run:
//   hls_package_vs_ffmpeg file=... bytes=... parts=... mirror_cpu_s=... ffmpeg_cpu_s=...
//   mirror_cpu_s_per_gb=... ffmpeg_cpu_s_per_gb=... ratio=X.X
// Mirror: the file through TsIngest in 1316-byte chunks (what SRT delivers),
// every frame through a StreamPackager into its PartStores (100 ms parts,
// 500 ms segments, the default window), as the server does. ffmpeg:
// `ffmpeg -i FILE -c copy -f hls -hls_segment_type fmp4 -hls_time 0.5` into a
// RAM-backed folder. ratio = ffmpeg CPU / Mirror CPU (higher is better).
// The packager's own share is this minus bench_ts_ingest's figure (the same
// path without packaging).
// Usage: bench_hls_package FILE [repeat]
#include "cpu_time.h"
#include "core/logging.h"
#include "ingest/live_stream.h"
#include "ingest/ts_ingest.h"
#include "package/hls/stream_packager.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace {

double ffmpeg_cpu(const std::string& file) {
  const std::string dir = (std::filesystem::exists("/dev/shm") ? std::string("/dev/shm") : std::string("/tmp")) +
                          "/mirror-bench-hls-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  const std::string cmd = "ffmpeg -hide_banner -loglevel error -y -i '" + file +
                          "' -c copy -bsf:a aac_adtstoasc -f hls -hls_segment_type fmp4 -hls_time 0.5 -hls_list_size 20 "
                          "-hls_flags delete_segments '" + dir + "/index.m3u8'";
  const double cpu = mirror::bench::command_cpu_seconds(cmd);
  std::filesystem::remove_all(dir);
  return cpu;
}

mirror::package::hls::PackagerSettings settings() {
  mirror::package::hls::PackagerSettings s;
  s.part_duration = std::chrono::milliseconds{100};
  s.segment_length = std::chrono::milliseconds{500};
  s.playlist_segments = 20;
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FILE.ts [repeat]\n", argv[0]);
    return 2;
  }
  const std::string file = argv[1];
  const int repeat = argc > 2 ? std::atoi(argv[2]) : 3;
  mirror::core::log::init({mirror::core::log::Level::kError, false, nullptr});
  std::ifstream in(file, std::ios::binary);
  std::vector<std::uint8_t> data((std::istreambuf_iterator<char>(in)), {});
  if (data.empty()) {
    std::fprintf(stderr, "cannot read %s\n", file.c_str());
    return 1;
  }
  double best_mirror = 1e9, best_ffmpeg = 1e9;
  std::uint64_t parts = 0;
  for (int r = 0; r < repeat; ++r) {
    // Whole path: TS bytes in, parts in memory.
    {
      auto stream = std::make_shared<mirror::ingest::LiveStream>("bench", "srt");
      auto sub = stream->hub().subscribe("hls", 1 << 16);
      mirror::package::hls::StreamPackager packager("bench", settings());
      const double t0 = mirror::bench::cpu_seconds(RUSAGE_SELF);
      {
        mirror::ingest::TsIngest ingest(stream);
        const auto now = std::chrono::system_clock::now();
        for (std::size_t i = 0; i < data.size(); i += 1316) {
          const std::size_t n = std::min<std::size_t>(1316, data.size() - i);
          ingest.push(std::span<const std::uint8_t>(data.data() + i, n), now);
          bool any = false;
          while (auto f = sub->pop()) {
            packager.on_frame(*f);
            any = true;
          }
          if (any) packager.flush();
        }
        ingest.finish();
        while (auto f = sub->pop()) packager.on_frame(*f);
        packager.end();
      }
      best_mirror = std::min(best_mirror, mirror::bench::cpu_seconds(RUSAGE_SELF) - t0);
      const double secs = packager.store(mirror::package::hls::kVideoRendition)->published_seconds();
      parts = static_cast<std::uint64_t>(secs / 0.1 + 0.5);
    }
    best_ffmpeg = std::min(best_ffmpeg, ffmpeg_cpu(file));
  }
  const double gb = data.size() / 1e9;
  std::printf(
      "hls_package_vs_ffmpeg file=%s bytes=%zu video_parts=%llu mirror_cpu_s=%.3f ffmpeg_cpu_s=%.3f "
      "mirror_cpu_s_per_gb=%.3f ffmpeg_cpu_s_per_gb=%.3f ratio=%.1f\n",
      file.c_str(), data.size(), static_cast<unsigned long long>(parts), best_mirror, best_ffmpeg,
      best_mirror / gb, best_ffmpeg / gb, best_ffmpeg / best_mirror);
  return 0;
}
