// libFuzzer target for the LL-HLS packager fed hostile frames: timestamps
// that jump, stall or go back, keyframes anywhere, discontinuities, codec
// changes, empty payloads. Each 8 input bytes make one frame. Checks, besides
// the sanitizers: the packager never stalls the caller, and every playlist it
// writes stays sane (no negative or absurd durations, parts no longer than
// their segment allows, a preload hint while live, EXT-X-ENDLIST at the end).
#include "core/buffer_pool.h"
#include "package/hls/stream_packager.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>

namespace {

using namespace mirror;

void require(bool condition) {
  if (!condition) std::abort();
}

media::CodecConfigPtr video_config(std::uint8_t variant) {
  auto c = std::make_shared<media::CodecConfig>();
  c->codec = media::Codec::kH264;
  c->kind = media::TrackKind::kVideo;
  c->timescale = 90000;
  c->codec_string = "avc1.64001f";
  c->sps = {{0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0x50, 0x05, 0xbb, 0x01, 0x10, 0x00,
             0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0xc0, 0xf1, 0x83, 0x19, 0x60}};
  c->pps = {{0x68, 0xef, 0x82, 0x5c, static_cast<std::uint8_t>(0xb0 | (variant & 1))}};
  c->width = 1280;
  c->height = 720;
  c->frame_rate = (variant & 2) ? 0 : 30;
  return c;
}

media::CodecConfigPtr audio_config() {
  auto c = std::make_shared<media::CodecConfig>();
  c->codec = media::Codec::kAac;
  c->kind = media::TrackKind::kAudio;
  c->timescale = 48000;
  c->codec_string = "mp4a.40.2";
  c->audio_specific_config = {0x11, 0x90};
  c->sample_rate = 48000;
  c->channels = 2;
  return c;
}

// The packager's rules as invariants, whatever the frames: the target
// duration never changes and bounds every EXTINF (rounded), and no part is
// longer than PART-TARGET. `target` keeps the first target duration seen.
void check_playlist(const std::string& text, bool ended, int& target) {
  std::istringstream in(text);
  bool hint = false, endlist = false;
  double part_target = -1;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("#EXT-X-TARGETDURATION:", 0) == 0) {
      const int td = std::atoi(line.c_str() + 22);
      require(td >= 1);
      if (target == 0) target = td;
      require(td == target);
    } else if (line.rfind("#EXT-X-PART-INF:PART-TARGET=", 0) == 0) {
      part_target = std::strtod(line.c_str() + 28, nullptr);
    } else if (line.rfind("#EXTINF:", 0) == 0) {
      const double d = std::strtod(line.c_str() + 8, nullptr);
      require(d >= 0 && d < 3600);
      require(target == 0 || std::lround(d) <= target);
    } else if (line.rfind("#EXT-X-PART:DURATION=", 0) == 0) {
      const double d = std::strtod(line.c_str() + 21, nullptr);
      require(d >= 0 && d < 3600);
      require(part_target < 0 || d <= part_target + 1e-5);
    } else if (line.rfind("#EXT-X-PRELOAD-HINT", 0) == 0) {
      hint = true;
    } else if (line == "#EXT-X-ENDLIST") {
      endlist = true;
    }
  }
  require(!ended || endlist);
  require(ended || hint);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // A few seconds of media is enough to reach every state; longer inputs
  // only slow the search down.
  size = std::min<std::size_t>(size, 8 * 160);
  package::hls::PackagerSettings settings;
  settings.playlist_segments = 3;
  settings.first_msn = 0;
  package::hls::StreamPackager packager("fuzz", settings);
  const auto audio = audio_config();
  std::int64_t video_dts = 0, audio_pts = 0;
  int targets[2] = {0, 0};  // video, audio
  for (std::size_t i = 0; i + 8 <= size; i += 8) {
    const std::uint8_t* b = data + i;
    media::MediaFrame f;
    const bool is_audio = b[0] & 1;
    f.kind = is_audio ? media::TrackKind::kAudio : media::TrackKind::kVideo;
    f.codec = is_audio ? media::Codec::kAac : media::Codec::kH264;
    f.keyframe = is_audio || (b[0] & 2);
    f.discontinuity = (b[0] & 0x1c) == 0x1c;
    f.config = is_audio ? audio : video_config(b[0] >> 5);
    const auto step = static_cast<std::int16_t>(b[1] | (b[2] << 8));
    if (is_audio) {
      audio_pts += (b[0] & 4) ? step : 1024;
      f.pts = f.dts = audio_pts;
    } else {
      video_dts += (b[0] & 4) ? step * 16 : 3000;
      f.dts = video_dts;
      f.pts = video_dts + static_cast<std::int8_t>(b[3]) * 100;
    }
    const std::size_t payload = (b[4] | (b[5] << 8)) % 3000;
    if (payload > 0) {
      core::Buffer buf = core::BufferPool::global().acquire_owned(payload);
      f.payload = std::move(buf).share();
    }
    f.arrival = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));
    packager.on_frame(f);
    if (b[6] & 1) packager.flush();
  }
  for (const char* r : {package::hls::kVideoRendition, package::hls::kAudioRendition}) {
    auto store = packager.store(r);
    if (store->ready()) {
      check_playlist(std::string(store->playlist(false).view()), false,
                     targets[store->kind() == media::TrackKind::kAudio ? 1 : 0]);
    }
  }
  packager.end();
  for (const char* r : {package::hls::kVideoRendition, package::hls::kAudioRendition}) {
    auto store = packager.store(r);
    check_playlist(std::string(store->playlist(false).view()), true,
                   targets[store->kind() == media::TrackKind::kAudio ? 1 : 0]);
  }
  return 0;
}
