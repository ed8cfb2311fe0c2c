#include "package/hls/stream_packager.h"

#include "core/logging.h"
#include "media/aac.h"
#include "media/timeline_watch.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace mirror::package::hls {
namespace {

using media::k90kHz;
using media::to_90k;

// How far the audio may lag the video before it is filled with silence: more
// than TS muxers delay audio (a PES of several frames at a low bitrate).
constexpr std::chrono::milliseconds kSilenceAfter{1000};

double seconds_of(std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); }

media::TimelineWatch::Limits timeline_limits(std::chrono::nanoseconds threshold) {
  const auto ticks = std::max<std::int64_t>(1, static_cast<std::int64_t>(seconds_of(threshold) * k90kHz));
  return {ticks, ticks};
}

PlaylistSettings playlist_settings(const PackagerSettings& settings) {
  PlaylistSettings p;
  p.window_segments = settings.playlist_segments;
  p.spill_old_segments = settings.spill_old_segments;
  // Segment numbers start at the creation time in hundredths of a second: a
  // later instance of the same stream name starts above anything an earlier
  // one reached (no segment is that short), so URIs are never reused.
  p.first_msn = settings.first_msn >= 0
                    ? settings.first_msn
                    : std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                              .count() /
                          10;
  return p;
}

}  // namespace

StreamPackager::StreamPackager(std::string stream, PackagerSettings settings, RenditionNames names)
    : stream_(std::move(stream)),
      settings_(settings),
      names_(std::move(names)),
      video_store_(std::make_shared<PartStore>(names_.video, media::TrackKind::kVideo,
                                               playlist_settings(settings))),
      audio_store_(std::make_shared<PartStore>(names_.audio, media::TrackKind::kAudio,
                                               playlist_settings(settings))),
      video_(video_store_),
      audio_(audio_store_),
      target_duration_(static_cast<int>(std::ceil(seconds_of(max_segment_duration()) - 1e-6))),
      timeline_(timeline_limits(settings.discontinuity_threshold)) {
  video_store_->set_target_duration(target_duration_);
  audio_store_->set_target_duration(target_duration_);
  video_.set_publish_delay(settings.video_publish_delay);
  audio_.set_publish_delay(settings.audio_publish_delay);
  video_store_->set_report_source([this] { return reports_for(video_store_.get()); });
  audio_store_->set_report_source([this] { return reports_for(audio_store_.get()); });
}

StreamPackager::~StreamPackager() {
  // The stores may outlive this packager (held by readers): cut their link back.
  video_store_->set_report_source({});
  audio_store_->set_report_source({});
  video_store_->end();
  audio_store_->end();
}

std::chrono::nanoseconds StreamPackager::max_segment_duration() const {
  return settings_.effective_max_segment_duration();
}

std::vector<RenditionReport> StreamPackager::reports_for(const PartStore* self) const {
  std::vector<RenditionReport> out;
  for (const PartStore* other : {video_store_.get(), audio_store_.get()}) {
    if (other == self) continue;
    auto last = other->last_part();
    if (!last) continue;
    out.push_back({fmt::format("../{}/playlist.m3u8", other->rendition()), last->msn, last->part});
  }
  return out;
}

void StreamPackager::anchor(const media::MediaFrame& frame, std::int64_t time90k) {
  anchored_ = true;
  anchor_time90k_ = time90k;
  anchor_wall_ = frame.arrival.time_since_epoch().count() != 0 ? frame.arrival
                                                                : std::chrono::system_clock::now();
}

std::chrono::system_clock::time_point StreamPackager::wall_clock_at(std::int64_t time90k) const {
  const auto offset = std::chrono::microseconds((time90k - anchor_time90k_) * 1000 / 90);
  return anchor_wall_ + std::chrono::duration_cast<std::chrono::system_clock::duration>(offset);
}

void StreamPackager::on_frame(const media::MediaFrame& frame) {
  if (ended_.load(std::memory_order_relaxed)) return;
  // A decode time that goes back, or leaps forward by more than the
  // threshold, is a break the source did not flag (an encoder restart, a
  // looped file, a PCR reset): handled as one. B-frame reordering never
  // shows here (decode times only grow); small jitter stays within it; a
  // track that leaps to where the other is has had a gap (TimelineWatch).
  const bool jump = timeline_.jumped(frame);
  if (frame.discontinuity || jump) {
    // Both tracks start a new timeline: neither is compared with the old one,
    // and this frame is where its own track's new timeline begins.
    timeline_.restart(frame);
    if (jump) timeline_jumps_.fetch_add(1, std::memory_order_relaxed);
    settle_video(nullptr);
    // A timeline break (the publisher came back): both renditions end their
    // segment, the next ones start with EXT-X-DISCONTINUITY and a new clock.
    if (video_.segment_open()) cut_video(true, true);
    flush_audio_to_end();
    video_discontinuity_ = video_seen_;
    audio_discontinuity_ = audio_.configured();
    step_count_ = 0;
    next_segment_forced_ = false;
    anchored_ = false;
    video_.forget_config();
    audio_.forget_config();
  }
  if (frame.kind == media::TrackKind::kVideo) {
    on_video(frame);
  } else {
    on_audio(frame);
  }
}

void StreamPackager::flush_audio_to_end() {
  // Everything pending belongs before the break, whatever the video did.
  boundaries_.clear();
  audio_wait_for_video_ = false;
  advance_audio();
  audio_wait_for_video_ = true;
  audio_.close_segment();
  audio_continuous_ = false;  // what comes next starts a new timeline
}

void StreamPackager::on_video(const media::MediaFrame& incoming) {
  if (!incoming.config || incoming.payload.size() == 0) {
    skipped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  // Decode times must grow. A source that sends none (raw RTP carries only
  // presentation times, so its B-frames step back) or a step back too small
  // to be a discontinuity gets the least decode time after the last one;
  // the presentation time stays, carried by the composition offset.
  media::MediaFrame repaired;
  const bool step_back = pending_video_ && incoming.dts <= pending_video_->dts;
  if (step_back) {
    repaired = incoming;
    repaired.dts = pending_video_->dts + 1;
  }
  const media::MediaFrame& frame = step_back ? repaired : incoming;
  const bool new_setup = !video_.configured() || !video_.config()->same_setup(*frame.config);
  // The frame before this one is placed now that its successor is known.
  settle_video(new_setup ? nullptr : &frame);
  if (new_setup && video_.segment_open()) {
    // New parameter sets: a new init segment, announced by a discontinuity in
    // both renditions (players match audio to video by discontinuity).
    cut_video(true, true);
    flush_audio_to_end();
    video_discontinuity_ = true;
    audio_discontinuity_ = audio_.configured();
    next_segment_forced_ = false;
  }
  if (!video_.configure(frame.config)) {
    skipped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const auto& config = *video_.config();
  if (new_setup) {
    std::lock_guard lock(summary_mutex_);
    summary_.has_video = true;
    summary_.video_codec = config.codec_string;
    summary_.width = config.width;
    summary_.height = config.height;
    summary_.frame_rate = config.frame_rate;
  }
  if (frame.gradual_refresh && !gradual_refresh_seen_) {
    gradual_refresh_seen_ = true;
    std::lock_guard lock(summary_mutex_);
    summary_.gradual_refresh = true;
  }
  video_seen_ = true;
  pending_video_ = frame;
}

void StreamPackager::settle_video(const media::MediaFrame* next) {
  if (!pending_video_) return;
  const media::MediaFrame frame = std::move(*pending_video_);
  pending_video_.reset();
  place_video(frame, next);
}

void StreamPackager::place_video(const media::MediaFrame& frame, const media::MediaFrame* next) {
  const auto& config = *video_.config();
  const std::int64_t timescale = config.timescale;
  const std::int64_t t = frame.dts;
  // A frame lasts until the next one begins; without a next one (the stream
  // breaks or ends here), the median of the recent steps.
  const std::int64_t fd = frame_duration_at(t, next != nullptr ? next->dts : t, config);

  if (part_target_ticks_ == 0) {
    // A part is a whole number of frames, as close to part_duration as can be.
    const double frames = seconds_of(settings_.part_duration) * static_cast<double>(timescale) /
                          static_cast<double>(fd);
    part_target_ticks_ = std::max<std::int64_t>(1, std::llround(frames)) * fd;
    // PART-TARGET leaves a millisecond above the whole frames for timestamp
    // jitter, and no part ever exceeds it.
    const double part_target = std::ceil(static_cast<double>(part_target_ticks_ + timescale / 1000) /
                                         static_cast<double>(timescale) * 1e5) /
                               1e5;
    part_limit_ticks_ = static_cast<std::int64_t>(part_target * static_cast<double>(timescale));
    part_min_ticks_ = part_target_ticks_ * 85 / 100;
    video_store_->set_part_target(part_target);
    segment_ticks_ = static_cast<std::int64_t>(seconds_of(settings_.segment_length) *
                                               static_cast<double>(timescale));
    // A segment may run past max_segment_duration by up to one part (a GOP
    // of exactly that length whose timestamps jitter, or a hole before its
    // last keyframe), never so far that its EXTINF would round above the
    // target.
    const double max_seconds = seconds_of(max_segment_duration());
    const double tolerance = std::min(part_target, std::max(0.0, target_duration_ + 0.49 - max_seconds));
    max_ticks_ = static_cast<std::int64_t>((max_seconds + tolerance) * static_cast<double>(timescale));
    max_nominal_ticks_ = static_cast<std::int64_t>(max_seconds * static_cast<double>(timescale));
  }
  const std::int64_t segment_ticks = segment_ticks_;
  const std::int64_t max_ticks = max_ticks_;

  // A frame longer than the rest (one was dropped after it, or the source
  // has a hole) must not overfill a part: it starts the next part when the
  // open one is long enough. Else it completes the open one and the rest of
  // its step stays a hole in the timeline, which the next fragment's tfdt
  // carries, as long as it keeps at least half its step: a browser's MSE
  // takes a step of more than twice the last frame's duration for a
  // discontinuity and drops every picture up to the next keyframe. Where it
  // would not, the open part ends short instead (below 85 % of the target:
  // playback comes before that rule). One frame never lasts more than a part.
  std::int64_t duration = std::min(fd, part_limit_ticks_);
  if (video_.segment_open() && video_.part_open()) {
    // Measured to this frame's own decode time: a hole before it counts.
    const std::int64_t part = std::max(video_.end_time(), t) - video_.part_start();
    if (part + duration > part_limit_ticks_) {
      if (part >= part_min_ticks_ || 2 * (part_limit_ticks_ - part) < fd) {
        cut_video(false, false);
      } else {
        duration = part_limit_ticks_ - part;
      }
    }
  }
  if (!video_.segment_open()) {
    // A segment starts on a keyframe, or anywhere after a cut forced by
    // max_segment_duration; frames before the first keyframe are not played.
    if (!frame.keyframe && !next_segment_forced_) {
      skipped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    start_video_segment(frame, timescale);
  } else if (!video_.part_open()) {
    // The last part ended exactly before this frame, inside the segment.
    video_.begin_part(t, frame.keyframe);
  } else if (frame.keyframe && t - video_.part_start() >= part_min_ticks_) {
    // A keyframe the cadence did not bring to a part boundary starts an
    // independent part when the open one is long enough; else it joins it.
    cut_video(false, false);
    video_.begin_part(t, true);
  }
  video_.add(frame, static_cast<std::uint32_t>(duration));
  if (next == nullptr) return;  // the caller ends the segment

  // Where does the next frame go? Part 0 of a new segment when it is a
  // keyframe and this segment is long enough, or when it would not fit in
  // max_segment_duration (a forced cut); else this part goes on until it is
  // full. The part is published now, with a preload hint that is certain.
  const std::int64_t end = video_.end_time();
  bool keyframe_next = next->keyframe;
  // The next frame is expected to last a typical step, even after a long one
  // (a dropped frame, a hole in the source).
  const std::int64_t next_fd = std::max<std::int64_t>(1, typical_step() > 0 ? typical_step() : fd);
  bool segment_long_enough = end - video_.segment_start() >= segment_ticks - fd / 2;
  if (follows_source_) {
    // A transcoded rendition: its segments start where the source's do, by
    // the same rule on the source's own times (see MediaFrame::source_keyframe);
    // its other keyframes only start parts, except one that comes when the
    // segment has run max_segment_duration: the source has gone that long
    // without a keyframe (a lost IDR, intra refresh) and will be cut without
    // one, while the encoder makes its own keyframe that often (the
    // transcoder's keyframe interval), so the rendition's segment still
    // starts independent.
    keyframe_next = next->source_keyframe.has_value();
    if (keyframe_next && segment_origin_) {
      segment_long_enough = next->source_keyframe->dts - *segment_origin_ >= segment_ticks - next->source_keyframe->step / 2;
    } else if (next->keyframe && end - video_.segment_start() >= max_nominal_ticks_ - fd / 2) {
      keyframe_next = true;
      segment_long_enough = true;
    }
  }
  const bool next_fits = end + next_fd - video_.segment_start() <= max_ticks;
  if (!next_fits || (keyframe_next && segment_long_enough)) {
    cut_video(true, true);
    next_segment_forced_ = !keyframe_next;
    if (next_segment_forced_) note_forced_cut();
    return;
  }
  const std::int64_t part = end - video_.part_start();
  const bool part_full = part + next_fd > part_limit_ticks_;
  const bool part_long_enough = part >= part_min_ticks_;
  if (part_full || (keyframe_next && part_long_enough)) cut_video(false, false);
}

void StreamPackager::note_forced_cut() {
  forced_cuts_.fetch_add(1, std::memory_order_relaxed);
  if (forced_cut_logged_) return;
  forced_cut_logged_ = true;
  {
    std::lock_guard lock(summary_mutex_);
    summary_.segments_without_keyframe = true;
  }
  core::log::warn("segment cut without a keyframe",
                  {{"stream", stream_},
                   {"rendition", names_.video},
                   {"max_segment_duration_ms",
                    std::chrono::duration_cast<std::chrono::milliseconds>(max_segment_duration()).count()}});
}

std::int64_t StreamPackager::frame_duration_at(std::int64_t dts, std::int64_t next_dts,
                                               const media::CodecConfig& config) {
  const std::int64_t timescale = config.timescale;
  const std::int64_t step = next_dts - dts;
  if (step > 0 && step <= timescale / 4) {
    steps_[step_count_ % steps_.size()] = step;
    ++step_count_;
    frame_duration_ = step;
    return step;
  }
  std::int64_t fd = 0;
  if (step_count_ > 0) {
    fd = typical_step();
  } else if (config.frame_rate > 0) {
    fd = std::llround(static_cast<double>(timescale) / config.frame_rate);
  } else {
    fd = frame_duration_ > 0 ? frame_duration_ : timescale / 30;
  }
  frame_duration_ = std::max<std::int64_t>(fd, 1);
  return frame_duration_;
}

std::int64_t StreamPackager::typical_step() const {
  if (step_count_ == 0) return 0;
  // The median: one dropped frame or hole does not move it.
  const std::size_t n = std::min(step_count_, steps_.size());
  std::array<std::int64_t, 8> sorted = steps_;
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(n / 2),
                   sorted.begin() + static_cast<std::ptrdiff_t>(n));
  return sorted[n / 2];
}

void StreamPackager::start_video_segment(const media::MediaFrame& frame, std::int64_t timescale) {
  if (frame.source_keyframe) follows_source_ = true;
  segment_origin_.reset();
  if (frame.source_keyframe) segment_origin_ = frame.source_keyframe->dts;
  if (!anchored_) anchor(frame, to_90k(frame.dts, timescale));
  video_.begin_segment(frame.dts, video_discontinuity_, wall_clock_at(to_90k(frame.dts, timescale)));
  video_discontinuity_ = false;
  next_segment_forced_ = false;
  if (first_video_start90k_ < 0) first_video_start90k_ = to_90k(frame.dts, timescale);
  video_.begin_part(frame.dts, frame.keyframe);
}

void StreamPackager::cut_video(bool end_segment, bool next_starts_segment) {
  video_.close_part(next_starts_segment);
  if (end_segment) video_.close_segment();
  boundaries_.push_back({to_90k(video_.end_time(), video_.config()->timescale), end_segment});
  advance_audio();
}

void StreamPackager::on_audio(const media::MediaFrame& frame) {
  if (!frame.config || frame.payload.size() == 0) {
    skipped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const bool new_setup = !audio_.configured() || !audio_.config()->same_setup(*frame.config);
  if (!audio_.configure(frame.config)) {
    skipped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const auto& config = *audio_.config();
  if (new_setup) {
    std::lock_guard lock(summary_mutex_);
    summary_.has_audio = true;
    summary_.audio_codec = config.codec_string;
    summary_.sample_rate = config.sample_rate;
    summary_.channels = config.channels;
  }
  audio_frame_ticks_ = std::max(1, config.samples_per_frame);
  if (first_audio_time90k_ < 0) first_audio_time90k_ = to_90k(frame.pts, config.timescale);
  if (new_setup) audio_silence_ = {};
  // A hole of more than half a frame before this one (an encoder that fell
  // silent) is filled with silence, so that the audio timeline has no hole
  // for a player to stall on and the audio parts keep pace with the video's.
  // The silence is placed before the bound below could drop any of it.
  if (fill_audio_silence(frame.pts)) advance_audio();
  audio_pending_.push_back(frame);
  // Bound what waits for the video: two seconds of audio.
  const std::int64_t limit = 2 * static_cast<std::int64_t>(config.timescale) / audio_frame_ticks_;
  while (static_cast<std::int64_t>(audio_pending_.size()) > std::max<std::int64_t>(limit, 16)) {
    audio_pending_.pop_front();
    skipped_.fetch_add(1, std::memory_order_relaxed);
  }
  advance_audio();
}

bool StreamPackager::fill_audio_silence(std::int64_t until) {
  if (!audio_.configured() || audio_only_) return false;
  std::int64_t reach = 0;
  if (!audio_pending_.empty()) {
    reach = audio_pending_.back().pts + audio_frame_ticks_;
  } else if (audio_continuous_) {
    reach = audio_.end_time();
  } else {
    return false;  // nothing placed on this timeline yet
  }
  if (until - reach <= audio_frame_ticks_ / 2) return false;
  const auto& config = audio_.config();
  if (audio_silence_.size() == 0) {
    if (config->audio_object_type != 2) return false;  // AAC-LC only (no SBR data to make)
    const auto silent = media::aac_lc_silent_frame(config->channels);
    if (!silent) return false;
    audio_silence_ = core::BufferPool::global().copy_of(*silent);
  }
  media::MediaFrame frame;
  frame.track = 1;
  frame.kind = media::TrackKind::kAudio;
  frame.codec = media::Codec::kAac;
  frame.keyframe = true;
  frame.config = config;
  frame.payload = audio_silence_;
  frame.duration = audio_frame_ticks_;
  std::uint64_t n = 0;
  // Up to within half a frame of `until`: the frame there follows the last
  // silent one exactly (see advance_audio).
  for (; until - reach > audio_frame_ticks_ / 2; reach += audio_frame_ticks_, ++n) {
    frame.pts = frame.dts = reach;
    audio_pending_.push_back(frame);
  }
  silent_audio_frames_.fetch_add(n, std::memory_order_relaxed);
  return n > 0;
}

void StreamPackager::advance_audio() {
  if (!audio_.configured()) return;
  const auto& config = *audio_.config();
  // Audio that has fallen more than kSilenceAfter behind the video (an
  // encoder gone silent) is filled with silence up to there, so that
  // players at the live edge do not wait on it; audio that arrives later
  // for that time lies over the silence and is dropped.
  const auto last_video_time = timeline_.last(media::TrackKind::kVideo);
  if (audio_pending_.empty() && last_video_time && video_.configured()) {
    const std::int64_t behind = *last_video_time - to_90k(kSilenceAfter.count(), 1000);
    fill_audio_silence(behind * static_cast<std::int64_t>(config.timescale) / k90kHz);
  }
  const std::int64_t frame90k = to_90k(audio_frame_ticks_, config.timescale);
  const std::int64_t half90k = frame90k / 2;
  auto audio_end90k = [&] { return to_90k(audio_.end_time(), config.timescale); };

  while (true) {
    // Cut where the video cut, once the audio has reached that instant.
    while (!boundaries_.empty() && audio_.segment_open()) {
      const Boundary b = boundaries_.front();
      const bool reached = audio_.part_open() ? audio_end90k() >= b.time90k - half90k
                                              : (!audio_pending_.empty() &&
                                                 to_90k(audio_pending_.front().pts, config.timescale) >=
                                                     b.time90k - half90k);
      if (!reached) break;
      audio_.close_part(b.ends_segment);
      if (b.ends_segment) audio_.close_segment();
      boundaries_.pop_front();
    }
    if (audio_pending_.empty()) return;
    const media::MediaFrame& f = audio_pending_.front();
    const std::int64_t t90k = to_90k(f.pts, config.timescale);

    if (!audio_only_ && audio_wait_for_video_) {
      if (!video_seen_ && first_video_start90k_ < 0) {
        // No video yet: after a second of audio alone, the stream is audio only.
        if (t90k - first_audio_time90k_ < k90kHz) return;
        audio_only_ = true;
      } else if (first_video_start90k_ < 0) {
        return;  // video is coming; wait for its first keyframe
      }
    }
    if (!audio_only_ && audio_wait_for_video_) {
      if (!audio_.segment_open()) {
        // Audio from before the video's first keyframe is not played.
        if (t90k + half90k < first_video_start90k_) {
          audio_pending_.pop_front();
          skipped_.fetch_add(1, std::memory_order_relaxed);
          continue;
        }
        // The video's segment must be open (or cut) before the audio's begins.
        if (boundaries_.empty() && !video_.segment_open()) return;
      }
      if (boundaries_.empty()) {
        // Without a known cut ahead, only audio before the video's current
        // end is certain to belong to the open part.
        const std::int64_t video_end90k = to_90k(video_.end_time(), video_.config()->timescale);
        if (t90k + half90k >= video_end90k) return;
      } else if (t90k >= boundaries_.front().time90k - half90k) {
        // The cut comes first (no part was open to close above).
        const Boundary b = boundaries_.front();
        boundaries_.pop_front();
        if (b.ends_segment && audio_.segment_open()) audio_.close_segment();
        continue;
      }
    }
    if (audio_.segment_open()) {
      const std::int64_t end = audio_.end_time();
      if (f.pts < end - audio_frame_ticks_ / 2) {
        // A frame that lies over the one before it (a looped file repeats
        // one at the seam) would make the timeline run backwards.
        audio_pending_.pop_front();
        skipped_.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
    }
    // Within half a frame of where the last one ended, a frame follows it
    // exactly: rounding in the source's timestamps leaves no hole or overlap.
    media::MediaFrame placed = f;
    if (audio_continuous_) {
      const std::int64_t end = audio_.end_time();
      if (std::llabs(placed.pts - end) <= audio_frame_ticks_ / 2) placed.pts = placed.dts = end;
    }
    // A frame lasts until the next one starts when that is known and close to
    // its nominal length: a small hole left by a lost frame is covered, so the
    // player's audio buffer has no gap to stall on.
    std::int64_t duration = audio_frame_ticks_;
    if (audio_pending_.size() > 1) {
      const std::int64_t delta = audio_pending_[1].pts - placed.pts;
      if (delta >= audio_frame_ticks_ / 2 && delta <= 4 * audio_frame_ticks_) duration = delta;
    }
    if (audio_.part_open() &&
        std::max(audio_.end_time(), placed.pts) + duration - audio_.part_start() > audio_part_limit_ticks_) {
      // Never above PART-TARGET, even where the video's part spans a hole.
      audio_.close_part(false);
    }
    if (!audio_.segment_open()) {
      if (!audio_targets_set_) set_audio_targets();
      if (!anchored_) anchor(f, t90k);
      audio_.begin_segment(placed.pts, audio_discontinuity_, wall_clock_at(t90k));
      audio_discontinuity_ = false;
    }
    if (!audio_.part_open()) audio_.begin_part(placed.pts, true);
    audio_.add(placed, static_cast<std::uint32_t>(duration));
    audio_continuous_ = true;
    audio_pending_.pop_front();

    if (audio_only_) {
      // Own grid: whole frames per part, segments of whole parts.
      const std::int64_t seg_ticks =
          static_cast<std::int64_t>(seconds_of(settings_.segment_length) * config.timescale);
      if (audio_.end_time() - audio_.part_start() >= audio_part_ticks_ - audio_frame_ticks_ / 2) {
        const bool end_segment =
            audio_.end_time() - audio_.segment_start() >= seg_ticks - audio_frame_ticks_ / 2;
        audio_.close_part(end_segment);
        if (end_segment) audio_.close_segment();
      }
    }
  }
}

void StreamPackager::set_audio_targets() {
  const auto& config = *audio_.config();
  const double frame = static_cast<double>(audio_frame_ticks_) / config.timescale;
  double part_target = 0;
  if (audio_only_ || !video_.configured() || part_target_ticks_ == 0) {
    const double frames = seconds_of(settings_.part_duration) / frame;
    audio_part_ticks_ = std::max<std::int64_t>(1, std::llround(frames)) * audio_frame_ticks_;
    part_target = static_cast<double>(audio_part_ticks_) / config.timescale;
  } else {
    // Audio parts hold the frames that start within a video part (give or
    // take half a frame): never more than this many.
    const double video_part = static_cast<double>(part_target_ticks_) / video_.config()->timescale;
    part_target = std::ceil(video_part / frame - 1e-9) * frame;
  }
  // PART-TARGET is written with five decimals; round up so no part exceeds it.
  part_target = std::ceil(part_target * 1e5) / 1e5;
  audio_part_limit_ticks_ = static_cast<std::int64_t>(part_target * config.timescale + 1e-6);
  audio_store_->set_part_target(part_target);
  audio_targets_set_ = true;
}

void StreamPackager::flush() {
  video_.flush();
  audio_.flush();
}

void StreamPackager::end() {
  if (ended_.exchange(true)) return;
  settle_video(nullptr);
  if (video_.segment_open()) cut_video(true, true);
  flush_audio_to_end();
  video_store_->end();
  audio_store_->end();
}

std::shared_ptr<PartStore> StreamPackager::store(std::string_view rendition) const {
  if (rendition == names_.video) return video_store_;
  if (rendition == names_.audio) return audio_store_;
  return nullptr;
}

bool StreamPackager::ready() const {
  const Summary s = summary();
  if (!s.has_video && !s.has_audio) return false;
  return (!s.has_video || video_store_->ready()) && (!s.has_audio || audio_store_->ready());
}

bool StreamPackager::ended() const { return ended_.load(std::memory_order_acquire); }

StreamPackager::Summary StreamPackager::summary() const {
  std::lock_guard lock(summary_mutex_);
  return summary_;
}

}  // namespace mirror::package::hls
