// StreamPackager: the LL-HLS packaging of one feed of a live stream: its
// source, or one of its transcoded renditions. Frames come in decode order
// from the feed's hub; video and audio become two CMAF renditions (named
// "source" and "audio" for the source), each with its PartStore. A
// Presentation gathers a stream's packagers under one multivariant playlist.
//
// Where things are cut:
// - video segments start on keyframes and last at least segment_length (a
//   GOP when the GOP is longer); video parts last about part_duration (a
//   whole number of frames), and a keyframe always starts a new part;
// - a part is published the moment its last frame is in: the packager knows
//   the frame duration, so it does not wait for the next frame. It also
//   predicts, from the GOP cadence, whether the next frame is a keyframe, so
//   a segment ends with its last part instead of one frame later;
// - audio follows the video's part and segment boundaries (the same instants
//   of the stream's clock), so that segment n of both renditions covers the
//   same media; a stream without video cuts audio on its own grid;
// - a codec change or an ingest discontinuity ends the segment; the next
//   begins with a new init segment and EXT-X-DISCONTINUITY.
// EXT-X-PROGRAM-DATE-TIME maps the stream clock to the wall clock at which
// the first frame (after each discontinuity) reached the ingest.
//
// Threads: on_frame/flush/end from the stream's packaging thread; the
// accessors from any thread.
#pragma once

#include "core/metrics.h"
#include "media/media_frame.h"
#include "package/hls/part_store.h"
#include "package/hls/track_packager.h"

#include <chrono>
#include <cstdint>
#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace mirror::package::hls {

struct PackagerSettings {
  std::chrono::nanoseconds part_duration = std::chrono::milliseconds{100};
  std::chrono::nanoseconds segment_length = std::chrono::milliseconds{500};
  int playlist_segments = 20;
  std::int64_t first_msn = -1;  // -1: from the creation time (see PlaylistSettings)
  // See TrackPackager::set_publish_delay; one per track kind.
  core::Histogram* video_publish_delay = nullptr;
  core::Histogram* audio_publish_delay = nullptr;
};

inline constexpr const char* kVideoRendition = "source";
inline constexpr const char* kAudioRendition = "audio";

// The folder names of a packager's two renditions in playback URLs.
struct RenditionNames {
  std::string video = kVideoRendition;
  std::string audio = kAudioRendition;
};

class StreamPackager {
 public:
  StreamPackager(std::string stream, PackagerSettings settings, RenditionNames names = {});
  ~StreamPackager();

  const std::string& stream() const { return stream_; }
  const RenditionNames& names() const { return names_; }

  // ---- packaging thread ----
  void on_frame(const media::MediaFrame& frame);
  // The queue is drained for now: write what is gathered as chunks, so that
  // readers of the part being written get it without waiting for more.
  void flush();
  // The stream ended: complete what can be and end the playlists.
  void end();

  // ---- any thread ----
  // The rendition's store, or null for an unknown name.
  std::shared_ptr<PartStore> store(std::string_view rendition) const;
  std::shared_ptr<PartStore> video_store() const { return video_store_; }
  std::shared_ptr<PartStore> audio_store() const { return audio_store_; }
  // True once every track that has media has a complete segment.
  bool ready() const;
  bool ended() const;
  // Codecs and sizes for listings.
  struct Summary {
    bool has_video = false;
    bool has_audio = false;
    std::string video_codec, audio_codec;
    int width = 0, height = 0;
    double frame_rate = 0;
    int sample_rate = 0, channels = 0;
  };
  Summary summary() const;
  // Frames that could not be packaged (before the first keyframe, unusable
  // configuration), for metrics.
  std::uint64_t skipped_frames() const { return skipped_.load(std::memory_order_relaxed); }
  // Timeline breaks the source did not flag, handled as discontinuities.
  std::uint64_t timeline_jumps() const { return timeline_jumps_.load(std::memory_order_relaxed); }

 private:
  struct Boundary {
    std::int64_t time90k = 0;  // stream clock, 90 kHz
    bool ends_segment = false;
  };

  bool timeline_jump(const media::MediaFrame& frame);
  void on_video(const media::MediaFrame& frame);
  void on_audio(const media::MediaFrame& frame);
  // Places pending audio frames into parts, cutting where the video cut.
  void advance_audio();
  // Places every pending audio frame and ends the audio segment.
  void flush_audio_to_end();
  void set_audio_targets();
  void cut_video(bool end_segment, bool next_starts_segment);
  std::chrono::system_clock::time_point wall_clock_at(std::int64_t time90k) const;
  void anchor(const media::MediaFrame& frame, std::int64_t time90k);
  std::vector<RenditionReport> reports_for(const PartStore* self) const;

  const std::string stream_;
  const PackagerSettings settings_;
  const RenditionNames names_;
  std::shared_ptr<PartStore> video_store_;
  std::shared_ptr<PartStore> audio_store_;
  TrackPackager video_;
  TrackPackager audio_;

  // Stream clock to wall clock.
  bool anchored_ = false;
  std::int64_t anchor_time90k_ = 0;
  std::chrono::system_clock::time_point anchor_wall_{};

  // Video state (90 kHz or the track's timescale).
  bool video_seen_ = false;
  bool video_discontinuity_ = false;
  std::int64_t frame_duration_ = 0;   // expected duration of one frame
  std::int64_t last_video_dts_ = 0;
  bool have_last_video_dts_ = false;
  std::int64_t last_keyframe_dts_ = -1;
  std::int64_t gop_ = 0;              // keyframe interval, once two were seen
  bool segment_closed_early_ = false;  // closed on a predicted keyframe
  std::int64_t part_target_ticks_ = 0;  // a whole number of frames
  std::int64_t first_video_start90k_ = -1;

  // Audio state.
  std::deque<Boundary> boundaries_;   // video cuts the audio has not reached yet
  std::deque<media::MediaFrame> audio_pending_;
  bool audio_only_ = false;
  bool audio_discontinuity_ = false;
  bool audio_wait_for_video_ = true;   // false while flushing before a break
  std::int64_t first_audio_time90k_ = -1;
  std::int64_t audio_frame_ticks_ = 1024;
  std::int64_t audio_part_ticks_ = 0;  // audio-only streams
  bool audio_targets_set_ = false;

  mutable std::mutex summary_mutex_;
  Summary summary_;
  std::atomic<bool> ended_{false};
  std::atomic<std::uint64_t> skipped_{0};
  std::atomic<std::uint64_t> timeline_jumps_{0};
  std::optional<std::int64_t> last_video_time_;
  std::optional<std::int64_t> last_audio_time_;
};

}  // namespace mirror::package::hls
