// Writes completed segments and their init segments into the local cache
// (storage.local.cache_dir) and records them in the segment index, on a
// thread of its own: the packaging thread only hands over a job holding
// the segment's shared bytes (no copy; the write is the only one).
//
// Each file goes to a temporary name, is flushed to the disk (fdatasync)
// and renamed into place, and only then is its row added: after a crash a
// file is whole or absent, and the index never names a file that is not
// there (start-up reconciliation removes the temporary leftovers).
//   <cache_dir>/<stream>/<rendition>/<session>/<msn>.m4s
//   <cache_dir>/<stream>/<rendition>/<session>/init-<version>.mp4
//
// A full disk or an unwritable directory pauses writing: the job is dropped
// and counted, degraded() says so, and the next job tries again, so writing
// resumes by itself when space returns. Live delivery never waits for it.
//
// Eviction, after each round of writes: while the cache holds more than
// its maximum, the least recently used local segments go. While S3 is on,
// only segments already archived go first; if those are not enough, the
// oldest unarchived ones go too, and each such loss is counted.
//
// Eviction and retention change the index first, then remove the files: a
// reader never finds a row whose file is gone (a crash in between leaves
// orphan files, which start-up reconciliation removes).
//
// Retention, every sweep interval: segments older than the retention time
// leave the cache and the index, and
// so do the sessions that ended before it; a session's folder, with its init
// segments, goes with its last segment.
//
// Recording sessions (begin, end, description) travel the same queue as
// segments, so they reach the index in the order they happened.
//
// Threads: submit() and stats() from any thread; start()/stop() from the
// owner's; files and the index only on the writer's own thread.
#pragma once

#include "core/shared_bytes.h"
#include "storage/archive_report.h"
#include "storage/segment_index.h"

#include <sys/uio.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_set>
#include <variant>
#include <vector>

namespace mirror::storage {

struct SegmentJob {
  SegmentRecord record;  // key, sequence numbers, time, duration, size
  std::vector<core::SharedBytes> bytes;
  // The init segment the record names, written once per version.
  std::optional<core::SharedBytes> init;
  // Called on the writer's thread once the segment's file and its index row
  // are in place; never when it was not recorded. It must only hand off.
  std::function<void()> cached;
};

// A recording session begins, ends, or describes its renditions.
struct SessionJob {
  enum class Kind { kOpen, kEnd, kDescribe };
  Kind kind = Kind::kOpen;
  std::string stream;
  std::int64_t id = 0;
  std::int64_t at_ms = 0;  // kOpen: its start; kEnd: its end
  std::string playlist;    // kDescribe: its multivariant playlist
};

// Segments were read at `at_ms` (they become the most recently used).
struct TouchJob {
  std::vector<SegmentKey> keys;
  std::int64_t at_ms = 0;
};

struct SegmentWriterSettings {
  std::string cache_dir;
  std::int64_t max_bytes = 10737418240;
  bool archive_enabled = false;  // S3 is on: unarchived segments go last
  std::size_t max_queue = 2000;  // segments waiting; more are dropped and counted
  std::int64_t retention_ms = 0;  // 0: kept until evicted
  // Archived segments not read for this long leave the local cache (0: never).
  std::int64_t ttl_ms = 0;
  // Archiving to S3 (archive_enabled): the writer offers unarchived
  // segments, oldest first, while the archiver has room, and hands it what
  // retention expires there; the archiver's reports come back through
  // submit(ArchiveReport).
  struct ArchiveHooks {
    std::function<std::size_t()> room;
    std::function<void(SegmentRecord record, std::string path, std::string init_path)> upload;
    std::function<void(std::vector<SegmentRecord> records)> expire;
    std::function<void(std::string stream, std::int64_t session, std::vector<std::string> object_keys)> expire_inits;
  };
  ArchiveHooks archive;
  std::chrono::milliseconds sweep_every{10'000};
  // Unix milliseconds now (tests move time).
  std::function<std::int64_t()> now_ms;
  // The write call (tests inject a full disk here).
  std::function<ssize_t(int fd, const iovec* iov, int count)> writev = ::writev;
};

struct SegmentWriterStats {
  std::uint64_t written = 0;
  std::uint64_t bytes_written = 0;
  std::uint64_t dropped_queue_full = 0;
  std::uint64_t write_errors = 0;  // jobs lost to a failed write or index update
  std::uint64_t evicted = 0;
  std::uint64_t evicted_unarchived = 0;  // losses: evicted before S3 had them
  std::uint64_t expired = 0;             // segments past the retention time, removed
  std::uint64_t index_errors = 0;        // session and touch updates the index refused
  std::uint64_t archived = 0;            // segments S3 confirmed
  std::uint64_t idle_evicted = 0;        // archived segments that left the cache after storage.local.ttl
  std::int64_t unarchived = 0;           // segments waiting for S3, as of the last sweep
  std::int64_t local_bytes = 0;          // segments in the cache, as of the last round
  std::size_t queued = 0;                // segments waiting
  bool degraded = false;                 // the last write failed
  std::string last_error;
};

class SegmentWriter {
 public:
  // `index` is used on the writer's thread only, from start() to stop().
  SegmentWriter(SegmentWriterSettings settings, SegmentIndex& index);
  ~SegmentWriter();
  SegmentWriter(const SegmentWriter&) = delete;
  SegmentWriter& operator=(const SegmentWriter&) = delete;

  // What start-up reconciliation found and did.
  struct Reconciled {
    std::uint64_t temporary_removed = 0;  // files a crash left half-written
    std::uint64_t orphans_removed = 0;    // segment files the index does not know
    std::uint64_t missing = 0;            // rows whose local file is gone (no longer local)
    std::uint64_t strangers = 0;          // other files, left alone
  };
  // Before start(): makes the cache directory and the index agree. Temporary
  // files and segment files without a row go; rows whose file is gone stop
  // counting as local (and go, unless S3 has the segment).
  core::Result<Reconciled> reconcile();

  void start();
  // Writes what is queued, then stops the thread.
  void stop();

  // Queues a job; false when the queue is full (the job is dropped).
  bool submit(SegmentJob job);
  // Session and touch jobs are small and never dropped.
  void submit(SessionJob job);
  void submit(TouchJob job);
  void submit(ArchiveReport report);
  SegmentWriterStats stats() const;
  // Blocks until every job submitted so far is written (or failed).
  void flush();

  // Where a segment's file is.
  std::string segment_path(const SegmentKey& key) const;
  std::string init_path(const SegmentKey& key, std::int64_t version) const;

 private:
  using Job = std::variant<SegmentJob, SessionJob, TouchJob, ArchiveReport>;
  void run();
  void enqueue(Job job);
  void write_job(SegmentJob& job, std::vector<SegmentRecord>& rows);
  void commit(std::vector<SegmentRecord>& rows);
  void session_job(const SessionJob& job);
  void sweep();
  void expire_idle_archived(std::int64_t now);
  void archive_report(const ArchiveReport& report);
  void feed_archive();
  static std::string key_text(const SegmentKey& key);
  void index_failed(const core::Error& error);
  bool write_file(const std::string& path, const std::vector<core::SharedBytes>& chunks, std::string& error);
  void evict();
  void fail(std::string error);

  SegmentWriterSettings settings_;
  SegmentIndex& index_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<Job> queue_;
  std::size_t queued_segments_ = 0;
  std::uint64_t submitted_ = 0;
  std::uint64_t done_ = 0;
  bool stopping_ = false;
  SegmentWriterStats stats_;
  std::thread thread_;
  // Bytes of the local segments the index lists (the writer's thread only).
  std::optional<std::int64_t> local_bytes_;
  // The `cached` calls of the files written since the last commit (the
  // writer's thread only): made once their rows are in the index.
  std::vector<std::function<void()>> written_;
  // Archiving, on the writer's thread: uploads offered and not yet answered,
  // deletions asked and not yet done.
  std::unordered_set<std::string> offered_;
  std::unordered_set<std::string> deleting_;
  std::unordered_set<std::string> deleting_inits_;  // "stream/session"
  std::chrono::steady_clock::time_point next_backlog_count_{};
};

}  // namespace mirror::storage
