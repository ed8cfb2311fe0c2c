#include "package/hls/part_store.h"

#include "package/hls/playlist_text.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <cmath>

namespace mirror::package::hls {
std::string init_uri(std::int64_t version) { return fmt::format("init-{}.mp4", version); }
std::string segment_uri(std::int64_t msn) { return fmt::format("seg-{}.m4s", msn); }
std::string part_uri(PartPosition p) { return fmt::format("part-{}.{}.m4s", p.msn, p.part); }

PartStore::PartStore(std::string rendition, media::TrackKind kind, PlaylistSettings settings)
    : rendition_(std::move(rendition)),
      kind_(kind),
      settings_(settings),
      next_msn_(settings.first_msn),
      init_version_(settings.first_msn - 1) {}

PartStore::~PartStore() { end(); }

void PartStore::set_target_duration(int target_duration) {
  std::lock_guard lock(mutex_);
  target_duration_ = std::max(1, target_duration);
}

void PartStore::set_part_target(double part_target) {
  std::lock_guard lock(mutex_);
  part_target_ = part_target;
}

void PartStore::set_init(core::SharedBytes init) {
  std::lock_guard lock(mutex_);
  inits_[++init_version_] = std::move(init);
}

void PartStore::set_init(core::SharedBytes init, std::int64_t version) {
  std::lock_guard lock(mutex_);
  if (!inits_.empty() && version <= init_version_) return;
  init_version_ = version;
  inits_[version] = std::move(init);
}

std::int64_t PartStore::next_msn() const {
  std::lock_guard lock(mutex_);
  return next_msn_;
}

void PartStore::set_report_source(std::function<std::vector<RenditionReport>()> source) {
  std::lock_guard lock(mutex_);
  report_source_ = std::move(source);
}

PartStore::Segment* PartStore::open_segment_locked() {
  if (segments_.empty() || segments_.back().complete) return nullptr;
  return &segments_.back();
}

void PartStore::begin_segment(bool discontinuity,
                              std::chrono::system_clock::time_point program_date_time) {
  std::lock_guard lock(mutex_);
  Segment seg;
  seg.msn = next_msn_++;
  // The very first segment needs no discontinuity tag: nothing precedes it.
  seg.discontinuity = (discontinuity || pending_discontinuity_) && !segments_.empty();
  pending_discontinuity_ = false;
  seg.init_version = init_version_;
  seg.program_date_time = program_date_time;
  segments_.push_back(std::move(seg));
}

void PartStore::begin_part(bool independent) {
  std::lock_guard lock(mutex_);
  Segment* seg = open_segment_locked();
  if (seg == nullptr) return;
  Part part;
  part.independent = independent;
  const PartPosition position{seg->msn, static_cast<int>(seg->parts.size())};
  // Readers that asked for this part before it began stream it now; those
  // that asked for a position the packager did not take will never get it.
  for (auto it = early_streams_.begin(); it != early_streams_.end();) {
    if (it->first == position) {
      part.streams.push_back(std::move(it->second));
      it = early_streams_.erase(it);
    } else if (it->first < position) {
      it->second({}, false, true);
      it = early_streams_.erase(it);
    } else {
      ++it;
    }
  }
  seg->parts.push_back(std::move(part));
}

void PartStore::append(std::vector<core::SharedBytes> chunk) {
  std::lock_guard lock(mutex_);
  Segment* seg = open_segment_locked();
  if (seg == nullptr || seg->parts.empty() || seg->parts.back().complete) return;
  Part& part = seg->parts.back();
  for (const auto& piece : chunk) part.bytes += piece.size();
  for (auto& stream : part.streams) stream(chunk, false, false);
  part.chunks.insert(part.chunks.end(), std::make_move_iterator(chunk.begin()),
                     std::make_move_iterator(chunk.end()));
}

void PartStore::close_part(double duration, bool next_starts_segment) {
  Releases releases;
  {
  std::lock_guard lock(mutex_);
  Segment* seg = open_segment_locked();
  if (seg == nullptr || seg->parts.empty() || seg->parts.back().complete) return;
  Part& part = seg->parts.back();
  part.duration = duration;
  part.complete = true;
  for (auto& stream : part.streams) stream({}, true, false);
  part.streams.clear();
  seg->duration += duration;
  seg->bytes += part.bytes;
  bytes_published_.fetch_add(part.bytes, std::memory_order_relaxed);
  published_seconds_ += duration;
  next_starts_segment_ = next_starts_segment;
  last_part_ = PartPosition{seg->msn, static_cast<int>(seg->parts.size()) - 1};
  last_part_packed_.store((last_part_->msn << 16) | last_part_->part, std::memory_order_release);
  if (next_starts_segment && duration < 0.85 * part_target_ - 1e-9) {
    // A short last part may only be listed as the last one: its segment is
    // completed in the same publish, so no playlist shows it unfinished.
    complete_segment_locked(*seg);
    render_locked();
    releases = release_waiters_locked();
  } else if (ready_.load(std::memory_order_relaxed)) {
    render_locked();
    releases = release_waiters_locked();
  }
  }
  run(releases);
}

void PartStore::close_segment() {
  Releases releases;
  {
  std::lock_guard lock(mutex_);
  Segment* seg = open_segment_locked();
  if (seg == nullptr) return;
  // A segment without a published part is dropped rather than listed empty.
  while (!seg->parts.empty() && !seg->parts.back().complete) {
    for (auto& stream : seg->parts.back().streams) stream({}, false, true);
    seg->parts.pop_back();
  }
  if (seg->parts.empty()) {
    pending_discontinuity_ = pending_discontinuity_ || seg->discontinuity;
    segments_.pop_back();
    --next_msn_;
    return;
  }
  complete_segment_locked(*seg);
  render_locked();
  releases = release_waiters_locked();
  }
  run(releases);
}

void PartStore::complete_segment_locked(Segment& seg) {
  seg.complete = true;
  compact_locked(seg);
  notify_segment_locked(seg);
  last_segment_ = seg.msn;
  trim_window_locked();
  ready_.store(true, std::memory_order_release);
}

void PartStore::set_segment_observer(SegmentObserver observer) {
  std::lock_guard lock(mutex_);
  segment_observer_ = std::move(observer);
}

void PartStore::notify_segment_locked(const Segment& seg) {
  if (seg.discontinuity) ++discontinuities_;
  if (!segment_observer_) return;
  CompletedSegment done;
  done.msn = seg.msn;
  done.discontinuity_sequence = discontinuities_;
  done.init_version = seg.init_version;
  if (auto it = inits_.find(seg.init_version); it != inits_.end()) done.init = it->second;
  done.program_date_time = seg.program_date_time;
  done.duration = seg.duration;
  done.bytes = seg.packed;
  segment_observer_(done);
}

void PartStore::end() {
  Releases releases;
  {
    std::lock_guard lock(mutex_);
    if (ended_.exchange(true)) return;
    if (Segment* seg = open_segment_locked()) {
      for (auto& part : seg->parts) {
        for (auto& stream : part.streams) stream({}, false, true);
        part.streams.clear();
      }
    }
    for (auto& [pos, stream] : early_streams_) stream({}, false, true);
    early_streams_.clear();
    // Drop an unfinished tail: the final playlist lists complete media only.
    if (Segment* seg = open_segment_locked()) {
      while (!seg->parts.empty() && !seg->parts.back().complete) seg->parts.pop_back();
      if (seg->parts.empty()) {
        segments_.pop_back();
      } else {
        seg->complete = true;
        compact_locked(*seg);
        notify_segment_locked(*seg);
        last_segment_ = seg->msn;
      }
    }
    if (!segments_.empty()) ready_.store(true, std::memory_order_release);
    render_locked();
    for (auto& w : waiters_) {
      releases.push_back({std::move(w.done), WaitOutcome::kEnded, playlist_locked(w.request.skip)});
    }
    waiters_.clear();
  }
  run(releases);
}

void PartStore::compact_locked(Segment& segment) {
  // A frame's buffer comes from the pool class that fits it (a 130 KB picture
  // occupies a 1 MiB block): a window of them would hold several times its
  // bytes. Once complete, a segment is packed densely into pool blocks of up
  // to 1 MiB (recycled, so no page faults) and its parts become slices.
  // Blocks of 1 MiB, or of the segment's size when smaller (an audio
  // segment of 20 KB must not hold a whole 1 MiB block).
  const std::size_t kBlock = std::clamp<std::size_t>(segment.bytes, 1, std::size_t{1} << 20);
  std::vector<core::Buffer> blocks;
  std::size_t fill = kBlock;
  std::vector<std::pair<std::size_t, std::size_t>> ranges;  // per part: offset, length
  std::size_t offset = 0;
  for (const auto& part : segment.parts) {
    const std::size_t start = offset;
    for (const auto& piece : part.chunks) {
      auto bytes = piece.bytes();
      while (!bytes.empty()) {
        if (fill == kBlock) {
          blocks.push_back(core::BufferPool::global().acquire_owned(kBlock));
          fill = 0;
        }
        const std::size_t n = std::min(bytes.size(), kBlock - fill);
        std::memcpy(blocks.back().data() + fill, bytes.data(), n);
        fill += n;
        offset += n;
        bytes = bytes.subspan(n);
      }
    }
    ranges.emplace_back(start, offset - start);
  }
  if (!blocks.empty()) blocks.back().resize(fill);
  std::vector<core::BufferRef> shared;
  shared.reserve(blocks.size());
  for (auto& b : blocks) shared.push_back(std::move(b).share());
  segment.packed.clear();
  for (const auto& b : shared) segment.packed.emplace_back(b);
  for (std::size_t i = 0; i < segment.parts.size(); ++i) {
    auto& chunks = segment.parts[i].chunks;
    chunks.clear();
    std::size_t at = ranges[i].first;
    std::size_t left = ranges[i].second;
    while (left > 0) {
      const std::size_t block = at / kBlock;
      const std::size_t within = at % kBlock;
      const std::size_t n = std::min(left, kBlock - within);
      chunks.emplace_back(shared[block], within, n);
      at += n;
      left -= n;
    }
  }
}

void PartStore::trim_window_locked() {
  std::size_t complete = 0;
  for (const auto& s : segments_) complete += s.complete ? 1 : 0;
  while (complete > static_cast<std::size_t>(settings_.window_segments) && !segments_.empty() &&
         segments_.front().complete) {
    if (segments_.size() > 1 && segments_[1].discontinuity) ++discontinuity_sequence_;
    segments_.pop_front();
    --complete;
  }
  spill_locked();
  // Init segments no longer referenced by the window go too.
  const std::int64_t oldest = segments_.empty() ? init_version_ : segments_.front().init_version;
  while (!inits_.empty() && inits_.begin()->first < oldest) inits_.erase(inits_.begin());
}

void PartStore::confirm_cached(std::int64_t msn) {
  std::lock_guard lock(cached_mutex_);
  // Bounded: a window's worth is taken up at each trim; a packager that
  // stopped trimming (the stream ended) keeps at most this many.
  if (cached_inbox_.size() < 1024) cached_inbox_.push_back(msn);
}

// A playlist lists the parts of at most three entries at its end (the open
// segment, the preload hint's, complete segments), within three target
// durations: the complete segments older than the newest kKeptInMemory leave
// memory once the DVR's cache holds them (a late request for one of their
// parts is served from the file); the others stay while they are listed.
void PartStore::spill_locked() {
  if (!settings_.spill_old_segments) return;
  std::vector<std::int64_t> cached;
  {
    std::lock_guard lock(cached_mutex_);
    cached.swap(cached_inbox_);
  }
  for (const std::int64_t msn : cached) {
    for (auto& seg : segments_) {
      if (seg.msn == msn) seg.cached = true;
    }
  }
  constexpr int kKeptInMemory = 3;
  int complete = 0;
  for (auto it = segments_.rbegin(); it != segments_.rend(); ++it) {
    Segment& seg = *it;
    if (!seg.complete) continue;
    if (++complete <= kKeptInMemory || seg.spilled || !seg.cached) continue;
    seg.packed.clear();
    seg.packed.shrink_to_fit();
    for (auto& part : seg.parts) {
      part.chunks.clear();
      part.chunks.shrink_to_fit();
    }
    seg.spilled = true;
  }
}

auto PartStore::spilled_part(PartPosition position) const -> std::optional<ByteRange> {
  std::lock_guard lock(mutex_);
  for (const auto& seg : segments_) {
    if (seg.msn != position.msn) continue;
    if (!seg.spilled || position.part < 0 || position.part >= static_cast<int>(seg.parts.size())) break;
    ByteRange range;
    for (int i = 0; i < position.part; ++i) range.offset += seg.parts[static_cast<std::size_t>(i)].bytes;
    range.length = seg.parts[static_cast<std::size_t>(position.part)].bytes;
    return range;
  }
  return std::nullopt;
}

PartPosition PartStore::hint_locked() const {
  if (segments_.empty()) return {next_msn_, 0};
  const Segment& last = segments_.back();
  if (!last.complete) {
    if (!last.parts.empty() && !last.parts.back().complete) {
      return {last.msn, static_cast<int>(last.parts.size()) - 1};
    }
    if (next_starts_segment_ && !last.parts.empty()) return {last.msn + 1, 0};
    return {last.msn, static_cast<int>(last.parts.size())};
  }
  return {last.msn + 1, 0};
}

std::string PartStore::render_text_locked(bool skip) const {
  const double target = target_duration_;
  const double skip_until = 6 * target;
  // Which segments list their parts (the last three target durations), and
  // which a delta update skips (older than CAN-SKIP-UNTIL from the end).
  // An open segment without a complete part is not listed yet (its tags
  // would dangle after the last part).
  const auto listed = [](const Segment& seg) {
    return seg.complete || (!seg.parts.empty() && seg.parts.front().complete);
  };
  std::vector<bool> list_parts(segments_.size(), false);
  std::size_t skipped = 0;
  {
    double from_end = 0;
    // A preload hint for the next segment opens an entry of its own.
    std::size_t entries_from_end = 0;
    if (!ended_.load(std::memory_order_relaxed)) {
      const Segment* last_listed = nullptr;
      for (auto it = segments_.rbegin(); it != segments_.rend() && !last_listed; ++it) {
        if (listed(*it)) last_listed = &*it;
      }
      if (last_listed == nullptr || hint_locked().msn != last_listed->msn) entries_from_end = 1;
    }
    std::size_t keep_from = segments_.size();
    for (std::size_t i = segments_.size(); i-- > 0;) {
      const Segment& seg = segments_[i];
      if (!listed(seg)) continue;
      ++entries_from_end;
      // Parts older than three target durations from the end go (§4.4.4.9),
      // counted in whole playlist entries as strict parsers do.
      if (!seg.complete || (from_end + seg.duration <= 3 * target + 1e-9 && entries_from_end <= 3)) {
        list_parts[i] = true;
      }
      from_end += seg.duration;
      if (from_end <= skip_until + 1e-9 || !seg.complete) keep_from = i;
    }
    if (skip) skipped = keep_from;
  }

  std::string out;
  out.reserve(256 + segments_.size() * 120 + 64 * 40);
  out += "#EXTM3U\n";
  // 6: EXT-X-MAP in a media playlist; 9: EXT-X-SKIP.
  out += fmt::format("#EXT-X-VERSION:{}\n", skipped > 0 ? 9 : 6);
  out += fmt::format("#EXT-X-TARGETDURATION:{}\n", target_duration_);
  out += fmt::format(
      "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL={},HOLD-BACK={},PART-HOLD-BACK={}\n",
      seconds_text(skip_until), seconds_text(3 * target), seconds_text(3 * part_target_));
  out += fmt::format("#EXT-X-PART-INF:PART-TARGET={}\n", seconds_text(part_target_));
  const std::int64_t first_msn = segments_.empty() ? next_msn_ : segments_.front().msn;
  out += fmt::format("#EXT-X-MEDIA-SEQUENCE:{}\n", first_msn);
  out += fmt::format("#EXT-X-DISCONTINUITY-SEQUENCE:{}\n", discontinuity_sequence_);
  if (skipped > 0) out += fmt::format("#EXT-X-SKIP:SKIPPED-SEGMENTS={}\n", skipped);

  std::int64_t map_version = -1;
  for (std::size_t i = skipped; i < segments_.size(); ++i) {
    const Segment& seg = segments_[i];
    if (!listed(seg)) continue;
    if (seg.discontinuity && i > 0) out += "#EXT-X-DISCONTINUITY\n";
    if (seg.init_version != map_version) {
      out += fmt::format("#EXT-X-MAP:URI=\"{}\"\n", init_uri(seg.init_version));
      map_version = seg.init_version;
    }
    out += fmt::format("#EXT-X-PROGRAM-DATE-TIME:{}\n", program_date_time_text(seg.program_date_time));
    if (list_parts[i]) {
      for (std::size_t p = 0; p < seg.parts.size(); ++p) {
        const Part& part = seg.parts[p];
        if (!part.complete) break;
        out += fmt::format("#EXT-X-PART:DURATION={},URI=\"{}\"{}\n", seconds_text(part.duration),
                           part_uri({seg.msn, static_cast<int>(p)}),
                           part.independent ? ",INDEPENDENT=YES" : "");
      }
    }
    if (seg.complete) {
      out += fmt::format("#EXTINF:{},\n{}\n", seconds_text(seg.duration), segment_uri(seg.msn));
    }
  }
  if (ended_.load(std::memory_order_relaxed)) {
    out += "#EXT-X-ENDLIST\n";
  } else {
    out += fmt::format("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"{}\"\n", part_uri(hint_locked()));
  }
  for (const auto& r : reports_) {
    out += fmt::format("#EXT-X-RENDITION-REPORT:URI=\"{}\",LAST-MSN={},LAST-PART={}\n", r.uri, r.last_msn,
                       r.last_part);
  }
  return out;
}

void PartStore::render_locked() {
  ++version_;
  // The delta update of this version, rendered later on demand, reports the
  // same positions of the other renditions as the full playlist: a client
  // that compares the two (or switches between them) sees one state.
  reports_ = report_source_ ? report_source_() : std::vector<RenditionReport>{};
  full_playlist_ = core::SharedBytes::from_string(render_text_locked(false));
}

core::SharedBytes PartStore::playlist(bool skip) {
  std::lock_guard lock(mutex_);
  return playlist_locked(skip);
}

core::SharedBytes PartStore::playlist_locked(bool skip) {
  if (!skip) return full_playlist_;
  if (delta_version_ != version_) {
    delta_playlist_ = core::SharedBytes::from_string(render_text_locked(true));
    delta_version_ = version_;
  }
  return delta_playlist_;
}

bool PartStore::satisfied_locked(const PlaylistRequest& request) const {
  if (ended_.load(std::memory_order_relaxed)) return true;
  if (!ready_.load(std::memory_order_relaxed)) return false;
  if (!request.msn) return true;
  if (!request.part) return last_segment_ >= *request.msn;
  return last_part_ && *last_part_ >= PartPosition{*request.msn, *request.part};
}

PartStore::Releases PartStore::release_waiters_locked() {
  Releases releases;
  if (waiters_.empty()) return releases;
  // One pass: the satisfied leave with the playlist that answers them.
  auto keep = std::stable_partition(waiters_.begin(), waiters_.end(),
                                    [this](const Waiter& w) { return !satisfied_locked(w.request); });
  releases.reserve(static_cast<std::size_t>(waiters_.end() - keep));
  for (auto it = keep; it != waiters_.end(); ++it) {
    releases.push_back({std::move(it->done), WaitOutcome::kReady, playlist_locked(it->request.skip)});
  }
  waiters_.erase(keep, waiters_.end());
  return releases;
}

void PartStore::run(Releases& releases) {
  for (auto& r : releases) r.done(r.outcome, std::move(r.playlist));
}

std::optional<std::string> PartStore::check_request(const PlaylistRequest& request) const {
  std::lock_guard lock(mutex_);
  if (request.part && !request.msn) return "_HLS_part requires _HLS_msn";
  if (request.msn && *request.msn > last_segment_ + 2) {
    // RFC 8216bis §6.2.5.2: more than two segments ahead is a client error.
    return fmt::format("_HLS_msn {} is more than two segments beyond the last segment ({})",
                       *request.msn, last_segment_);
  }
  return std::nullopt;
}

void PartStore::wait(const PlaylistRequest& request, Clock::time_point deadline, WaitCallback done) {
  core::SharedBytes answer;
  WaitOutcome outcome = WaitOutcome::kReady;
  {
    std::lock_guard lock(mutex_);
    if (!satisfied_locked(request)) {
      waiters_.push_back({request, deadline, std::move(done)});
      return;
    }
    answer = playlist_locked(request.skip);
    outcome = ended_.load(std::memory_order_relaxed) ? WaitOutcome::kEnded : WaitOutcome::kReady;
  }
  done(outcome, std::move(answer));
}

void PartStore::expire(Clock::time_point now) {
  Releases releases;
  {
    std::lock_guard lock(mutex_);
    if (waiters_.empty()) return;
    auto keep = std::stable_partition(waiters_.begin(), waiters_.end(),
                                      [now](const Waiter& w) { return w.deadline > now; });
    for (auto it = keep; it != waiters_.end(); ++it) {
      releases.push_back({std::move(it->done), WaitOutcome::kTimeout, {}});
    }
    waiters_.erase(keep, waiters_.end());
  }
  run(releases);
}

std::size_t PartStore::waiter_count() const {
  std::lock_guard lock(mutex_);
  return waiters_.size();
}

std::optional<PartPosition> PartStore::last_part() const {
  const std::int64_t packed = last_part_packed_.load(std::memory_order_acquire);
  if (packed < 0) return std::nullopt;
  return PartPosition{packed >> 16, static_cast<int>(packed & 0xffff)};
}

std::int64_t PartStore::last_segment_msn() const {
  std::lock_guard lock(mutex_);
  return last_segment_;
}

int PartStore::target_duration() const {
  std::lock_guard lock(mutex_);
  return target_duration_;
}

double PartStore::part_target() const {
  std::lock_guard lock(mutex_);
  return part_target_;
}

double PartStore::published_seconds() const {
  std::lock_guard lock(mutex_);
  return published_seconds_;
}

double PartStore::peak_bitrate() const {
  std::lock_guard lock(mutex_);
  double peak = 0;
  for (const auto& s : segments_) {
    if (s.complete && s.duration > 0) peak = std::max(peak, static_cast<double>(s.bytes) * 8 / s.duration);
  }
  return peak;
}

std::optional<core::SharedBytes> PartStore::init_segment(std::int64_t version) const {
  std::lock_guard lock(mutex_);
  auto it = inits_.find(version);
  if (it == inits_.end()) return std::nullopt;
  return it->second;
}

bool PartStore::in_window(std::int64_t msn) const {
  std::lock_guard lock(mutex_);
  for (const auto& seg : segments_) {
    if (seg.msn == msn) return seg.complete;
  }
  return false;
}

std::size_t PartStore::bytes_in_memory() const {
  std::lock_guard lock(mutex_);
  std::size_t total = 0;
  for (const auto& seg : segments_) {
    if (seg.spilled) continue;
    if (!seg.packed.empty()) {
      for (const auto& b : seg.packed) total += b.size();
    } else {
      for (const auto& part : seg.parts) total += part.bytes;
    }
  }
  return total;
}

std::optional<std::vector<core::SharedBytes>> PartStore::segment(std::int64_t msn) const {
  std::lock_guard lock(mutex_);
  for (const auto& seg : segments_) {
    if (seg.msn != msn) continue;
    if (!seg.complete || seg.spilled) return std::nullopt;
    if (!seg.packed.empty()) return seg.packed;
    std::vector<core::SharedBytes> out;
    out.reserve(seg.parts.size());
    for (const auto& part : seg.parts) {
      out.insert(out.end(), part.chunks.begin(), part.chunks.end());
    }
    return out;
  }
  return std::nullopt;
}

PartStore::PartLookup PartStore::part(PartPosition position, std::vector<core::SharedBytes>* complete,
                                      ChunkSink sink) {
  std::lock_guard lock(mutex_);
  if (ended_.load(std::memory_order_relaxed) && segments_.empty()) return PartLookup::kNotFound;
  for (auto& seg : segments_) {
    if (seg.msn != position.msn) continue;
    if (position.part < 0 || position.part >= static_cast<int>(seg.parts.size()) || seg.spilled) break;
    Part& part = seg.parts[static_cast<std::size_t>(position.part)];
    if (part.complete) {
      *complete = part.chunks;
      return PartLookup::kComplete;
    }
    if (!sink) return PartLookup::kNotFound;
    if (!part.chunks.empty()) sink(part.chunks, false, false);
    part.streams.push_back(std::move(sink));
    return PartLookup::kStreaming;
  }
  // Not begun yet: only the hinted part may be waited for.
  if (sink && !ended_.load(std::memory_order_relaxed) && ready_.load(std::memory_order_relaxed) &&
      position == hint_locked()) {
    early_streams_.emplace_back(position, std::move(sink));
    return PartLookup::kStreaming;
  }
  return PartLookup::kNotFound;
}

}  // namespace mirror::package::hls
