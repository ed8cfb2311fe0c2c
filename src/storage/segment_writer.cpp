#include "storage/segment_writer.h"

#include "core/logging.h"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <set>
#include <system_error>

namespace mirror::storage {
namespace {

namespace fs = std::filesystem;

// At most this many iovecs per writev call (IOV_MAX is 1024 on Linux).
constexpr std::size_t kIovBatch = 512;
// Rows evicted per look at the index.
constexpr std::size_t kEvictBatch = 256;
// Rows expired per look at the index.
constexpr std::size_t kSweepBatch = 1000;

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

SegmentWriter::SegmentWriter(SegmentWriterSettings settings, SegmentIndex& index)
    : settings_(std::move(settings)), index_(index) {
  if (!settings_.now_ms) settings_.now_ms = unix_ms_now;
}

SegmentWriter::~SegmentWriter() { stop(); }

core::Result<SegmentWriter::Reconciled> SegmentWriter::reconcile() {
  Reconciled out;
  std::error_code ec;
  if (fs::exists(settings_.cache_dir, ec)) {
    // <stream>/<rendition>/<session>/<msn>.m4s, as segment_path() makes them.
    for (auto it = fs::recursive_directory_iterator(settings_.cache_dir, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (!it->is_regular_file(ec)) continue;
      const fs::path& path = it->path();
      if (path.extension() == ".tmp") {
        fs::remove(path, ec);
        ++out.temporary_removed;
        continue;
      }
      if (path.extension() != ".m4s" || it.depth() != 3) {
        ++out.strangers;
        continue;
      }
      SegmentKey key;
      key.media_sequence = -1;
      const auto number = [](const std::string& text, std::int64_t& value) {
        auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), value);
        return err == std::errc() && end == text.data() + text.size();
      };
      const fs::path session_dir = path.parent_path();
      key.rendition = session_dir.parent_path().filename().string();
      key.stream = session_dir.parent_path().parent_path().filename().string();
      if (!number(path.stem().string(), key.media_sequence) || !number(session_dir.filename().string(), key.session)) {
        ++out.strangers;
        continue;
      }
      auto row = index_.find(key);
      if (!row) return row.error();
      if (!*row || !((*row)->places & kLocal)) {
        fs::remove(path, ec);
        ++out.orphans_removed;
      }
    }
  }
  std::vector<SegmentRecord> missing;
  if (auto s = index_.each_local([&](const SegmentRecord& r) {
        std::error_code exists_ec;
        if (!fs::exists(segment_path(r.key), exists_ec)) missing.push_back(r);
      });
      !s) {
    return s.error();
  }
  std::vector<SegmentKey> gone;
  for (const auto& r : missing) {
    if (r.places & kRemote) {
      if (auto s = index_.set_places(r.key, kRemote); !s) return s.error();
    } else {
      gone.push_back(r.key);
    }
  }
  if (auto s = index_.remove(gone); !s) return s.error();
  if (auto closed = index_.close_open_sessions(); !closed) return closed.error();
  out.missing = missing.size();
  local_bytes_.reset();
  return out;
}

void SegmentWriter::start() {
  {
    std::lock_guard lock(mutex_);
    if (thread_.joinable()) return;
  }
  // Before the thread: the cache's size as the index knows it (stats are
  // right from the start), and eviction if the limit went down.
  evict();
  std::lock_guard lock(mutex_);
  if (local_bytes_) stats_.local_bytes = *local_bytes_;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void SegmentWriter::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool SegmentWriter::submit(SegmentJob job) {
  {
    std::lock_guard lock(mutex_);
    if (queued_segments_ >= settings_.max_queue) {
      ++stats_.dropped_queue_full;
      return false;
    }
    ++queued_segments_;
    queue_.emplace_back(std::move(job));
    ++submitted_;
  }
  wake_.notify_one();
  return true;
}

void SegmentWriter::submit(SessionJob job) { enqueue(std::move(job)); }
void SegmentWriter::submit(ArchiveReport report) { enqueue(std::move(report)); }
void SegmentWriter::submit(TouchJob job) { enqueue(std::move(job)); }

void SegmentWriter::enqueue(Job job) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(job));
    ++submitted_;
  }
  wake_.notify_one();
}

SegmentWriterStats SegmentWriter::stats() const {
  std::lock_guard lock(mutex_);
  SegmentWriterStats out = stats_;
  out.queued = queued_segments_;
  return out;
}

void SegmentWriter::flush() {
  std::unique_lock lock(mutex_);
  const auto target = submitted_;
  idle_.wait(lock, [&] { return done_ >= target || !thread_.joinable(); });
}

std::string SegmentWriter::segment_path(const SegmentKey& key) const {
  return fmt::format("{}/{}/{}/{}/{}.m4s", settings_.cache_dir, key.stream, key.rendition, key.session,
                     key.media_sequence);
}

std::string SegmentWriter::init_path(const SegmentKey& key, std::int64_t version) const {
  return fmt::format("{}/{}/{}/{}/init-{}.mp4", settings_.cache_dir, key.stream, key.rendition, key.session,
                     version);
}

void SegmentWriter::run() {
  std::vector<Job> round;
  std::vector<SegmentRecord> rows;
  auto next_sweep = std::chrono::steady_clock::now();
  // What an earlier run left unarchived goes first.
  feed_archive();
  for (;;) {
    bool sweep_due = false;
    {
      std::unique_lock lock(mutex_);
      const bool sweeping = settings_.retention_ms > 0;
      auto ready = [&] { return stopping_ || !queue_.empty(); };
      if (sweeping) {
        wake_.wait_until(lock, next_sweep, ready);
      } else {
        wake_.wait(lock, ready);
      }
      if (queue_.empty() && stopping_) break;  // everything is written
      sweep_due = sweeping && std::chrono::steady_clock::now() >= next_sweep;
      while (!queue_.empty()) {
        if (std::holds_alternative<SegmentJob>(queue_.front())) --queued_segments_;
        round.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    rows.clear();
    for (auto& job : round) {
      if (auto* segment = std::get_if<SegmentJob>(&job)) {
        write_job(*segment, rows);
      } else if (auto* session = std::get_if<SessionJob>(&job)) {
        // The round's segments first: a session's end follows its last segment.
        if (session->kind == SessionJob::Kind::kEnd) commit(rows);
        session_job(*session);
      } else if (auto* touch = std::get_if<TouchJob>(&job)) {
        if (auto s = index_.touch(touch->keys, touch->at_ms); !s) index_failed(s.error());
      } else if (auto* report = std::get_if<ArchiveReport>(&job)) {
        archive_report(*report);
      }
    }
    // One transaction for the round's rows.
    commit(rows);
    evict();
    if (sweep_due) {
      sweep();
      next_sweep = std::chrono::steady_clock::now() + settings_.sweep_every;
    }
    feed_archive();
    {
      std::lock_guard lock(mutex_);
      done_ += round.size();
      if (local_bytes_) stats_.local_bytes = *local_bytes_;
    }
    round.clear();
    idle_.notify_all();
  }
  idle_.notify_all();
}

// The rows of the files written so far, in one transaction.
void SegmentWriter::commit(std::vector<SegmentRecord>& rows) {
  if (rows.empty()) return;
  if (auto s = index_.add(rows); !s) {
    // The running total may now count files without rows: sum it again.
    local_bytes_.reset();
    fail(s.error().message);
    std::lock_guard lock(mutex_);
    stats_.write_errors += rows.size();
  } else {
    for (auto& cached : written_) cached();
  }
  written_.clear();
  rows.clear();
}

void SegmentWriter::session_job(const SessionJob& job) {
  core::Status s = core::Ok{};
  switch (job.kind) {
    case SessionJob::Kind::kOpen:
      s = index_.open_session(job.stream, job.id, job.at_ms);
      break;
    case SessionJob::Kind::kEnd:
      s = index_.end_session(job.stream, job.id, job.at_ms);
      break;
    case SessionJob::Kind::kDescribe:
      s = index_.describe_session(job.stream, job.id, job.playlist);
      break;
  }
  if (!s) index_failed(s.error());
}

void SegmentWriter::index_failed(const core::Error& error) {
  std::uint64_t n = 0;
  {
    std::lock_guard lock(mutex_);
    n = ++stats_.index_errors;
  }
  // The first, then one in a thousand: the counter says how many.
  if (n == 1 || n % 1000 == 0) {
    core::log::warn("segment index update failed", {{"error", error.message}, {"count", n}});
  }
}

std::string SegmentWriter::key_text(const SegmentKey& key) {
  return fmt::format("{}/{}/{}/{}", key.stream, key.rendition, key.session, key.media_sequence);
}

void SegmentWriter::archive_report(const ArchiveReport& report) {
  core::Status status = core::Ok{};
  switch (report.kind) {
    case ArchiveReport::Kind::kUploaded:
      status = index_.mark_archived(report.segments);
      if (status) {
        std::lock_guard lock(mutex_);
        stats_.archived += report.segments.size();
      }
      [[fallthrough]];
    case ArchiveReport::Kind::kGone:
      for (const auto& k : report.segments) offered_.erase(key_text(k));
      break;
    case ArchiveReport::Kind::kDeleted:
      status = index_.remove(report.segments);
      for (const auto& k : report.segments) deleting_.erase(key_text(k));
      if (status) {
        std::lock_guard lock(mutex_);
        stats_.expired += report.segments.size();
      }
      break;
    case ArchiveReport::Kind::kInitUploaded:
      for (const auto& k : report.object_keys) {
        if (auto st = index_.add_remote_init(report.stream, report.session, k); !st) status = st;
      }
      break;
    case ArchiveReport::Kind::kInitsDeleted:
      status = index_.remove_remote_inits(report.stream, report.session, report.object_keys);
      deleting_inits_.erase(fmt::format("{}/{}", report.stream, report.session));
      break;
  }
  if (!status) index_failed(status.error());
}

// Offers the oldest unarchived segments while the archiver has room. An
// upload in flight is offered once; its report frees its place.
void SegmentWriter::feed_archive() {
  if (!settings_.archive_enabled || !settings_.archive.room || !settings_.archive.upload) return;
  // The backlog's size for health and metrics, at most once a second.
  const auto now = std::chrono::steady_clock::now();
  if (now >= next_backlog_count_) {
    next_backlog_count_ = now + std::chrono::seconds(1);
    if (auto n = index_.unarchived_count(); n) {
      std::lock_guard lock(mutex_);
      stats_.unarchived = *n;
    }
  }
  std::size_t room = settings_.archive.room();
  if (room == 0) return;
  auto rows = index_.unarchived(room + offered_.size());
  if (!rows) {
    index_failed(rows.error());
    return;
  }
  for (auto& r : *rows) {
    if (room == 0) break;
    if (!offered_.insert(key_text(r.key)).second) continue;
    std::string path = segment_path(r.key);
    std::string init = init_path(r.key, r.init_version);
    settings_.archive.upload(std::move(r), std::move(path), std::move(init));
    --room;
  }
}

void SegmentWriter::expire_idle_archived(std::int64_t now) {
  if (!settings_.archive_enabled || settings_.ttl_ms <= 0) return;
  std::uint64_t evicted = 0;
  for (;;) {
    auto idle = index_.idle_archived(now - settings_.ttl_ms, kSweepBatch);
    if (!idle) {
      index_failed(idle.error());
      return;
    }
    for (const auto& r : *idle) {
      // The row first (reads then go to S3), then the file.
      if (auto st = index_.set_places(r.key, kRemote); !st) {
        index_failed(st.error());
        return;
      }
      std::error_code ec;
      fs::remove(segment_path(r.key), ec);
      if (local_bytes_) *local_bytes_ -= r.size_bytes;
      ++evicted;
    }
    if (idle->size() < kSweepBatch) break;
  }
  if (evicted > 0) {
    std::lock_guard lock(mutex_);
    stats_.idle_evicted += evicted;
  }
}

// Rows in S3 stay until S3 confirms their deletion (then they go); rows in
// the middle of an upload wait for the next sweep.
void SegmentWriter::sweep() {
  const std::int64_t now = settings_.now_ms();
  const std::int64_t cutoff = now - settings_.retention_ms;
  std::set<std::string> folders;  // session folders that lost segments
  std::uint64_t expired = 0;
  for (;;) {
    auto old = index_.older_than(cutoff, kSweepBatch);
    if (!old) {
      index_failed(old.error());
      return;
    }
    std::vector<SegmentKey> gone;
    std::vector<SegmentRecord> remote;
    std::vector<std::string> files;
    for (const auto& r : *old) {
      const std::string text = key_text(r.key);
      if (offered_.contains(text) || deleting_.contains(text)) continue;
      if (r.places & kLocal) {
        files.push_back(segment_path(r.key));
        if (local_bytes_) *local_bytes_ -= r.size_bytes;
        folders.insert(fs::path(files.back()).parent_path().string());
      }
      if ((r.places & kRemote) && settings_.archive_enabled && settings_.archive.expire) {
        if (r.places & kLocal) (void)index_.set_places(r.key, kRemote);
        deleting_.insert(text);
        remote.push_back(r);
      } else {
        gone.push_back(r.key);
      }
    }
    if (!remote.empty()) settings_.archive.expire(std::move(remote));
    // The rows first, then the files: no row ever names a file that is gone.
    if (auto s = index_.remove(gone); !s) {
      index_failed(s.error());
      return;
    }
    for (const auto& f : files) {
      std::error_code ec;
      fs::remove(f, ec);
    }
    expired += gone.size();
    // Done when a batch is short, or holds only rows that must wait.
    if (old->size() < kSweepBatch || gone.empty()) break;
  }
  if (auto s = index_.drop_sessions_ended_before(cutoff); !s) index_failed(s.error());
  // The init segments in S3 of sessions that are gone.
  if (settings_.archive_enabled && settings_.archive.expire_inits) {
    if (auto orphans = index_.orphaned_remote_inits(); !orphans) {
      index_failed(orphans.error());
    } else {
      for (auto& o : *orphans) {
        if (!deleting_inits_.insert(fmt::format("{}/{}", o.stream, o.session)).second) continue;
        settings_.archive.expire_inits(o.stream, o.session, std::move(o.object_keys));
      }
    }
  }
  expire_idle_archived(now);
  // A folder without segments keeps only init segments nobody will ask for.
  for (const auto& folder : folders) {
    std::error_code ec;
    bool empty = true;
    for (const auto& entry : fs::directory_iterator(folder, ec)) {
      if (entry.path().extension() == ".m4s") {
        empty = false;
        break;
      }
    }
    if (ec || !empty) continue;
    fs::remove_all(folder, ec);
    // The rendition's and the stream's folders, once empty.
    fs::path parent = fs::path(folder).parent_path();
    for (int up = 0; up < 2 && fs::is_empty(parent, ec) && !ec; ++up) {
      fs::remove(parent, ec);
      parent = parent.parent_path();
    }
  }
  if (expired > 0) {
    std::lock_guard lock(mutex_);
    stats_.expired += expired;
  }
}

void SegmentWriter::write_job(SegmentJob& job, std::vector<SegmentRecord>& rows) {
  const auto& key = job.record.key;
  std::string error;
  if (!SegmentIndex::plausible(job.record)) {
    // Never a path built from a bad name, never a round's transaction lost.
    index_failed(core::Error(core::ErrorCode::kInvalidInput, "a segment with impossible values was not recorded",
                             {{"stream", key.stream}, {"rendition", key.rendition}, {"msn", key.media_sequence}}));
    std::lock_guard lock(mutex_);
    ++stats_.write_errors;
    return;
  }
  if (job.init) {
    const auto init = init_path(key, job.record.init_version);
    std::error_code ec;
    if (!fs::exists(init, ec) && !write_file(init, {*job.init}, error)) {
      fail(error);
      std::lock_guard lock(mutex_);
      ++stats_.write_errors;
      return;
    }
  }
  if (!write_file(segment_path(key), job.bytes, error)) {
    fail(error);
    std::lock_guard lock(mutex_);
    ++stats_.write_errors;
    return;
  }
  std::int64_t size = 0;
  for (const auto& b : job.bytes) size += static_cast<std::int64_t>(b.size());
  SegmentRecord row = job.record;
  row.size_bytes = size;
  row.places = kLocal;
  rows.push_back(std::move(row));
  if (job.cached) written_.push_back(std::move(job.cached));
  if (local_bytes_) *local_bytes_ += size;
  std::lock_guard lock(mutex_);
  ++stats_.written;
  stats_.bytes_written += static_cast<std::uint64_t>(size);
  if (stats_.degraded) {
    stats_.degraded = false;
    core::log::info("segment cache writing again", {{"dir", settings_.cache_dir}});
  }
}

bool SegmentWriter::write_file(const std::string& path, const std::vector<core::SharedBytes>& chunks,
                               std::string& error) {
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  if (ec) {
    error = fmt::format("cannot create {}: {}", fs::path(path).parent_path().string(), ec.message());
    return false;
  }
  const std::string temp = path + ".tmp";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    error = fmt::format("cannot create {}: {}", temp, std::strerror(errno));
    return false;
  }
  bool ok = true;
  std::vector<iovec> iov;
  iov.reserve(std::min(chunks.size(), kIovBatch));
  std::size_t next = 0;
  std::size_t offset = 0;  // into chunks[next]
  while (ok && next < chunks.size()) {
    iov.clear();
    for (std::size_t i = next; i < chunks.size() && iov.size() < kIovBatch; ++i) {
      const auto skip = i == next ? offset : 0;
      if (chunks[i].size() <= skip) continue;
      iov.push_back({const_cast<std::uint8_t*>(chunks[i].data()) + skip, chunks[i].size() - skip});
    }
    if (iov.empty()) break;
    const ssize_t n = settings_.writev(fd, iov.data(), static_cast<int>(iov.size()));
    if (n < 0) {
      if (errno == EINTR) continue;
      error = fmt::format("cannot write {}: {}", temp, std::strerror(errno));
      ok = false;
      break;
    }
    // Advance past what was written (possibly part of a chunk).
    auto left = static_cast<std::size_t>(n);
    while (next < chunks.size() && left > 0) {
      const auto remaining = chunks[next].size() - offset;
      if (left >= remaining) {
        left -= remaining;
        ++next;
        offset = 0;
      } else {
        offset += left;
        left = 0;
      }
    }
    while (next < chunks.size() && chunks[next].size() == offset) {
      ++next;
      offset = 0;
    }
  }
  if (ok && ::fdatasync(fd) != 0) {
    error = fmt::format("cannot flush {}: {}", temp, std::strerror(errno));
    ok = false;
  }
  if (::close(fd) != 0 && ok) {
    error = fmt::format("cannot close {}: {}", temp, std::strerror(errno));
    ok = false;
  }
  if (ok && ::rename(temp.c_str(), path.c_str()) != 0) {
    error = fmt::format("cannot rename {}: {}", temp, std::strerror(errno));
    ok = false;
  }
  if (!ok) ::unlink(temp.c_str());
  return ok;
}

void SegmentWriter::evict() {
  // The total is summed from the index once, then kept up to date here:
  // summing millions of rows every round would cost more than the writes.
  if (!local_bytes_) {
    auto used = index_.local_bytes();
    if (!used) {
      fail(used.error().message);
      return;
    }
    local_bytes_ = *used;
  }
  std::int64_t& bytes = *local_bytes_;
  // Archived segments first (while S3 is on); then, if still over, any.
  for (const bool archived_only : {settings_.archive_enabled, false}) {
    while (bytes > settings_.max_bytes) {
      auto victims = index_.least_recently_used_local(kEvictBatch, archived_only);
      if (!victims || victims->empty()) break;
      // The index first, then the files: a reader never finds a row whose
      // file is gone (a crash in between leaves orphans, which start-up removes).
      std::vector<SegmentKey> gone;
      std::vector<std::string> files;
      for (const auto& v : *victims) {
        if (bytes <= settings_.max_bytes) break;
        bytes -= v.size_bytes;
        files.push_back(segment_path(v.key));
        const bool archived = (v.places & kRemote) != 0;
        if (archived) {
          (void)index_.set_places(v.key, kRemote);
        } else {
          gone.push_back(v.key);
        }
        std::lock_guard lock(mutex_);
        ++stats_.evicted;
        if (!archived && settings_.archive_enabled) ++stats_.evicted_unarchived;
      }
      if (!gone.empty()) (void)index_.remove(gone);
      for (const auto& f : files) {
        std::error_code ec;
        fs::remove(f, ec);
      }
      if (!gone.empty() && settings_.archive_enabled) {
        std::uint64_t lost;
        {
          std::lock_guard lock(mutex_);
          lost = stats_.evicted_unarchived;
        }
        // The first loss, then one line in a thousand: the counter has them all.
        if (lost == gone.size() || lost / 1000 != (lost - gone.size()) / 1000) {
          core::log::warn("the cache is full of segments S3 does not have yet; the oldest are lost",
                          {{"lost", gone.size()}, {"lost_total", lost}, {"max_bytes", settings_.max_bytes}});
        }
      }
    }
    if (!settings_.archive_enabled) break;
  }
}

void SegmentWriter::fail(std::string error) {
  bool first = false;
  {
    std::lock_guard lock(mutex_);
    first = !stats_.degraded;
    stats_.degraded = true;
    stats_.last_error = error;
  }
  // Once per outage: the counters say how many jobs it cost.
  if (first) core::log::warn("segment cache writing paused", {{"dir", settings_.cache_dir}, {"error", error}});
}

}  // namespace mirror::storage
