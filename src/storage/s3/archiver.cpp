#include "storage/s3/archiver.h"

#include "core/logging.h"
#include "storage/cached_file.h"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <random>

namespace mirror::storage::s3 {
namespace {

// Objects per DeleteObjects request.
constexpr std::size_t kDeleteBatch = 1000;
// One log line per this long about failing requests; the counters say how many.
constexpr auto kLogEvery = std::chrono::seconds{30};
// No segment file is larger than this.
constexpr std::size_t kMaxFileBytes = 512u << 20;

std::string utc_date(std::int64_t unix_ms) {
  const auto t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// A whole file of the cache; `gone` when it does not exist.
core::Result<std::string> read_whole(const std::string& path, bool& gone) {
  auto bytes = read_cached_file(path, kMaxFileBytes);
  gone = !bytes && bytes.error().code == core::ErrorCode::kNotFound;
  return bytes;
}

std::span<const std::byte> as_bytes(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

}  // namespace

std::string segment_object_key(const SegmentRecord& record) {
  return fmt::format("{}/{}/{}/{}.m4s", record.key.stream, record.key.rendition,
                     utc_date(record.program_date_time_ms), record.key.media_sequence);
}

std::string init_object_key(const SegmentKey& key, std::int64_t version) {
  return fmt::format("{}/{}/sessions/{}/init-{}.mp4", key.stream, key.rendition, key.session, version);
}

Archiver::Archiver(ArchiverSettings settings, Report report)
    : settings_(std::move(settings)), report_(std::move(report)) {}

Archiver::~Archiver() { stop(); }

void Archiver::start() {
  std::lock_guard lock(mutex_);
  if (!workers_.empty()) return;
  stopping_ = false;
  for (int i = 0; i < std::max(1, settings_.workers); ++i) workers_.emplace_back([this] { work(); });
}

void Archiver::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
  std::lock_guard lock(mutex_);
  workers_.clear();
  jobs_.clear();
  busy_ = 0;
}

std::size_t Archiver::room() const {
  std::lock_guard lock(mutex_);
  const std::size_t capacity = settings_.max_waiting + static_cast<std::size_t>(std::max(1, settings_.workers));
  const std::size_t used = jobs_.size() + busy_;
  return used >= capacity ? 0 : capacity - used;
}

void Archiver::offer(SegmentRecord record, std::string path, std::string init_path) {
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back(Upload{std::move(record), std::move(path), std::move(init_path)});
  }
  wake_.notify_one();
}

void Archiver::expire(std::vector<SegmentRecord> records) {
  for (std::size_t at = 0; at < records.size(); at += kDeleteBatch) {
    Delete d;
    for (std::size_t i = at; i < std::min(records.size(), at + kDeleteBatch); ++i) {
      d.segments.push_back(records[i].key);
      d.keys.push_back(segment_object_key(records[i]));
    }
    {
      std::lock_guard lock(mutex_);
      jobs_.push_back(std::move(d));
    }
    wake_.notify_one();
  }
}

void Archiver::expire_inits(std::string stream, std::int64_t session, std::vector<std::string> object_keys) {
  if (object_keys.empty()) return;
  Delete d;
  d.keys = std::move(object_keys);
  d.stream = std::move(stream);
  d.session = session;
  d.inits = true;
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back(std::move(d));
  }
  wake_.notify_one();
}

ArchiverStats Archiver::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void Archiver::work() {
  S3Client client(settings_.s3);
  double cpu_reported = thread_cpu_seconds();
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
      ++busy_;
    }
    run(client, job);
    const double cpu = thread_cpu_seconds();
    std::lock_guard lock(mutex_);
    --busy_;
    stats_.cpu_seconds += cpu - cpu_reported;
    cpu_reported = cpu;
  }
}

bool Archiver::pause(std::chrono::milliseconds delay) {
  std::unique_lock lock(mutex_);
  return !wake_.wait_for(lock, delay, [&] { return stopping_; });
}

bool Archiver::run(S3Client& client, Job& job) {
  static thread_local std::mt19937 rng{std::random_device{}()};
  std::chrono::milliseconds delay = settings_.first_retry;
  for (;;) {
    core::Status status = core::Ok{};
    bool gone = false;
    if (auto* up = std::get_if<Upload>(&job)) {
      status = upload(client, *up, gone);
      if (status) {
        report_({ArchiveReport::Kind::kUploaded, {up->record.key}, {}, 0, {}});
      } else if (gone) {
        report_({ArchiveReport::Kind::kGone, {up->record.key}, {}, 0, {}});
        return true;
      }
    } else {
      auto& del = std::get<Delete>(job);
      status = client.delete_objects(del.keys);
      if (status) {
        {
          std::lock_guard lock(mutex_);
          stats_.deleted += del.keys.size();
        }
        if (del.inits) {
          report_({ArchiveReport::Kind::kInitsDeleted, {}, del.stream, del.session, del.keys});
        } else {
          report_({ArchiveReport::Kind::kDeleted, del.segments, {}, 0, {}});
        }
      }
    }
    if (status) {
      succeeded();
      return true;
    }
    failed(status.error());
    // Exponential backoff with full jitter, capped.
    std::uniform_int_distribution<std::int64_t> jitter(delay.count() / 2, delay.count());
    if (!pause(std::chrono::milliseconds(jitter(rng)))) return false;
    delay = std::min(settings_.max_retry, delay * 2);
  }
}

core::Status Archiver::upload(S3Client& client, const Upload& job, bool& gone) {
  const std::string init_key = init_object_key(job.record.key, job.record.init_version);
  bool init_done;
  {
    std::lock_guard lock(mutex_);
    init_done = uploaded_inits_.contains(init_key);
  }
  if (!init_done) {
    auto init = read_whole(job.init_path, gone);
    if (!init) return init.error();
    if (auto s = client.upload(init_key, as_bytes(*init), "video/mp4", settings_.part_size); !s) return s;
    {
      std::lock_guard lock(mutex_);
      uploaded_inits_.insert(init_key);
    }
    report_({ArchiveReport::Kind::kInitUploaded, {}, job.record.key.stream, job.record.key.session, {init_key}});
  }
  auto bytes = read_whole(job.path, gone);
  if (!bytes) return bytes.error();
  if (auto s = client.upload(segment_object_key(job.record), as_bytes(*bytes), "video/iso.segment",
                             settings_.part_size);
      !s) {
    return s;
  }
  std::lock_guard lock(mutex_);
  ++stats_.uploaded;
  stats_.bytes_uploaded += bytes->size();
  return core::Ok{};
}

void Archiver::failed(const core::Error& error) {
  bool log = false;
  std::uint64_t failures;
  {
    std::lock_guard lock(mutex_);
    failures = ++stats_.failures;
    const auto now = std::chrono::steady_clock::now();
    log = !stats_.failing || now - last_log_ >= kLogEvery;
    if (log) last_log_ = now;
    stats_.failing = true;
    stats_.last_error = error.message;
  }
  if (log) {
    const std::string details = error.details.dump();
    core::log::warn("S3 archiving is failing; segments wait in the local cache",
                    {{"error", error.message}, {"details", details}, {"failures", failures}});
  }
}

void Archiver::succeeded() {
  bool recovered = false;
  {
    std::lock_guard lock(mutex_);
    recovered = stats_.failing;
    stats_.failing = false;
  }
  if (recovered) core::log::info("S3 archiving works again", {{"bucket", settings_.s3.bucket}});
}

}  // namespace mirror::storage::s3
