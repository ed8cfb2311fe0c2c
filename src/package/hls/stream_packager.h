// StreamPackager: the LL-HLS packaging of one feed of a live stream: its
// source, or one of its transcoded renditions. Frames come in decode order
// from the feed's hub; video and audio become two CMAF renditions (named
// "source" and "audio" for the source), each with its PartStore. A
// Presentation gathers a stream's packagers under one multivariant playlist.
//
// Where things are cut (the rules hold for every source, docs/PACKAGING.md):
// - a video segment starts on a keyframe (IDR, recovery point, IRAP) and
//   lasts at least segment_length; a source that sends none within
//   max_segment_duration has its segment cut anyway (counted), so that no
//   segment exceeds EXT-X-TARGETDURATION, which is fixed from the
//   configuration for the life of the playlist;
// - video parts are whole frames and never exceed PART-TARGET; a part that
//   is neither independent nor the last of its segment is at least 85 % of
//   it (a keyframe that comes earlier joins the open part);
// - a part is published the moment its last frame is in. The preload hint
//   then names where the next frame goes, and that promise is kept: part 0
//   of the next segment when the GOP cadence says a keyframe is next (if it
//   does not come, frames wait for the next keyframe, as they cannot be
//   decoded without the lost one), else the next part of this segment (an
//   unforeseen keyframe then opens an independent part there);
// - sample durations are the differences of decode times; the last sample
//   of a chunk, whose successor has not arrived, lasts the median of the
//   recent steps, and the next chunk's tfdt is its first frame's own decode
//   time, so an irregular source never drifts;
// - audio follows the video's part and segment boundaries (the same instants
//   of the stream's clock), so that segment n of both renditions covers the
//   same media; a stream without video cuts audio on its own grid;
// - a codec change, an ingest discontinuity or a decode-time jump beyond
//   discontinuity_threshold ends the segment; the next begins with a new
//   init segment and EXT-X-DISCONTINUITY.
// EXT-X-PROGRAM-DATE-TIME maps the stream clock to the wall clock at which
// the first frame (after each discontinuity) reached the ingest.
//
// Threads: on_frame/flush/end from the stream's packaging thread; the
// accessors from any thread.
#pragma once

#include "core/metrics.h"
#include "media/media_frame.h"
#include "media/timeline_watch.h"
#include "package/hls/part_store.h"
#include "package/hls/track_packager.h"

#include <algorithm>
#include <array>
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
  // 0: four times segment_length. Also sets EXT-X-TARGETDURATION.
  std::chrono::nanoseconds max_segment_duration{0};
  // What max_segment_duration means: the longest a segment runs without a
  // keyframe, never below segment_length. A transcoder makes its keyframes
  // at least this often, so that its renditions never need a forced cut.
  std::chrono::nanoseconds effective_max_segment_duration() const {
    const auto configured = max_segment_duration.count() > 0 ? max_segment_duration : 4 * segment_length;
    return std::max(configured, segment_length);
  }
  // A decode-time step larger than this (forward or back) is a timeline break.
  std::chrono::nanoseconds discontinuity_threshold = std::chrono::seconds{1};
  int playlist_segments = 20;
  // Segments older than the parts of the playlist leave memory (the DVR's
  // cache serves them): see PlaylistSettings::spill_old_segments.
  bool spill_old_segments = false;
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
    // Segments start on recovery points of intra refresh, not on intra
    // pictures: decoders that need an intra picture to start cannot.
    bool gradual_refresh = false;
    // A segment was cut without a keyframe (the source went longer than
    // max_segment_duration without one: a lost IDR): a player starting on
    // it cannot decode the pictures up to the next keyframe.
    bool segments_without_keyframe = false;
    int sample_rate = 0, channels = 0;
  };
  Summary summary() const;
  // Frames that could not be packaged (before the first keyframe, unusable
  // configuration), for metrics.
  std::uint64_t skipped_frames() const { return skipped_.load(std::memory_order_relaxed); }
  // Timeline breaks the source did not flag, handled as discontinuities.
  std::uint64_t timeline_jumps() const { return timeline_jumps_.load(std::memory_order_relaxed); }
  // Silent audio frames made to fill where the source's audio fell silent.
  std::uint64_t silent_audio_frames() const { return silent_audio_frames_.load(std::memory_order_relaxed); }
  // Segments cut without a keyframe because max_segment_duration passed.
  std::uint64_t forced_cuts() const { return forced_cuts_.load(std::memory_order_relaxed); }
  // The fixed EXT-X-TARGETDURATION of this packager's playlists.
  int target_duration() const { return target_duration_; }

 private:
  struct Boundary {
    std::int64_t time90k = 0;  // stream clock, 90 kHz
    bool ends_segment = false;
  };

  void on_video(const media::MediaFrame& frame);
  void on_audio(const media::MediaFrame& frame);
  // Places pending audio frames into parts, cutting where the video cut.
  // Queues silent audio frames from where the audio has reached up to
  // `until` (audio clock); true when it queued any.
  bool fill_audio_silence(std::int64_t until);
  void advance_audio();
  // Places every pending audio frame and ends the audio segment.
  void flush_audio_to_end();
  void set_audio_targets();
  void cut_video(bool end_segment, bool next_starts_segment);
  // Places the pending video frame, `next` being its successor (null when
  // the timeline breaks or the stream ends after it).
  void settle_video(const media::MediaFrame* next);
  void place_video(const media::MediaFrame& frame, const media::MediaFrame* next);
  void note_forced_cut();
  // The duration of the frame at `dts`: the step to `next_dts` when sane,
  // else the median of the recent steps.
  std::int64_t frame_duration_at(std::int64_t dts, std::int64_t next_dts,
                                 const media::CodecConfig& config);
  // The median of the recent steps (0 before any): what the next frame is
  // expected to last, whatever the last one did.
  std::int64_t typical_step() const;
  void start_video_segment(const media::MediaFrame& frame, std::int64_t timescale);
  std::chrono::nanoseconds max_segment_duration() const;
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
  bool gradual_refresh_seen_ = false;
  // A transcoded rendition's segments follow the source's keyframes: set
  // once a keyframe carries one; the source decode time of the keyframe
  // that started the open segment.
  bool follows_source_ = false;
  std::optional<std::int64_t> segment_origin_;
  bool video_discontinuity_ = false;
  // The last frame in: placed when its successor arrives (or the timeline
  // breaks), so that its duration and what follows it are known.
  std::optional<media::MediaFrame> pending_video_;
  std::int64_t frame_duration_ = 0;   // duration of the last frame placed
  std::array<std::int64_t, 8> steps_{};  // recent decode-time steps
  std::size_t step_count_ = 0;
  // The segment was cut because the next frame would not fit in
  // max_segment_duration: that frame starts the next one, keyframe or not.
  bool next_segment_forced_ = false;
  std::int64_t part_target_ticks_ = 0;  // a whole number of frames
  std::int64_t part_limit_ticks_ = 0;   // PART-TARGET: no part is longer
  std::int64_t part_min_ticks_ = 0;     // 85 % of the target: shortest non-final part
  std::int64_t segment_ticks_ = 0;      // storage.dvr.segment_length
  std::int64_t max_ticks_ = 0;          // where a segment is cut without a keyframe
  std::int64_t max_nominal_ticks_ = 0;  // max_segment_duration itself
  std::int64_t first_video_start90k_ = -1;
  const int target_duration_;
  bool forced_cut_logged_ = false;

  // Audio state.
  std::deque<Boundary> boundaries_;   // video cuts the audio has not reached yet
  std::deque<media::MediaFrame> audio_pending_;
  core::BufferRef audio_silence_;  // a silent frame for the audio's set-up, made on first need
  std::atomic<std::uint64_t> silent_audio_frames_{0};
  bool audio_only_ = false;
  bool audio_discontinuity_ = false;
  bool audio_wait_for_video_ = true;   // false while flushing before a break
  std::int64_t first_audio_time90k_ = -1;
  std::int64_t audio_frame_ticks_ = 1024;
  std::int64_t audio_part_ticks_ = 0;  // audio-only streams
  std::int64_t audio_part_limit_ticks_ = 0;  // PART-TARGET in the track's timescale
  bool audio_targets_set_ = false;
  bool audio_continuous_ = false;  // the next audio frame continues the last one's timeline

  mutable std::mutex summary_mutex_;
  Summary summary_;
  std::atomic<bool> ended_{false};
  std::atomic<std::uint64_t> skipped_{0};
  std::atomic<std::uint64_t> timeline_jumps_{0};
  std::atomic<std::uint64_t> forced_cuts_{0};
  media::TimelineWatch timeline_;
};

}  // namespace mirror::package::hls
