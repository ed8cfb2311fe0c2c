// Test support: the corpus of real-world sources (B-frames, open GOPs, NTSC
// rates, dropped frames, a clock about to wrap, audio-only, an audio gap),
// made with ffmpeg at test time in any length and cached in the build
// folder. Every source with video and audio carries sync marks: a white box
// in the top-left corner on the first picture of each second and a 1 kHz
// beep for the first 100 ms of each second, so that the A/V offset of what
// Mirror delivers can be compared with the source's.
#pragma once

#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

namespace mirror::testing {

struct CorpusSource {
  std::string name;
  std::string video;  // "h264", "hevc", or empty for an audio-only source
  double frame_rate = 0;  // of the video
  bool audio = true;
  // ffmpeg arguments with {T} for the length in seconds, {AUDIO} for the
  // beeping audio input and {MARK} for the filters that draw the box.
  std::string args;
  std::vector<std::string> sender_input;  // sender options before -i
  // Checker rules the source itself breaks (see docs/PACKAGING.md), if any.
  std::set<std::string> source_faults = {};
};

// For test names: the source's name.
void PrintTo(const CorpusSource& source, std::ostream* os);

// Every source of the corpus.
const std::vector<CorpusSource>& corpus();

// The source's file, `seconds` long (made on first use); empty when ffmpeg
// fails or is missing.
std::string corpus_file(const CorpusSource& source, int seconds);

// Sources that need more than one real-time pass to show what they are:
// H.264 with intra refresh (x264 intra-refresh=1: one IDR, then a refresh
// wave every 30 frames announced by a recovery point SEI), and four seconds
// of H.264 High with 3 B-frames and b-pyramid, 25 fps, GOP 50, no audio, to
// be looped with -stream_loop -1 (its seams fall inside a GOP and its decode
// times jump there).
std::string intra_refresh_file(int seconds);
std::string loop_file();

// ffmpeg arguments that send a file's streams as they are (-c copy) to
// Mirror's SRT listener as stream `name`; `input` are the options up to and
// including "-i FILE" (e.g. -re, -stream_loop -1).
std::vector<std::string> srt_copy_sender(const std::vector<std::string>& input, int srt_port,
                                         const std::string& name);

// Where the sync marks are in a file, in its own timestamps (seconds): the
// pictures with the white box, and the starts of the beeps. `video` and
// `audio` may be the same file (a source), or an fMP4 of each (init segment
// plus segments, as Mirror serves them).
struct SyncMarks {
  std::vector<double> flashes;
  std::vector<double> beeps;
};
SyncMarks sync_marks(const std::string& video, const std::string& audio);

// The median of (flash - nearest beep) over the marks that have a beep
// within half a second; nullopt when no pair is found.
std::optional<double> av_offset(const SyncMarks& marks);

}  // namespace mirror::testing
