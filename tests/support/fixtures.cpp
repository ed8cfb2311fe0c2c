#include "support/fixtures.h"

#include "support/process.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>

namespace mirror::testing {

namespace fs = std::filesystem;

std::string fixture_dir() {
#ifdef MIRROR_TEST_FIXTURE_DIR
  std::string dir = MIRROR_TEST_FIXTURE_DIR;
#else
  std::string dir =
      (std::getenv("TMPDIR") ? std::string(std::getenv("TMPDIR")) : "/tmp") + "/mirror-fixtures";
#endif
  fs::create_directories(dir);
  return dir;
}

std::string fixture(const std::string& name, const std::string& ffmpeg_args) {
  const std::string path = fixture_dir() + "/" + name;
  if (fs::exists(path)) return path;
  if (!fs::exists("/usr/bin/ffmpeg")) return {};
  const std::string tmp = path + ".tmp" + std::to_string(getpid());
  const auto r =
      run({"/bin/sh", "-c", "ffmpeg -y -hide_banner -loglevel error " + ffmpeg_args + " " + tmp},
          {}, {}, std::chrono::minutes(5));
  if (r.status != 0) {
    fs::remove(tmp);
    return {};
  }
  fs::rename(tmp, path);
  return path;
}

std::string h264_aac_720p30_ts() {
  return fixture("h264_aac_720p30.ts",
                 "-f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi "
                 "-i sine=frequency=440:sample_rate=48000 -t 4 -c:v libx264 -preset veryfast "
                 "-tune zerolatency -g 30 -pix_fmt yuv420p -threads 1 -c:a aac -ac 2 -b:a 128k "
                 "-f mpegts");
}

std::string hevc_aac_360p25_ts() {
  return fixture("hevc_aac_360p25.ts",
                 "-f lavfi -i testsrc2=size=640x360:rate=25 -f lavfi "
                 "-i sine=frequency=440:sample_rate=48000 -t 3 -c:v libx265 -preset ultrafast "
                 "-x265-params keyint=25:min-keyint=25:log-level=error -pix_fmt yuv420p "
                 "-c:a aac -ac 2 -f mpegts");
}

ProbeCounts probe(const std::string& file, const std::string& stream) {
  ProbeCounts c;
  auto r = run({"/usr/bin/ffprobe", "-v", "error", "-select_streams", stream, "-show_entries",
                "packet=pts_time,flags", "-of", "csv=p=0", file});
  std::istringstream in(r.out);
  std::string line;
  bool first = true;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    ++c.packets;
    auto comma = line.find(',');
    if (first) {
      c.first_pts = std::atof(line.substr(0, comma).c_str());
      first = false;
    }
    if (comma != std::string::npos && line.find('K', comma) != std::string::npos) ++c.keyframes;
  }
  return c;
}

std::vector<std::string> live_srt_sender(int srt_port, const std::string& stream) {
  return live_srt_sender(srt_port, stream, "30",
                         {"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g",
                          "30", "-sc_threshold", "0"});
}

std::vector<std::string> live_srt_sender(int srt_port, const std::string& stream,
                                         const std::string& rate,
                                         const std::vector<std::string>& video) {
  std::vector<std::string> argv = {"/usr/bin/ffmpeg",
                                   "-hide_banner",
                                   "-loglevel",
                                   "error",
                                   "-re",
                                   "-f",
                                   "lavfi",
                                   "-i",
                                   "testsrc2=size=640x360:rate=" + rate,
                                   "-f",
                                   "lavfi",
                                   "-i",
                                   "sine=frequency=440:sample_rate=48000"};
  argv.insert(argv.end(), video.begin(), video.end());
  for (const char* arg : {"-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-pes_payload_size",
                          "0", "-f", "mpegts"}) {
    argv.emplace_back(arg);
  }
  argv.push_back("srt://127.0.0.1:" + std::to_string(srt_port) +
                 "?mode=caller&pkt_size=1316&streamid=" + stream);
  return argv;
}

}  // namespace mirror::testing
