// PartStore: the live window of one rendition (one track of one stream) in
// memory: its init segments, segments and parts, the playlist that lists them,
// and the requests waiting for what comes next.
//
// The packager writes (begin_segment / begin_part / append / close_part /
// close_segment / end); HTTP handlers read (playlist, part and segment bytes)
// and park requests here:
// - a blocking playlist reload (_HLS_msn/_HLS_part) waits until the part it
//   names is published, then all such waiters are released in one pass;
// - a request for the part being written (the preload hint) is streamed: it
//   gets the bytes written so far and every chunk after, as it is appended.
// Waiting costs a callback in a vector, never a thread.
//
// Bytes are shared, never copied per viewer: a part is a list of SharedBytes
// (fragment headers and the frames' own pooled buffers). When a segment
// completes its parts are packed into one exact-size buffer, so the window
// holds only the bytes it serves, not whole pool blocks per frame.
//
// Threads: one packager thread writes; any thread reads. One mutex guards
// everything; callbacks run with it held and must only hand work off (Exchange
// answers post to their connection), never call back into the store.
#pragma once

#include "core/shared_bytes.h"
#include "media/media_frame.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace mirror::package::hls {

struct PlaylistSettings {
  int window_segments = 20;  // complete segments listed (packaging.playlist_segments)
  // Number of the first segment (and first init version). A stream instance
  // starts where no earlier instance of the same name could have reached, so
  // that URIs are never reused and caches may keep them forever.
  std::int64_t first_msn = 0;
  // Only the newest complete segments (those whose parts a playlist may
  // list, and one more) keep their bytes in memory; older ones are served
  // from the local cache the DVR writes them to, parts as byte ranges of
  // their segment's file, once the cache has confirmed them
  // (confirm_cached): a segment the cache could not take (a full disk, a
  // failing folder) keeps its bytes while it is listed. Off: the whole
  // window stays in memory.
  bool spill_old_segments = false;
};

// A part position: media sequence number and part index within its segment.
struct PartPosition {
  std::int64_t msn = 0;
  int part = 0;
  auto operator<=>(const PartPosition&) const = default;
};

// Another rendition of the same stream, for EXT-X-RENDITION-REPORT.
struct RenditionReport {
  std::string uri;  // relative to this playlist: "../audio/playlist.m3u8"
  std::int64_t last_msn = 0;
  int last_part = 0;
};

enum class WaitOutcome { kReady, kTimeout, kEnded };

// A segment that just completed, for whoever keeps segments beyond the live
// window (the DVR). Its bytes are the window's own, shared.
struct CompletedSegment {
  std::int64_t msn = 0;
  // Discontinuities in this rendition up to and including this segment.
  std::int64_t discontinuity_sequence = 0;
  std::int64_t init_version = 0;
  core::SharedBytes init;
  std::chrono::system_clock::time_point program_date_time{};
  double duration = 0;  // seconds
  std::vector<core::SharedBytes> bytes;
};

// What a playlist request asked for (already validated).
struct PlaylistRequest {
  std::optional<std::int64_t> msn;
  std::optional<int> part;
  bool skip = false;  // _HLS_skip=YES or v2
};

class PartStore {
 public:
  using Clock = std::chrono::steady_clock;
  // A chunk sink for a streamed part: the new chunks, then a call with
  // `done` set (complete) or `gone` set (the part will never exist).
  using ChunkSink = std::function<void(const std::vector<core::SharedBytes>& chunks, bool done, bool gone)>;

  PartStore(std::string rendition, media::TrackKind kind, PlaylistSettings settings);
  ~PartStore();
  PartStore(const PartStore&) = delete;
  PartStore& operator=(const PartStore&) = delete;

  const std::string& rendition() const { return rendition_; }
  media::TrackKind kind() const { return kind_; }
  const char* content_type() const {
    return kind_ == media::TrackKind::kAudio ? "audio/mp4" : "video/mp4";
  }

  // ---- packager thread ----
  // EXT-X-TARGETDURATION (seconds), fixed for the life of the playlist
  // (RFC 8216 §6.2.1): set once, before the first segment, from the
  // configuration. The packager keeps every segment within it.
  void set_target_duration(int target_duration);
  // PART-TARGET (seconds); set before the first part is published.
  void set_part_target(double part_target);
  // A new initialization segment; the next segment refers to it.
  void set_init(core::SharedBytes init);
  // The same under a version of the caller's (a relay keeps its origin's
  // numbers); ignored unless it is the first or newer than the current one.
  void set_init(core::SharedBytes init, std::int64_t version);
  // The number the next segment will get.
  std::int64_t next_msn() const;
  // Opens segment n+1. `program_date_time` is the wall clock of its first frame.
  void begin_segment(bool discontinuity, std::chrono::system_clock::time_point program_date_time);
  // Opens the next part of the open segment.
  void begin_part(bool independent);
  // Appends a CMAF chunk (fragment header + sample buffers) to the open part
  // and streams it to the part's waiting readers.
  void append(std::vector<core::SharedBytes> chunk);
  // Publishes the open part. `next_starts_segment` says where the next part
  // goes (the preload hint): the next index, or part 0 of the next segment.
  // A last part shorter than 85 % of PART-TARGET completes its segment in
  // the same publish (the segment's close_segment() then does nothing).
  void close_part(double duration, bool next_starts_segment);
  // Completes the open segment (its EXTINF is the sum of its parts).
  void close_segment();
  // The stream ended: the playlist gets EXT-X-ENDLIST; every waiter is answered.
  void end();
  // Other renditions' positions, reported in this rendition's playlist.
  void set_report_source(std::function<std::vector<RenditionReport>()> source);
  // Called, with the store's lock held, for each segment as it completes:
  // it must only hand the segment off (queue it), never call back in.
  // Set it before the first segment.
  using SegmentObserver = std::function<void(const CompletedSegment&)>;
  void set_segment_observer(SegmentObserver observer);

  // ---- any thread ----
  // The cache holds segment `msn` (its file and its index row): with
  // spill_old_segments its bytes may leave memory. A note for the packager
  // thread, taken up when it next trims the window; it takes no lock of the
  // store's, so the segment observer may call it too.
  void confirm_cached(std::int64_t msn);
  // True once the first segment is complete (the target duration is known).
  bool ready() const { return ready_.load(std::memory_order_acquire); }
  bool ended() const { return ended_.load(std::memory_order_acquire); }
  // Last published part (for rendition reports), and the last complete segment.
  std::optional<PartPosition> last_part() const;
  std::int64_t last_segment_msn() const;  // -1 before the first
  int target_duration() const;
  double part_target() const;
  std::uint64_t bytes_published() const { return bytes_published_.load(std::memory_order_relaxed); }
  double published_seconds() const;
  // Peak bitrate of a complete segment in the window (bits per second).
  double peak_bitrate() const;

  // Validates a blocking request against the current window: returns an
  // error message (for a 400) or nothing.
  std::optional<std::string> check_request(const PlaylistRequest& request) const;
  // Calls `done` with the playlist (full or delta, as asked) once it can
  // answer `request` (at once, on this thread, when it already can), with
  // kTimeout at `deadline`, or with kEnded and the final playlist when the
  // stream ends. Not ready yet counts as "cannot answer". `done` runs without
  // the store's lock held.
  using WaitCallback = std::function<void(WaitOutcome, core::SharedBytes playlist)>;
  void wait(const PlaylistRequest& request, Clock::time_point deadline, WaitCallback done);
  // Answers waiters whose deadline has passed. Called periodically.
  void expire(Clock::time_point now);
  std::size_t waiter_count() const;

  // The playlist text as of now (shared: the same bytes for every reader).
  core::SharedBytes playlist(bool skip);

  // Bytes of an init segment, a complete segment or a complete part; nothing
  // when not (or no longer) in the window, or (spill_old_segments) no longer
  // in memory: see in_window().
  std::optional<core::SharedBytes> init_segment(std::int64_t version) const;
  std::optional<std::vector<core::SharedBytes>> segment(std::int64_t msn) const;
  // The segment is listed in the playlist (complete), whether or not its
  // bytes are still in memory.
  bool in_window(std::int64_t msn) const;
  // Bytes of media held in memory (segments and parts of the window).
  std::size_t bytes_in_memory() const;
  // A part: complete parts are returned whole (`complete`); the part being
  // written (or the hinted one about to start) is streamed to `sink`.
  enum class PartLookup { kComplete, kStreaming, kNotFound };
  PartLookup part(PartPosition position, std::vector<core::SharedBytes>* complete, ChunkSink sink);
  // Where a complete part of a segment whose bytes left memory lies in the
  // segment (offset, length); nothing for any other part.
  struct ByteRange {
    std::size_t offset = 0;
    std::size_t length = 0;
  };
  std::optional<ByteRange> spilled_part(PartPosition position) const;

 private:
  struct Part {
    double duration = 0;
    bool independent = false;
    bool complete = false;
    std::size_t bytes = 0;
    std::vector<core::SharedBytes> chunks;
    std::vector<ChunkSink> streams;
  };
  struct Segment {
    std::int64_t msn = 0;
    bool discontinuity = false;
    std::int64_t init_version = 0;
    std::chrono::system_clock::time_point program_date_time{};
    double duration = 0;
    bool complete = false;
    std::size_t bytes = 0;
    std::deque<Part> parts;
    std::vector<core::SharedBytes> packed;  // the whole segment once complete
    bool cached = false;   // the cache confirmed it (confirm_cached)
    bool spilled = false;  // its bytes left memory (spill_old_segments)
  };
  struct Waiter {
    PlaylistRequest request;
    Clock::time_point deadline;
    WaitCallback done;
  };
  struct Release {
    WaitCallback done;
    WaitOutcome outcome;
    core::SharedBytes playlist;
  };
  using Releases = std::vector<Release>;

  bool satisfied_locked(const PlaylistRequest& request) const;
  // Moves the satisfied waiters out, with their answers, to be called unlocked.
  Releases release_waiters_locked();
  static void run(Releases& releases);
  core::SharedBytes playlist_locked(bool skip);
  void render_locked();
  std::string render_text_locked(bool skip) const;
  void compact_locked(Segment& segment);
  void complete_segment_locked(Segment& segment);
  void notify_segment_locked(const Segment& segment);
  void trim_window_locked();
  void spill_locked();
  Segment* open_segment_locked();
  PartPosition hint_locked() const;

  const std::string rendition_;
  const media::TrackKind kind_;
  const PlaylistSettings settings_;

  mutable std::mutex mutex_;
  // Segments the cache confirmed, not yet marked (see confirm_cached). Taken
  // after mutex_ when both are held, never before.
  std::mutex cached_mutex_;
  std::vector<std::int64_t> cached_inbox_;
  std::deque<Segment> segments_;
  std::int64_t next_msn_;
  int discontinuity_sequence_ = 0;  // discontinuities that left the window
  std::int64_t discontinuities_ = 0;  // in completed segments, from the first
  SegmentObserver segment_observer_;
  std::map<std::int64_t, core::SharedBytes> inits_;
  std::int64_t init_version_;
  bool pending_discontinuity_ = false;
  int target_duration_ = 1;
  double part_target_ = 0.1;
  bool next_starts_segment_ = false;  // the packager's hint after the last close_part
  std::optional<PartPosition> last_part_;
  std::int64_t last_segment_ = -1;
  std::vector<Waiter> waiters_;
  // Streams for a hinted part that has not begun yet.
  std::vector<std::pair<PartPosition, ChunkSink>> early_streams_;
  std::function<std::vector<RenditionReport>()> report_source_;
  core::SharedBytes full_playlist_;
  core::SharedBytes delta_playlist_;
  std::vector<RenditionReport> reports_;  // of version_, for both playlists
  std::uint64_t version_ = 0;        // bumps on every publish
  std::uint64_t delta_version_ = ~std::uint64_t{0};
  double published_seconds_ = 0;

  std::atomic<bool> ready_{false};
  std::atomic<bool> ended_{false};
  // The last published part packed as msn << 16 | part (-1: none), readable
  // without the lock by sibling renditions rendering their reports.
  std::atomic<std::int64_t> last_part_packed_{-1};
  std::atomic<std::uint64_t> bytes_published_{0};
};

// URIs inside a rendition's folder.
std::string init_uri(std::int64_t version);
std::string segment_uri(std::int64_t msn);
std::string part_uri(PartPosition position);

}  // namespace mirror::package::hls
