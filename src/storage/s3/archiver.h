// Archiver: copies the cache's segments to S3 and deletes what retention
// expires there, with a few worker threads, each with its own keep-alive
// connection (S3Client).
//
// The segment writer owns the index: it offers the archiver unarchived
// segments, oldest first, as long as the archiver has room, and hands it
// expired objects to delete; the archiver answers through `report` (which
// queues the answer back to the writer). An upload that fails is retried by
// its worker with exponential backoff and jitter (up to 30 s apart) until it
// succeeds, its file is gone, or the archiver stops: while S3 is down the
// segments wait in the cache, and when it returns the backlog drains at the
// pace of the workers.
//
// Object keys: <stream>/<rendition>/<date>/<msn>.m4s (the UTC date of the
// segment's first sample) and <stream>/<rendition>/sessions/<session>/init-<v>.mp4.
//
// Threads: offer(), expire(), room() and stats() from any thread; workers
// on their own threads; `report` is called from the workers.
#pragma once

#include "storage/archive_report.h"
#include "storage/s3/s3_client.h"
#include "storage/segment_index.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <variant>
#include <vector>

namespace mirror::storage::s3 {

std::string segment_object_key(const SegmentRecord& record);
std::string init_object_key(const SegmentKey& key, std::int64_t version);

struct ArchiverSettings {
  S3Settings s3;
  int workers = 4;
  std::size_t part_size = 8u << 20;  // bodies above it go as multipart uploads
  std::size_t max_waiting = 64;      // uploads queued beyond the ones in progress
  std::chrono::milliseconds first_retry{500};
  std::chrono::milliseconds max_retry{30'000};
};

struct ArchiverStats {
  std::uint64_t uploaded = 0;
  std::uint64_t bytes_uploaded = 0;
  std::uint64_t deleted = 0;
  std::uint64_t failures = 0;  // failed requests (each retry counts)
  double cpu_seconds = 0;      // the workers' own CPU time
  bool failing = false;        // the last request failed
  std::string last_error;
};

class Archiver {
 public:
  using Report = std::function<void(ArchiveReport)>;
  Archiver(ArchiverSettings settings, Report report);
  ~Archiver();
  Archiver(const Archiver&) = delete;
  Archiver& operator=(const Archiver&) = delete;

  void start();
  // Stops the workers; uploads not done are left for the next start (their
  // segments are still unarchived in the index).
  void stop();

  // Uploads it can take now.
  std::size_t room() const;
  // Uploads a segment (and, once per run, the init segment it needs) from
  // the cache. `path` and `init_path` are its files.
  void offer(SegmentRecord record, std::string path, std::string init_path);
  // Deletes segments' objects (batched, at most 1,000 per request).
  void expire(std::vector<SegmentRecord> records);
  // Deletes other objects (a session's init segments).
  void expire_inits(std::string stream, std::int64_t session, std::vector<std::string> object_keys);

  ArchiverStats stats() const;

 private:
  struct Upload {
    SegmentRecord record;
    std::string path;
    std::string init_path;
  };
  struct Delete {
    std::vector<SegmentKey> segments;
    std::vector<std::string> keys;
    std::string stream;
    std::int64_t session = 0;
    bool inits = false;
  };
  using Job = std::variant<Upload, Delete>;

  void work();
  // Runs one job until it succeeds or cannot; false when stopping cut it short.
  bool run(S3Client& client, Job& job);
  core::Status upload(S3Client& client, const Upload& job, bool& gone);
  void failed(const core::Error& error);
  void succeeded();
  bool pause(std::chrono::milliseconds delay);

  const ArchiverSettings settings_;
  const Report report_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> jobs_;
  std::size_t busy_ = 0;  // jobs a worker holds
  bool stopping_ = false;
  std::set<std::string> uploaded_inits_;  // this run's
  ArchiverStats stats_;
  std::chrono::steady_clock::time_point last_log_{};
  std::vector<std::thread> workers_;
};

}  // namespace mirror::storage::s3
