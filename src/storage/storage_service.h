// StorageService: the local segment cache and the DVR behind it.
//
// At start it makes the cache directory (storage.local.cache_dir), opens the
// segment index in it (index.sqlite), reconciles the two after whatever
// happened before (a crash, a disk that was cleaned by hand) and starts the
// segment writer. With storage.dvr.enabled off it only keeps the directory.
//
// Recording: the packaging thread hands over each completed segment (its
// shared bytes, no copy) and each recording session's begin, end and
// description; the writer's thread writes them, evicts by
// storage.local.max_cache_size and sweeps what is older than
// storage.dvr.retention_time.
//
// Reading: DVR playlists and segment reads run on the service's reader
// threads, each with its own read-only connection to the index, never on an
// event-loop thread. A full reader queue refuses work at once (the caller
// answers 503) rather than piling it up.
//
// Threads: start()/stop() from the control thread; record(), session jobs,
// read() and health() from any thread.
#pragma once

#include "core/config.h"
#include "core/metrics.h"
#include "core/service.h"
#include "storage/segment_index.h"
#include "storage/s3/archiver.h"
#include "storage/segment_writer.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <list>
#include <optional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace mirror::storage {

class StorageService final : public core::Service {
 public:
  StorageService(core::StorageConfig config, core::MetricsRegistry& metrics);
  ~StorageService() override;

  std::string_view name() const override { return "storage"; }
  core::Status start() override;
  void stop(core::Deadline deadline) override;
  core::Health health() const override;

  // Recording is on (storage.dvr.enabled) and the service has started.
  bool recording() const { return recording_.load(std::memory_order_acquire); }
  const core::StorageConfig& config() const { return config_; }

  // ---- any thread; ignored unless recording ----
  void open_session(const std::string& stream, std::int64_t id, std::int64_t started_ms);
  void end_session(const std::string& stream, std::int64_t id, std::int64_t ended_ms);
  void describe_session(const std::string& stream, std::int64_t id, std::string playlist);
  // False when the writer's queue is full (the segment is dropped, counted).
  bool record(SegmentJob job);

  // Runs `work` on a reader thread with a read-only index (null when the
  // index cannot be opened: `work` answers the error). False, at once, when
  // not recording or when the readers are saturated.
  using ReadWork = std::function<void(SegmentIndex* index)>;
  bool read(ReadWork work);
  // Marks segments read (least recently used eviction), from a reader.
  void touch(std::vector<SegmentKey> keys);

  // Where a segment's and an init segment's bytes are in the cache.
  std::string segment_path(const SegmentKey& key) const;
  std::string init_path(const SegmentKey& key, std::int64_t version) const;
  // A whole file of the cache, read by a reader thread.
  static core::Result<core::SharedBytes> read_file(const std::string& path, std::size_t max_bytes);
  // On a reader thread: a segment's or an init segment's bytes, from the
  // cache, or else from S3 (through a small in-memory read cache) when it
  // was archived. NOT_FOUND when neither has it.
  core::Result<core::SharedBytes> read_segment(SegmentIndex* index, const SegmentKey& key);
  core::Result<core::SharedBytes> read_init(const SegmentKey& key, std::int64_t version);
  // On a reader thread: a segment another node recorded and archived, by
  // the key its PROGRAM-DATE-TIME gives (Unix ms), from S3. NOT_FOUND when
  // S3 is off or does not have it.
  core::Result<core::SharedBytes> read_archived(const SegmentKey& key, std::int64_t program_date_time_ms);
  bool archiving() const { return archiver_ != nullptr; }
  s3::ArchiverStats archiver_stats() const;

  // What start-up reconciliation found (for tests and the log).
  SegmentWriter::Reconciled reconciled() const { return reconciled_; }
  SegmentWriterStats writer_stats() const;

 private:
  void register_metrics(core::MetricsRegistry& metrics);
  void reader_loop();
  core::Result<core::SharedBytes> read_remote(const std::string& object_key);
  std::optional<core::SharedBytes> cached(const std::string& object_key);
  void keep(const std::string& object_key, const core::SharedBytes& bytes);
  core::Result<std::unique_ptr<SegmentIndex>> open_index();

  const core::StorageConfig config_;
  const std::string index_path_;
  std::unique_ptr<SegmentIndex> index_;  // the writer's
  std::unique_ptr<s3::Archiver> archiver_;  // with storage.s3.enabled
  std::unique_ptr<SegmentWriter> writer_;
  // The writer for other threads' statistics: set once it exists.
  std::atomic<const SegmentWriter*> writer_view_{nullptr};
  SegmentWriter::Reconciled reconciled_;
  std::atomic<bool> running_{false};
  std::atomic<bool> recording_{false};

  mutable std::mutex read_mutex_;
  std::condition_variable read_wake_;
  std::deque<ReadWork> reads_;
  bool readers_stopping_ = false;
  std::vector<std::thread> readers_;
  std::atomic<std::uint64_t> reads_refused_{0};
  std::atomic<std::uint64_t> remote_reads_{0};
  std::atomic<std::uint64_t> remote_read_errors_{0};

  // Objects read back from S3, least recently used last (a reader's cache).
  struct CachedObject {
    std::string key;
    core::SharedBytes bytes;
  };
  std::mutex read_cache_mutex_;
  std::list<CachedObject> read_cache_;
  std::size_t read_cache_bytes_ = 0;
};

}  // namespace mirror::storage
