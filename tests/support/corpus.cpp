#include "support/corpus.h"

#include "support/fixtures.h"
#include "support/process.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace mirror::testing {
namespace {

namespace fs = std::filesystem;

// A 1 kHz beep for the first 100 ms of every second, silence in between.
constexpr const char* kAudio =
    R"(-f lavfi -i 'aevalsrc=exprs=if(lt(mod(t\,1)\,0.1)\,0.5*sin(2*PI*1000*t)\,0):s=48000:c=stereo')";
// A black box in the top-left corner, white on the first picture of each
// second (a picture that starts within 33.3 ms after it).
constexpr const char* kMark =
    R"(drawbox=x=0:y=0:w=96:h=96:color=black:t=fill,drawbox=x=0:y=0:w=96:h=96:color=white:t=fill:enable=lt(mod(t\,1)\,0.0333))";
constexpr const char* kAac = "-c:a aac -ac 2 -b:a 96k";

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
}

std::vector<CorpusSource> make_corpus() {
  const std::string aac = kAac;
  const std::string x264 = "-c:v libx264 -preset veryfast -pix_fmt yuv420p -threads 1 ";
  const std::string testsrc = "-f lavfi -i testsrc2=size=640x360:rate=";
  return {
      {"h264-bpyramid", "h264", 30, true,
       testsrc + "30 {AUDIO} -t {T} -vf '{MARK}' " + x264 +
           "-profile:v high -bf 3 -x264-params b-pyramid=normal:keyint=30:min-keyint=30:scenecut=0 " + aac},
      {"h264-scenecuts", "h264", 30, true,
       "-f lavfi -i testsrc2=size=640x360:rate=30:duration=2.3 -f lavfi -i smptebars=size=640x360:rate=30:duration=1.7 "
       "-f lavfi -i rgbtestsrc=size=640x360:rate=30:duration=2.9 -f lavfi -i testsrc=size=640x360:rate=30:duration=1.3 "
       "-f lavfi -i mandelbrot=size=640x360:rate=30:end_scale=0.5 {AUDIO} "
       "-filter_complex '[0:v][1:v][2:v][3:v][4:v]concat=n=5:v=1,{MARK}[v]' -map '[v]' -map 5:a -t {T} " +
           x264 + "-bf 2 -x264-params keyint=60:min-keyint=5 " + aac},
      {"hevc-open-gop", "hevc", 25, true,
       testsrc + "25 {AUDIO} -t {T} -vf '{MARK}' -c:v libx265 -preset ultrafast "
                 "-x265-params keyint=50:open-gop=1:bframes=4:log-level=error -pix_fmt yuv420p " + aac},
      {"hevc-closed-gop", "hevc", 25, true,
       testsrc + "25 {AUDIO} -t {T} -vf '{MARK}' -c:v libx265 -preset ultrafast "
                 "-x265-params keyint=25:open-gop=0:bframes=3:log-level=error -pix_fmt yuv420p " + aac},
      {"ntsc-2997", "h264", 30000.0 / 1001, true, testsrc + "30000/1001 {AUDIO} -t {T} -vf '{MARK}' " + x264 + "-bf 3 -g 30 " + aac},
      {"ntsc-5994", "h264", 60000.0 / 1001, true, testsrc + "60000/1001 {AUDIO} -t {T} -vf '{MARK}' " + x264 + "-bf 3 -g 60 " + aac},
      // Frames dropped at random.
      {"variable-rate", "h264", 30, true,
       testsrc + "30 {AUDIO} -t {T} "
                 R"(-vf 'select=not(eq(mod(n\,7)\,3))*not(eq(mod(n\,11)\,5)),{MARK}' -fps_mode vfr )" + x264 +
           "-bf 2 -g 30 " + aac,
       {},
       // A frame after a dropped one lasts two. Where it would overfill a
       // short part it completes it and the rest of its step stays a hole
       // (the timeline and the dates show it); where that would cut its
       // step below half (which browsers take for a discontinuity) the part
       // ends short of 85 % instead (hls-parser's strict mode says so too).
       {"part-duration-min", "parse-strict", "media-timeline", "program-date-time"}},
      // Timestamps that start 5 s before the 2^33 wrap of the 90 kHz clock.
      {"clock-wrap", "h264", 30, true,
       testsrc + "30 {AUDIO} -t {T} -vf '{MARK}' " + x264 + "-bf 2 -g 30 " + aac + " -output_ts_offset 95438.7"},
      {"audio-only", "", 0, true, "{AUDIO} -t {T} " + aac},
      // The audio encoder falls silent (no packets at all) from 4 s to 7 s.
      {"audio-gap", "h264", 30, true,
       testsrc + "30 {AUDIO} -t {T} -vf '{MARK}' " + R"(-af 'aselect=not(between(t\,4\,7))' )" + x264 +
           "-bf 2 -g 30 " + aac},
  };
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

}  // namespace

void PrintTo(const CorpusSource& source, std::ostream* os) { *os << source.name; }

const std::vector<CorpusSource>& corpus() {
  static const std::vector<CorpusSource> sources = make_corpus();
  return sources;
}

std::string corpus_file(const CorpusSource& source, int seconds) {
  std::string args = source.args;
  replace_all(args, "{T}", std::to_string(seconds));
  replace_all(args, "{AUDIO}", kAudio);
  replace_all(args, "{MARK}", kMark);
  return fixture("corpus-" + source.name + "-" + std::to_string(seconds) + "s.ts", args + " -f mpegts");
}

std::string intra_refresh_file(int seconds) {
  return fixture("corpus-intra-refresh-" + std::to_string(seconds) + "s.ts",
                 "-f lavfi -i testsrc2=size=640x360:rate=30 " + std::string(kAudio) + " -t " +
                     std::to_string(seconds) +
                     " -c:v libx264 -preset veryfast -x264-params keyint=30:intra-refresh=1 -pix_fmt yuv420p "
                     "-threads 1 " + kAac + " -f mpegts");
}

std::string loop_file() {
  return fixture("corpus-loop-4s.ts",
                 "-f lavfi -i testsrc2=size=640x360:rate=25 -t 4 -c:v libx264 -preset veryfast "
                 "-profile:v high -bf 3 -b_strategy 0 -x264-params b-pyramid=normal -g 50 "
                 "-pix_fmt yuv420p -threads 1 -f mpegts");
}

std::vector<std::string> srt_copy_sender(const std::vector<std::string>& input, int srt_port,
                                         const std::string& name) {
  std::vector<std::string> argv = {"/usr/bin/ffmpeg", "-hide_banner", "-loglevel", "error"};
  argv.insert(argv.end(), input.begin(), input.end());
  // An encoder sends each frame as it is made: ffmpeg's muxer holds the
  // other streams' packets while one has none (an audio gap) unless told
  // not to wait.
  for (const char* a : {"-c", "copy", "-max_interleave_delta", "100000", "-f", "mpegts"}) argv.emplace_back(a);
  argv.push_back("srt://127.0.0.1:" + std::to_string(srt_port) + "?mode=caller&pkt_size=1316&streamid=" + name);
  return argv;
}

SyncMarks sync_marks(const std::string& video, const std::string& audio) {
  SyncMarks marks;
  const std::string dir = make_temp_dir("mirror-sync");
  const std::string stats = dir + "/luma.txt";
  // The box's mean luma per picture, with each picture's own time.
  run({"/usr/bin/ffmpeg", "-hide_banner", "-nostats", "-copyts", "-i", video, "-map", "0:v:0", "-vf",
       "crop=96:96:0:0,signalstats,metadata=print:key=lavfi.signalstats.YAVG:file=" + stats, "-f", "null", "-"},
      {}, {}, std::chrono::seconds(120));
  double pts = 0;
  for (const auto& line : lines_of(read_file(stats))) {
    if (const auto at = line.find("pts_time:"); at != std::string::npos) {
      pts = std::atof(line.c_str() + at + 9);
    } else if (const auto v = line.find("YAVG="); v != std::string::npos) {
      if (std::atof(line.c_str() + v + 5) > 128) marks.flashes.push_back(pts);
    }
  }
  // The end of each silence is the start of a beep.
  const auto r = run({"/usr/bin/ffmpeg", "-hide_banner", "-nostats", "-copyts", "-i", audio, "-map", "0:a:0",
                      "-af", "silencedetect=n=-30dB:d=0.05", "-f", "null", "-"},
                     {}, {}, std::chrono::seconds(120));
  for (const auto& line : lines_of(r.err)) {
    if (const auto at = line.find("silence_end: "); at != std::string::npos) {
      marks.beeps.push_back(std::atof(line.c_str() + at + 13));
    }
  }
  fs::remove_all(dir);
  return marks;
}

std::optional<double> av_offset(const SyncMarks& marks) {
  std::vector<double> offsets;
  for (double flash : marks.flashes) {
    double best = 1e9;
    for (double beep : marks.beeps) {
      if (std::abs(flash - beep) < std::abs(best)) best = flash - beep;
    }
    if (std::abs(best) < 0.5) offsets.push_back(best);
  }
  if (offsets.empty()) return std::nullopt;
  std::nth_element(offsets.begin(), offsets.begin() + static_cast<std::ptrdiff_t>(offsets.size() / 2), offsets.end());
  return offsets[offsets.size() / 2];
}

}  // namespace mirror::testing
