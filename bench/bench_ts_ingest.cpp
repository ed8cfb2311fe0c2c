// TS demux + access-unit assembly cost, as a ratio against ffmpeg on the same
// file in the same run:
//   ts_ingest_vs_ffmpeg file=... bytes=... mirror_cpu_s=... ffmpeg_cpu_s=...
//   mirror_cpu_s_per_gb=... ffmpeg_cpu_s_per_gb=... ratio=X.X
// ratio = ffmpeg CPU / Mirror CPU (higher is better). Mirror feeds the file
// through TsIngest in 1316-byte chunks (what SRT delivers) and publishes every
// frame to a StreamHub; ffmpeg runs `ffmpeg -i FILE -c copy -f null -`.
// Usage: bench_ts_ingest FILE [repeat]
#include "cpu_time.h"
#include "core/logging.h"
#include "ingest/live_stream.h"
#include "ingest/ts_ingest.h"

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace {

double ffmpeg_cpu(const std::string& file) {
  return mirror::bench::command_cpu_seconds("ffmpeg -hide_banner -loglevel error -i '" + file +
                                            "' -c copy -f null -");
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
  std::uint64_t frames = 0;
  for (int r = 0; r < repeat; ++r) {
    auto stream = std::make_shared<mirror::ingest::LiveStream>("bench", "srt");
    auto sub = stream->hub().subscribe("consumer", 1 << 16);
    const double t0 = mirror::bench::cpu_seconds(RUSAGE_SELF);
    {
      mirror::ingest::TsIngest ingest(stream);
      const auto now = std::chrono::system_clock::now();
      for (std::size_t i = 0; i < data.size(); i += 1316) {
        const std::size_t n = std::min<std::size_t>(1316, data.size() - i);
        ingest.push(std::span<const std::uint8_t>(data.data() + i, n), now);
        while (sub->pop()) {
        }
      }
      ingest.finish();
      while (sub->pop()) {
      }
    }
    best_mirror = std::min(best_mirror, mirror::bench::cpu_seconds(RUSAGE_SELF) - t0);
    frames = stream->video_frames() + stream->audio_frames();
    best_ffmpeg = std::min(best_ffmpeg, ffmpeg_cpu(file));
  }
  const double gb = data.size() / 1e9;
  std::printf(
      "ts_ingest_vs_ffmpeg file=%s bytes=%zu frames=%llu mirror_cpu_s=%.3f ffmpeg_cpu_s=%.3f "
      "mirror_cpu_s_per_gb=%.3f ffmpeg_cpu_s_per_gb=%.3f ratio=%.1f\n",
      file.c_str(), data.size(), static_cast<unsigned long long>(frames), best_mirror, best_ffmpeg,
      best_mirror / gb, best_ffmpeg / gb, best_ffmpeg / best_mirror);
  return 0;
}
