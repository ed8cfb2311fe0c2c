#include "storage/storage_service.h"

#include "core/logging.h"
#include "storage/cached_file.h"

#include <unistd.h>

#include <fmt/format.h>

#include <chrono>
#include <algorithm>
#include <filesystem>

namespace mirror::storage {
namespace {

namespace fs = std::filesystem;

// Reader threads, and the work they may have waiting before refusing more.
constexpr int kReaders = 2;
constexpr std::size_t kMaxReadsWaiting = 256;
// Objects read back from S3 kept in memory (a viewer scrubbing an old hour
// reads each segment of every rendition once; several viewers share them).
constexpr std::size_t kReadCacheBytes = 64u << 20;
constexpr std::size_t kMaxObjectBytes = 512u << 20;
// Less free space than this on the cache's disk makes the service degraded.
constexpr std::uint64_t kLowDiskBytes = 64ull * 1024 * 1024;

s3::S3Settings s3_settings(const core::S3Config& c) {
  s3::S3Settings s;
  s.endpoint = c.endpoint;
  s.region = c.region;
  s.bucket = c.bucket;
  s.access_key_id = c.access_key_id;
  s.secret_access_key = c.secret_access_key;
  s.use_ssl = c.use_ssl;
  return s;
}

std::int64_t ms(std::chrono::nanoseconds d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

}  // namespace

StorageService::StorageService(core::StorageConfig config, core::MetricsRegistry& metrics)
    : config_(std::move(config)), index_path_(config_.local.cache_dir + "/index.sqlite") {
  register_metrics(metrics);
}

StorageService::~StorageService() { stop(std::chrono::steady_clock::now()); }

void StorageService::register_metrics(core::MetricsRegistry& metrics) {
  auto stat = [this](auto field) {
    return [this, field] {
      const auto s = writer_stats();
      return static_cast<double>(s.*field);
    };
  };
  metrics.counter("mirror_storage_segments_written_total", "Segments written to the local cache")
      .with_callback({}, stat(&SegmentWriterStats::written));
  metrics.counter("mirror_storage_bytes_written_total", "Bytes of segments written to the local cache")
      .with_callback({}, stat(&SegmentWriterStats::bytes_written));
  metrics.counter("mirror_storage_write_errors_total",
                  "Segments lost to a failed write (full disk, unwritable directory) or index update")
      .with_callback({}, stat(&SegmentWriterStats::write_errors));
  metrics.counter("mirror_storage_dropped_total", "Segments dropped because the writer's queue was full")
      .with_callback({}, stat(&SegmentWriterStats::dropped_queue_full));
  auto& removed = metrics.counter("mirror_storage_segments_removed_total",
                                  "Segments removed from the local cache, by reason", {"reason"});
  removed.with_callback({"evicted"}, stat(&SegmentWriterStats::evicted));
  removed.with_callback({"evicted_unarchived"}, stat(&SegmentWriterStats::evicted_unarchived));
  removed.with_callback({"expired"}, stat(&SegmentWriterStats::expired));
  metrics.counter("mirror_storage_index_errors_total", "Session and read-time updates the segment index refused")
      .with_callback({}, stat(&SegmentWriterStats::index_errors));
  metrics.gauge("mirror_storage_cache_bytes", "Bytes of the segments in the local cache")
      .with_callback({}, stat(&SegmentWriterStats::local_bytes));
  metrics.gauge("mirror_storage_queued_segments", "Segments waiting to be written")
      .with_callback({}, stat(&SegmentWriterStats::queued));
  auto archived = [this](auto field) {
    return [this, field] { return static_cast<double>(archiver_stats().*field); };
  };
  metrics.counter("mirror_s3_uploads_total", "Segments uploaded to S3")
      .with_callback({}, archived(&s3::ArchiverStats::uploaded));
  metrics.counter("mirror_s3_upload_bytes_total", "Bytes of segments uploaded to S3")
      .with_callback({}, archived(&s3::ArchiverStats::bytes_uploaded));
  metrics.counter("mirror_s3_request_failures_total",
                  "S3 requests that failed (wrong credentials, no bucket, 403, 5xx, unreachable); each retry counts")
      .with_callback({}, archived(&s3::ArchiverStats::failures));
  metrics.counter("mirror_s3_deleted_total", "Objects deleted from S3 by retention")
      .with_callback({}, archived(&s3::ArchiverStats::deleted));
  metrics.gauge("mirror_storage_unarchived_segments", "Segments in the local cache waiting for S3")
      .with_callback({}, stat(&SegmentWriterStats::unarchived));
  metrics.counter("mirror_storage_remote_reads_total", "DVR segments read back from S3 (not in the local cache)")
      .with_callback({}, [this] { return static_cast<double>(remote_reads_.load(std::memory_order_relaxed)); });
  metrics.counter("mirror_storage_reads_refused_total", "DVR reads refused because the readers were saturated")
      .with_callback({}, [this] { return static_cast<double>(reads_refused_.load(std::memory_order_relaxed)); });
}

core::Result<std::unique_ptr<SegmentIndex>> StorageService::open_index() {
  auto index = SegmentIndex::open(index_path_);
  if (index) return index;
  // A damaged index is set aside and a new one begins: reconciliation then
  // removes the files it no longer knows. Recording goes on either way.
  const std::string aside = fmt::format("{}.damaged-{}", index_path_,
                                        std::chrono::duration_cast<std::chrono::seconds>(
                                            std::chrono::system_clock::now().time_since_epoch())
                                            .count());
  core::log::error("the segment index cannot be used; setting it aside and starting a new one",
                   {{"path", index_path_}, {"moved_to", aside}, {"error", index.error().message}});
  std::error_code ec;
  fs::rename(index_path_, aside, ec);
  for (const char* suffix : {"-wal", "-shm"}) fs::remove(index_path_ + suffix, ec);
  return SegmentIndex::open(index_path_);
}

core::Status StorageService::start() {
  const std::string& dir = config_.local.cache_dir;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return core::Error(core::ErrorCode::kServiceUnavailable, "cannot create cache directory " + dir + ": " + ec.message(),
                       {{"key", "storage.local.cache_dir"}});
  }
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    return core::Error(core::ErrorCode::kServiceUnavailable, "cache directory " + dir + " is not writable",
                       {{"key", "storage.local.cache_dir"}});
  }
  if (config_.dvr.enabled) {
    auto index = open_index();
    if (!index) return index.error();
    index_ = std::move(*index);
    SegmentWriterSettings settings;
    settings.cache_dir = dir;
    settings.max_bytes = config_.local.max_cache_size;
    if (config_.s3.enabled) {
      s3::ArchiverSettings a;
      a.s3 = s3_settings(config_.s3);
      archiver_ = std::make_unique<s3::Archiver>(std::move(a), [this](ArchiveReport report) {
        // To the writer's thread, which owns the index.
        writer_->submit(std::move(report));
      });
      settings.archive_enabled = true;
      settings.ttl_ms = ms(config_.local.ttl);
      settings.archive.room = [this] { return archiver_->room(); };
      settings.archive.upload = [this](SegmentRecord r, std::string path, std::string init) {
        archiver_->offer(std::move(r), std::move(path), std::move(init));
      };
      settings.archive.expire = [this](std::vector<SegmentRecord> records) { archiver_->expire(std::move(records)); };
      settings.archive.expire_inits = [this](std::string stream, std::int64_t session, std::vector<std::string> keys) {
        archiver_->expire_inits(std::move(stream), session, std::move(keys));
      };
    }
    settings.retention_ms = ms(config_.dvr.retention_time);
    // A sweep every tenth of the retention time, between 1 s and a minute.
    settings.sweep_every = std::clamp(std::chrono::milliseconds(settings.retention_ms / 10),
                                      std::chrono::milliseconds(1000), std::chrono::milliseconds(60'000));
    writer_ = std::make_unique<SegmentWriter>(std::move(settings), *index_);
    const auto t0 = std::chrono::steady_clock::now();
    auto reconciled = writer_->reconcile();
    if (!reconciled) {
      writer_.reset();
      index_.reset();
      return reconciled.error();
    }
    reconciled_ = *reconciled;
    if (archiver_) archiver_->start();
    writer_->start();
    writer_view_.store(writer_.get(), std::memory_order_release);
    {
      std::lock_guard lock(read_mutex_);
      readers_stopping_ = false;
    }
    for (int i = 0; i < kReaders; ++i) readers_.emplace_back([this] { reader_loop(); });
    recording_.store(true, std::memory_order_release);
    auto segments = index_->count();
    core::log::info("segment cache ready",
                    {{"dir", dir},
                     {"segments", segments ? *segments : -1},
                     {"max_bytes", config_.local.max_cache_size},
                     {"retention_s", ms(config_.dvr.retention_time) / 1000},
                     {"temporary_removed", reconciled_.temporary_removed},
                     {"orphans_removed", reconciled_.orphans_removed},
                     {"missing", reconciled_.missing},
                     {"s3_bucket", config_.s3.enabled ? config_.s3.bucket : std::string("(off)")},
                     {"reconcile_ms", std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                                          .count()}});
  } else {
    core::log::info("segment cache ready without DVR recording (storage.dvr.enabled is off)", {{"dir", dir}});
  }
  running_.store(true, std::memory_order_release);
  return core::Ok{};
}

void StorageService::stop(core::Deadline) {
  running_.store(false, std::memory_order_release);
  recording_.store(false, std::memory_order_release);
  {
    std::lock_guard lock(read_mutex_);
    readers_stopping_ = true;
  }
  read_wake_.notify_all();
  for (auto& t : readers_) t.join();
  readers_.clear();
  // Uploads in progress are abandoned (their segments stay unarchived and go
  // up at the next start); then everything queued reaches the disk.
  if (archiver_) archiver_->stop();
  if (writer_) writer_->stop();
}

SegmentWriterStats StorageService::writer_stats() const {
  // The writer exists from start() on and is never replaced (its thread
  // stops in stop(); its figures stay readable).
  const auto* writer = writer_view_.load(std::memory_order_acquire);
  return writer ? writer->stats() : SegmentWriterStats{};
}

s3::ArchiverStats StorageService::archiver_stats() const {
  return archiver_ && running_.load(std::memory_order_acquire) ? archiver_->stats() : s3::ArchiverStats{};
}

core::Health StorageService::health() const {
  core::Health h;
  const auto archive = archiver_stats();
  std::error_code ec;
  const auto space = fs::space(config_.local.cache_dir, ec);
  const auto stats = writer_stats();
  h.details = {{"dir", config_.local.cache_dir},
               {"dvr", config_.dvr.enabled},
               {"used_bytes", stats.local_bytes},
               {"max_bytes", config_.local.max_cache_size},
               {"segments_written", stats.written},
               {"write_errors", stats.write_errors},
               {"dropped", stats.dropped_queue_full},
               {"evicted", stats.evicted},
               {"expired", stats.expired},
               {"queued", stats.queued}};
  if (!ec) h.details["disk_available_bytes"] = space.available;
  if (archiver_) {
    h.details["s3"] = {{"bucket", config_.s3.bucket},
                       {"uploaded", archive.uploaded},
                       {"bytes_uploaded", archive.bytes_uploaded},
                       {"failures", archive.failures},
                       {"waiting", stats.unarchived},
                       {"last_error", archive.last_error}};
  }
  if (!running_.load(std::memory_order_acquire)) {
    h.status = core::HealthStatus::kUnhealthy;
    h.message = "stopped";
  } else if (stats.degraded) {
    // Live delivery goes on; only the recording pauses.
    h.status = core::HealthStatus::kDegraded;
    h.message = "writing to the cache fails, recording paused: " + stats.last_error;
  } else if (archive.failing) {
    h.status = core::HealthStatus::kDegraded;
    h.message = "S3 archiving fails, segments wait in the cache: " + archive.last_error;
  } else if (ec) {
    h.status = core::HealthStatus::kDegraded;
    h.message = "cannot read disk space: " + ec.message();
  } else if (space.available < kLowDiskBytes) {
    h.status = core::HealthStatus::kDegraded;
    h.message = "less than 64 MiB free on the cache disk";
  } else {
    h.message = "ok";
  }
  return h;
}

void StorageService::open_session(const std::string& stream, std::int64_t id, std::int64_t started_ms) {
  if (!recording()) return;
  writer_->submit(SessionJob{SessionJob::Kind::kOpen, stream, id, started_ms, {}});
}

void StorageService::end_session(const std::string& stream, std::int64_t id, std::int64_t ended_ms) {
  if (!recording()) return;
  writer_->submit(SessionJob{SessionJob::Kind::kEnd, stream, id, ended_ms, {}});
}

void StorageService::describe_session(const std::string& stream, std::int64_t id, std::string playlist) {
  if (!recording()) return;
  writer_->submit(SessionJob{SessionJob::Kind::kDescribe, stream, id, 0, std::move(playlist)});
}

bool StorageService::record(SegmentJob job) { return recording() && writer_->submit(std::move(job)); }

void StorageService::touch(std::vector<SegmentKey> keys) {
  if (!recording() || keys.empty()) return;
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  writer_->submit(TouchJob{std::move(keys), now});
}

bool StorageService::read(ReadWork work) {
  if (!recording()) return false;
  {
    std::lock_guard lock(read_mutex_);
    if (readers_stopping_ || reads_.size() >= kMaxReadsWaiting) {
      reads_refused_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    reads_.push_back(std::move(work));
  }
  read_wake_.notify_one();
  return true;
}

void StorageService::reader_loop() {
  std::unique_ptr<SegmentIndex> index;
  for (;;) {
    ReadWork work;
    {
      std::unique_lock lock(read_mutex_);
      read_wake_.wait(lock, [&] { return readers_stopping_ || !reads_.empty(); });
      if (reads_.empty()) return;  // stopping; work already queued is done first
      work = std::move(reads_.front());
      reads_.pop_front();
    }
    if (!index) {
      auto opened = SegmentIndex::open(index_path_, /*read_only=*/true);
      if (opened) {
        index = std::move(*opened);
      } else {
        core::log::warn("a DVR reader cannot open the segment index", {{"error", opened.error().message}});
      }
    }
    work(index.get());
  }
}

std::string StorageService::segment_path(const SegmentKey& key) const {
  return writer_ ? writer_->segment_path(key) : std::string();
}

std::string StorageService::init_path(const SegmentKey& key, std::int64_t version) const {
  return writer_ ? writer_->init_path(key, version) : std::string();
}

core::Result<core::SharedBytes> StorageService::read_file(const std::string& path, std::size_t max_bytes) {
  auto bytes = read_cached_file(path, max_bytes);
  if (!bytes) return bytes.error();
  return core::SharedBytes::from_string(std::move(*bytes));
}

core::Result<core::SharedBytes> StorageService::read_segment(SegmentIndex* index, const SegmentKey& key) {
  auto local = read_file(segment_path(key), kMaxObjectBytes);
  if (local || local.error().code != core::ErrorCode::kNotFound || !archiver_ || index == nullptr) return local;
  auto row = index->find(key);
  if (!row) return row.error();
  if (!*row || !((*row)->places & kRemote)) return local;
  return read_remote(s3::segment_object_key(**row));
}

core::Result<core::SharedBytes> StorageService::read_init(const SegmentKey& key, std::int64_t version) {
  auto local = read_file(init_path(key, version), kMaxObjectBytes);
  if (local || local.error().code != core::ErrorCode::kNotFound || !archiver_) return local;
  return read_remote(s3::init_object_key(key, version));
}

core::Result<core::SharedBytes> StorageService::read_archived(const SegmentKey& key, std::int64_t program_date_time_ms) {
  if (!archiver_) return core::Error(core::ErrorCode::kNotFound, "S3 archiving is off on this node");
  SegmentRecord record;
  record.key = key;
  record.program_date_time_ms = program_date_time_ms;
  return read_remote(s3::segment_object_key(record));
}

core::Result<core::SharedBytes> StorageService::read_remote(const std::string& object_key) {
  if (auto hit = cached(object_key)) return *hit;
  // Each reader thread keeps its own connection.
  struct ThreadClient {
    const StorageService* owner = nullptr;
    std::unique_ptr<s3::S3Client> client;
  };
  thread_local ThreadClient mine;
  if (mine.owner != this || !mine.client) {
    s3::S3Settings settings = s3_settings(config_.s3);
    settings.request_timeout = std::chrono::milliseconds(10'000);
    mine.client = std::make_unique<s3::S3Client>(std::move(settings));
    mine.owner = this;
  }
  auto body = mine.client->get_object(object_key);
  if (!body) {
    remote_read_errors_.fetch_add(1, std::memory_order_relaxed);
    return body.error();
  }
  remote_reads_.fetch_add(1, std::memory_order_relaxed);
  auto bytes = core::SharedBytes::from_string(std::move(*body));
  keep(object_key, bytes);
  return bytes;
}

std::optional<core::SharedBytes> StorageService::cached(const std::string& object_key) {
  std::lock_guard lock(read_cache_mutex_);
  for (auto it = read_cache_.begin(); it != read_cache_.end(); ++it) {
    if (it->key == object_key) {
      read_cache_.splice(read_cache_.begin(), read_cache_, it);
      return read_cache_.front().bytes;
    }
  }
  return std::nullopt;
}

void StorageService::keep(const std::string& object_key, const core::SharedBytes& bytes) {
  if (bytes.size() > kReadCacheBytes / 4) return;
  std::lock_guard lock(read_cache_mutex_);
  read_cache_.push_front({object_key, bytes});
  read_cache_bytes_ += bytes.size();
  while (read_cache_bytes_ > kReadCacheBytes && !read_cache_.empty()) {
    read_cache_bytes_ -= read_cache_.back().bytes.size();
    read_cache_.pop_back();
  }
}

}  // namespace mirror::storage
