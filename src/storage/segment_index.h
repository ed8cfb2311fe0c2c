// The DVR's index: every segment recorded for every stream and rendition
// (its recording session, media and discontinuity sequence numbers, init
// segment, PROGRAM-DATE-TIME, duration, size, and where its bytes are: the
// local cache, S3, or both), and each stream's recording sessions.
//
// SQLite in WAL mode with synchronous=NORMAL: a crash loses at most the
// last transactions, never the file, and readers never wait for the writer.
// DVR playlists come from range queries on (stream, rendition, time), never
// from listing a directory or a bucket. Rows read back are checked like any
// input: a row with impossible values is skipped and counted, not served.
//
// Threads: one thread uses a SegmentIndex at a time (the storage writer owns
// the read-write one). A reader on another thread opens its own read-only
// SegmentIndex on the same file.
#pragma once

#include "core/errors.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace mirror::storage {

// Where a segment's bytes are (bits).
enum SegmentPlace : std::uint8_t { kNowhere = 0, kLocal = 1, kRemote = 2 };

struct SegmentKey {
  std::string stream;
  std::string rendition;
  std::int64_t session = 0;
  std::int64_t media_sequence = 0;
  bool operator==(const SegmentKey&) const = default;
};

struct SegmentRecord {
  SegmentKey key;
  std::int64_t discontinuity_sequence = 0;
  std::int64_t init_version = 0;          // the init segment it needs (init-V.mp4)
  std::int64_t program_date_time_ms = 0;  // Unix ms of its first sample
  std::int64_t duration_us = 0;
  std::int64_t size_bytes = 0;
  std::uint8_t places = kLocal;
  std::int64_t accessed_ms = 0;  // last read (eviction is least recently used)
};

// One instance of a stream, from its start to its end. Its id is the first
// media sequence number of its segments (the packager numbers them from the
// creation time), so ids grow with time and never repeat for a name.
struct RecordingSession {
  std::int64_t id = 0;
  std::int64_t started_ms = 0;
  std::optional<std::int64_t> ended_ms;  // none while it records
  // Its multivariant playlist (relative URIs "<rendition>/playlist.m3u8"),
  // as the live stream last described itself; empty until it did.
  std::string playlist;
};

class SegmentIndex {
 public:
  // Opens (and creates, unless read-only) the index at `path`; ":memory:"
  // for a private one. Fails with a clear error on a file that is not an
  // index, or that fails SQLite's quick check.
  static core::Result<std::unique_ptr<SegmentIndex>> open(const std::string& path, bool read_only = false);
  ~SegmentIndex();
  SegmentIndex(const SegmentIndex&) = delete;
  SegmentIndex& operator=(const SegmentIndex&) = delete;

  // A recording session of `stream` begins (again: nothing changes), ends,
  // or describes its renditions (a multivariant playlist, at most 64 KiB).
  core::Status open_session(std::string_view stream, std::int64_t id, std::int64_t started_ms);
  core::Status end_session(std::string_view stream, std::int64_t id, std::int64_t ended_ms);
  core::Status describe_session(std::string_view stream, std::int64_t id, std::string_view playlist);
  // Oldest first.
  core::Result<std::vector<RecordingSession>> sessions(std::string_view stream);
  // After a crash: sessions left open end where their last segment ends (or
  // where they began, without one). Returns how many were closed.
  core::Result<std::int64_t> close_open_sessions();
  // Sessions that ended before `cutoff_ms` (their segments are gone by then).
  core::Status drop_sessions_ended_before(std::int64_t cutoff_ms);

  // Adds (or replaces) segments in one transaction.
  core::Status add(std::span<const SegmentRecord> segments);
  core::Status set_places(const SegmentKey& key, std::uint8_t places);
  // Marks segments read at `now_ms` (one transaction).
  core::Status touch(std::span<const SegmentKey> keys, std::int64_t now_ms);
  core::Status remove(std::span<const SegmentKey> keys);

  // The segments of one rendition whose PROGRAM-DATE-TIME is in
  // [from_ms, to_ms), in time order, at most `limit`.
  core::Result<std::vector<SegmentRecord>> window(std::string_view stream, std::string_view rendition,
                                                  std::int64_t from_ms, std::int64_t to_ms, std::size_t limit);
  // Segments with bytes in the local cache, least recently used first, at
  // most `limit`; with `archived_only`, only those also in S3.
  core::Result<std::vector<SegmentRecord>> least_recently_used_local(std::size_t limit, bool archived_only);
  // Segments only in the local cache (not in S3 yet), oldest first.
  core::Result<std::vector<SegmentRecord>> unarchived(std::size_t limit);
  // Segments now in S3 too (one transaction).
  core::Status mark_archived(std::span<const SegmentKey> keys);
  // Segments in both places not read since `cutoff_ms`, least recently used first.
  core::Result<std::vector<SegmentRecord>> idle_archived(std::int64_t cutoff_ms, std::size_t limit);
  // Segments only local and only in S3 (for health and metrics).
  core::Result<std::int64_t> unarchived_count();

  // Init segments uploaded to S3, per recording session (object keys).
  core::Status add_remote_init(std::string_view stream, std::int64_t session, std::string_view object_key);
  core::Status remove_remote_inits(std::string_view stream, std::int64_t session,
                                   std::span<const std::string> object_keys);
  // Uploaded init segments of sessions the index no longer has.
  struct RemoteInits {
    std::string stream;
    std::int64_t session = 0;
    std::vector<std::string> object_keys;
  };
  core::Result<std::vector<RemoteInits>> orphaned_remote_inits();

  // Segments (of any stream) older than `cutoff_ms`, oldest first.
  core::Result<std::vector<SegmentRecord>> older_than(std::int64_t cutoff_ms, std::size_t limit);
  // One segment's row, if the index has it (and it is plausible).
  core::Result<std::optional<SegmentRecord>> find(const SegmentKey& key);
  // Calls `visit` for every segment with bytes in the local cache.
  core::Status each_local(const std::function<void(const SegmentRecord&)>& visit);
  // Bytes of the segments in the local cache.
  core::Result<std::int64_t> local_bytes();
  core::Result<std::int64_t> count();

  // A record the index would accept (names as Mirror makes them, sane numbers).
  static bool plausible(const SegmentRecord& record);

  // Rows skipped because they held impossible values.
  std::uint64_t rejected_rows() const { return rejected_rows_; }

 private:
  explicit SegmentIndex(sqlite3* db);
  core::Status exec(const char* sql);
  core::Result<sqlite3_stmt*> prepared(int slot, const char* sql);
  core::Error error(std::string_view what) const;
  core::Result<std::vector<SegmentRecord>> records(sqlite3_stmt* stmt, std::size_t limit);

  sqlite3* db_;
  std::vector<sqlite3_stmt*> statements_;
  std::uint64_t rejected_rows_ = 0;
};

}  // namespace mirror::storage
