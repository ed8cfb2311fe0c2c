#include "storage/storage_service.h"

#include "core/logging.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <algorithm>
#include <filesystem>

namespace mirror::storage {
namespace {

namespace fs = std::filesystem;

// Reader threads, and the work they may have waiting before refusing more.
constexpr int kReaders = 2;
constexpr std::size_t kMaxReadsWaiting = 256;
// Less free space than this on the cache's disk makes the service degraded.
constexpr std::uint64_t kLowDiskBytes = 64ull * 1024 * 1024;

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
    settings.archive_enabled = false;  // S3 archiving is not wired yet
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
  // Writes what is queued: every completed segment reaches the disk.
  if (writer_) writer_->stop();
}

SegmentWriterStats StorageService::writer_stats() const {
  // The writer exists from start() on and is never replaced (its thread
  // stops in stop(); its figures stay readable).
  const auto* writer = writer_view_.load(std::memory_order_acquire);
  return writer ? writer->stats() : SegmentWriterStats{};
}

core::Health StorageService::health() const {
  core::Health h;
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
  if (!running_.load(std::memory_order_acquire)) {
    h.status = core::HealthStatus::kUnhealthy;
    h.message = "stopped";
  } else if (stats.degraded) {
    // Live delivery goes on; only the recording pauses.
    h.status = core::HealthStatus::kDegraded;
    h.message = "writing to the cache fails, recording paused: " + stats.last_error;
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
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return core::Error(errno == ENOENT ? core::ErrorCode::kNotFound : core::ErrorCode::kInternal,
                       fmt::format("cannot open {}: {}", fs::path(path).filename().string(), std::strerror(errno)));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || st.st_size < 0 || static_cast<std::uint64_t>(st.st_size) > max_bytes) {
    ::close(fd);
    return core::Error(core::ErrorCode::kInternal, "a cached file is larger than any segment may be");
  }
  std::string bytes(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = ::pread(fd, bytes.data() + got, bytes.size() - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      return core::Error(core::ErrorCode::kInternal, "a cached file was cut short while reading it");
    }
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return core::SharedBytes::from_string(std::move(bytes));
}

}  // namespace mirror::storage
