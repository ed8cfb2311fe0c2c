#include "unit/media/media_fixtures.h"

#include "support/process.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace mirror::media::testing {

namespace fs = std::filesystem;

namespace {

fs::path fixture_dir() {
  if (const char* dir = std::getenv("MIRROR_FIXTURE_DIR"); dir != nullptr && *dir != '\0')
    return dir;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) return exe.parent_path() / "mirror-fixtures";
  const char* tmp = std::getenv("TMPDIR");
  return fs::path(tmp != nullptr ? tmp : "/tmp") / "mirror-fixtures";
}

struct Recipe {
  const char* name;
  std::vector<std::string> args;  // between the input and the output path
};

Recipe recipe(Fixture fixture) {
  const std::vector<std::string> quiet = {"-hide_banner", "-loglevel", "error", "-nostdin", "-y"};
  auto with = [&](std::vector<std::string> args) {
    std::vector<std::string> all = quiet;
    all.insert(all.end(), args.begin(), args.end());
    return all;
  };
  switch (fixture) {
    case Fixture::kH264:
      return {"h264-720p30.h264",
              with({"-f",       "lavfi",    "-i",     "testsrc2=size=1280x720:rate=30",
                    "-t",       "1",        "-c:v",   "libx264",
                    "-preset",  "veryfast", "-crf",   "35",
                    "-g",       "12",       "-bf",    "2",
                    "-pix_fmt", "yuv420p",  "-bsf:v", "h264_mp4toannexb",
                    "-f",       "h264"})};
    case Fixture::kH264Slices:
      return {"h264-360p25-slices.h264",
              with({"-f",       "lavfi",    "-i",           "testsrc2=size=640x360:rate=25",
                    "-t",       "1",        "-c:v",         "libx264",
                    "-preset",  "veryfast", "-crf",         "35",
                    "-g",       "10",       "-x264-params", "slices=4:aud=1",
                    "-pix_fmt", "yuv420p",  "-bsf:v",       "h264_mp4toannexb",
                    "-f",       "h264"})};
    case Fixture::kHevc:
      return {"hevc-1080p50.hevc", with({"-f",           "lavfi",
                                         "-i",           "testsrc2=size=1920x1080:rate=50",
                                         "-t",           "1",
                                         "-c:v",         "libx265",
                                         "-preset",      "ultrafast",
                                         "-crf",         "35",
                                         "-g",           "25",
                                         "-pix_fmt",     "yuv420p",
                                         "-x265-params", "log-level=error",
                                         "-f",           "hevc"})};
    case Fixture::kAac:
      return {"aac-48k-stereo.aac",
              with({"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "1", "-ac",
                    "2", "-c:a", "aac", "-b:a", "96k", "-f", "adts"})};
  }
  return {"", {}};
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

}  // namespace

bool have_ffmpeg() {
  return access(kFfmpeg, X_OK) == 0 && access(kFfprobe, X_OK) == 0;
}

std::string fixture_path(Fixture fixture) {
  const Recipe r = recipe(fixture);
  const fs::path dir = fixture_dir();
  const fs::path path = dir / r.name;
  std::error_code ec;
  if (fs::exists(path, ec) && fs::file_size(path, ec) > 0) return path.string();
  fs::create_directories(dir, ec);
  // Several test processes may race to make the same file: each writes its
  // own temporary and renames it into place.
  const fs::path tmp = dir / (std::string(r.name) + ".tmp" + std::to_string(getpid()) +
                              fs::path(r.name).extension().string());
  std::vector<std::string> argv = {kFfmpeg};
  argv.insert(argv.end(), r.args.begin(), r.args.end());
  argv.push_back(tmp.string());
  const auto result = mirror::testing::run(argv, {}, {}, std::chrono::seconds(120));
  if (result.status != 0) {
    ADD_FAILURE() << "ffmpeg failed (" << result.status << "): " << result.err;
    fs::remove(tmp, ec);
    return "";
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    ADD_FAILURE() << "cannot move fixture into place: " << ec.message();
    return "";
  }
  return path.string();
}

Bytes read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

std::map<std::string, std::string> probe_stream(const std::string& path, bool count_frames) {
  std::vector<std::string> argv = {kFfprobe, "-v", "error", "-select_streams", "0"};
  if (count_frames) {
    argv.push_back("-count_frames");
    argv.push_back("-count_packets");
  }
  argv.insert(argv.end(), {"-show_entries",
                           "stream=codec_name,profile,level,width,height,r_frame_rate,sample_rate,"
                           "channels,nb_read_frames,nb_read_packets",
                           "-of", "default=noprint_wrappers=1", path});
  const auto result = mirror::testing::run(argv, {}, {}, std::chrono::seconds(120));
  EXPECT_EQ(result.status, 0) << result.err;
  std::map<std::string, std::string> out;
  for (const auto& line : lines(result.out)) {
    const auto eq = line.find('=');
    if (eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return out;
}

std::vector<std::string> probe_packet_flags(const std::string& path) {
  const auto result =
      mirror::testing::run({kFfprobe, "-v", "error", "-select_streams", "0", "-show_entries",
                            "packet=flags", "-of", "csv=p=0", path},
                           {}, {}, std::chrono::seconds(120));
  EXPECT_EQ(result.status, 0) << result.err;
  return lines(result.out);
}

std::vector<int> probe_frame_keyflags(const std::string& path) {
  const auto result =
      mirror::testing::run({kFfprobe, "-v", "error", "-select_streams", "0", "-show_entries",
                            "frame=key_frame", "-of", "csv=p=0", path},
                           {}, {}, std::chrono::seconds(120));
  EXPECT_EQ(result.status, 0) << result.err;
  std::vector<int> out;
  for (const auto& line : lines(result.out)) out.push_back(line.rfind('1', 0) == 0 ? 1 : 0);
  return out;
}

}  // namespace mirror::media::testing
