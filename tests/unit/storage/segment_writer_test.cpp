#include "storage/segment_writer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <thread>

namespace mirror::storage {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kT0 = 1'796'000'000'000;

std::string fresh_dir(const char* name) {
  auto d = fs::path(::testing::TempDir()) / (std::string("segment-writer-") + name);
  fs::remove_all(d);
  return d.string();
}

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A segment of `size` bytes made of `chunks` pieces (as a packed segment or
// a frame list would be), bytes counting up from `seed`.
SegmentJob job(std::int64_t msn, std::size_t size, std::size_t chunks = 3, char seed = 'a') {
  SegmentJob j;
  j.record.key = {"cam", "360p", 1, msn};
  j.record.init_version = 1;
  j.record.program_date_time_ms = kT0 + msn * 500;
  j.record.duration_us = 500'000;
  std::string all;
  for (std::size_t i = 0; i < size; ++i) all += static_cast<char>(seed + (i + static_cast<std::size_t>(msn)) % 26);
  for (std::size_t c = 0, at = 0; c < chunks; ++c) {
    const auto n = c + 1 == chunks ? all.size() - at : all.size() / chunks;
    j.bytes.push_back(core::SharedBytes::from_string(all.substr(at, n)));
    at += n;
  }
  return j;
}

std::string bytes_of(const SegmentJob& j) {
  std::string out;
  for (const auto& b : j.bytes) out += b.view();
  return out;
}

bool has_temp_files(const std::string& dir) {
  if (!fs::exists(dir)) return false;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.path().extension() == ".tmp") return true;
  }
  return false;
}

TEST(SegmentWriter, WritesWholeFilesAndIndexesThem) {
  auto index = std::move(*SegmentIndex::open(":memory:"));
  SegmentWriterSettings settings;
  settings.cache_dir = fresh_dir("whole");
  SegmentWriter writer(settings, *index);
  writer.start();
  std::vector<SegmentJob> jobs;
  jobs.push_back(job(0, 10'000));
  jobs.back().init = core::SharedBytes::from_string("init-bytes");
  jobs.push_back(job(1, 200'000, 1500));  // more pieces than one writev takes
  jobs.push_back(job(2, 0, 1));           // an empty segment is still a file
  std::vector<std::string> expected;
  for (auto& j : jobs) {
    expected.push_back(bytes_of(j));
    ASSERT_TRUE(writer.submit(std::move(j)));
  }
  writer.flush();
  for (int msn = 0; msn < 3; ++msn) {
    const auto path = writer.segment_path({"cam", "360p", 1, msn});
    EXPECT_EQ(read(path), expected[static_cast<std::size_t>(msn)]) << path;
  }
  EXPECT_EQ(read(writer.init_path({"cam", "360p", 1, 0}, 1)), "init-bytes");
  EXPECT_FALSE(has_temp_files(settings.cache_dir));
  auto rows = index->window("cam", "360p", kT0, kT0 + 10'000, 10);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[1].size_bytes, 200'000);
  EXPECT_EQ((*rows)[1].places, kLocal);
  const auto stats = writer.stats();
  EXPECT_EQ(stats.written, 3u);
  EXPECT_EQ(stats.bytes_written, 210'000u);
  EXPECT_FALSE(stats.degraded);
}

TEST(SegmentWriter, AFullDiskPausesWritingAndItResumesWhenSpaceReturns) {
  auto index = std::move(*SegmentIndex::open(":memory:"));
  SegmentWriterSettings settings;
  settings.cache_dir = fresh_dir("full");
  std::atomic<int> failures_left{2};
  settings.writev = [&](int fd, const iovec* iov, int count) -> ssize_t {
    if (failures_left.fetch_sub(1) > 0) {
      errno = ENOSPC;
      return -1;
    }
    return ::writev(fd, iov, count);
  };
  SegmentWriter writer(settings, *index);
  writer.start();
  // The packager hears of a segment once its file and row are in place
  // (then its bytes may leave memory), never of one that failed.
  std::mutex m;
  std::vector<std::pair<std::int64_t, std::int64_t>> confirmed;  // msn, rows then
  auto confirmed_job = [&](std::int64_t msn) {
    auto j = job(msn, 1000);
    j.cached = [&, msn] {
      const auto rows = *index->count();
      std::lock_guard lock(m);
      confirmed.emplace_back(msn, rows);
    };
    return j;
  };
  ASSERT_TRUE(writer.submit(confirmed_job(0)));
  ASSERT_TRUE(writer.submit(confirmed_job(1)));
  writer.flush();
  {
    std::lock_guard lock(m);
    EXPECT_TRUE(confirmed.empty());
  }
  auto stats = writer.stats();
  EXPECT_EQ(stats.write_errors, 2u);
  EXPECT_TRUE(stats.degraded);
  EXPECT_NE(stats.last_error.find("No space left"), std::string::npos) << stats.last_error;
  EXPECT_FALSE(has_temp_files(settings.cache_dir)) << "a failed write leaves nothing behind";
  EXPECT_EQ(*index->count(), 0);
  ASSERT_TRUE(writer.submit(confirmed_job(2)));
  writer.flush();
  stats = writer.stats();
  EXPECT_FALSE(stats.degraded);
  EXPECT_EQ(stats.written, 1u);
  EXPECT_EQ(*index->count(), 1);
  std::lock_guard lock(m);
  ASSERT_EQ(confirmed.size(), 1u);
  EXPECT_EQ(confirmed[0].first, 2);
  EXPECT_EQ(confirmed[0].second, 1) << "its row was in the index";
}

TEST(SegmentWriter, EvictsTheLeastRecentlyUsedOverTheLimit) {
  auto index = std::move(*SegmentIndex::open(":memory:"));
  SegmentWriterSettings settings;
  settings.cache_dir = fresh_dir("evict");
  settings.max_bytes = 2500;
  SegmentWriter writer(settings, *index);
  writer.start();
  for (int msn = 0; msn < 5; ++msn) {
    ASSERT_TRUE(writer.submit(job(msn, 1000)));
    writer.flush();
  }
  EXPECT_LE(*index->local_bytes(), 2500);
  EXPECT_FALSE(fs::exists(writer.segment_path({"cam", "360p", 1, 0})));
  EXPECT_FALSE(fs::exists(writer.segment_path({"cam", "360p", 1, 2})));
  EXPECT_TRUE(fs::exists(writer.segment_path({"cam", "360p", 1, 3})));
  EXPECT_TRUE(fs::exists(writer.segment_path({"cam", "360p", 1, 4})));
  EXPECT_EQ(*index->count(), 2) << "without S3 an evicted segment is gone from the index too";
  EXPECT_EQ(writer.stats().evicted, 3u);
  EXPECT_EQ(writer.stats().evicted_unarchived, 0u) << "no loss is counted without S3";
}

TEST(SegmentWriter, WithS3ArchivedSegmentsGoFirstAndLossesAreCounted) {
  auto index = std::move(*SegmentIndex::open(":memory:"));
  SegmentWriterSettings settings;
  settings.cache_dir = fresh_dir("archived");
  settings.max_bytes = 2500;
  settings.archive_enabled = true;
  SegmentWriter writer(settings, *index);
  writer.start();
  ASSERT_TRUE(writer.submit(job(0, 1000)));
  ASSERT_TRUE(writer.submit(job(1, 1000)));
  writer.flush();
  // Segment 1 reached S3 (the uploader says so through the index).
  ASSERT_TRUE(index->set_places({"cam", "360p", 1, 1}, kLocal | kRemote));
  ASSERT_TRUE(writer.submit(job(2, 1000)));
  writer.flush();
  // Over the limit: the archived segment goes, the older unarchived one stays.
  EXPECT_TRUE(fs::exists(writer.segment_path({"cam", "360p", 1, 0})));
  EXPECT_FALSE(fs::exists(writer.segment_path({"cam", "360p", 1, 1})));
  auto one = index->window("cam", "360p", kT0 + 500, kT0 + 1000, 1);
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ(one->front().places, kRemote) << "still in S3, no longer here";
  EXPECT_EQ(writer.stats().evicted_unarchived, 0u);
  // Nothing archived left to evict: the oldest unarchived goes, counted.
  ASSERT_TRUE(writer.submit(job(3, 1000)));
  writer.flush();
  EXPECT_FALSE(fs::exists(writer.segment_path({"cam", "360p", 1, 0})));
  EXPECT_EQ(writer.stats().evicted_unarchived, 1u);
  EXPECT_LE(*index->local_bytes(), 2500);
}

TEST(SegmentWriter, AFullQueueDropsAndCounts) {
  auto index = std::move(*SegmentIndex::open(":memory:"));
  SegmentWriterSettings settings;
  settings.cache_dir = fresh_dir("queue");
  settings.max_queue = 2;
  SegmentWriter writer(settings, *index);
  EXPECT_TRUE(writer.submit(job(0, 10)));
  EXPECT_TRUE(writer.submit(job(1, 10)));
  EXPECT_FALSE(writer.submit(job(2, 10)));
  EXPECT_EQ(writer.stats().dropped_queue_full, 1u);
  writer.start();
  writer.flush();
  EXPECT_EQ(writer.stats().written, 2u);
  writer.stop();
  EXPECT_TRUE(fs::exists(writer.segment_path({"cam", "360p", 1, 1})));
}

// After a crash: a half-written file, a file the index never heard of, and
// rows whose files are gone (one of them safe in S3).
TEST(SegmentWriter, ReconcilingAtStartMakesTheFilesAndTheIndexAgree) {
  const auto dir = fresh_dir("reconcile");
  for (const char* end : {"-index.db", "-index.db-wal", "-index.db-shm"}) fs::remove(dir + end);
  auto index = std::move(*SegmentIndex::open(dir + "-index.db"));
  SegmentWriterSettings settings;
  settings.cache_dir = dir;
  {
    SegmentWriter writer(settings, *index);
    writer.start();
    for (int msn = 0; msn < 4; ++msn) ASSERT_TRUE(writer.submit(job(msn, 100)));
    writer.flush();
  }
  SegmentWriter writer(settings, *index);
  std::ofstream(writer.segment_path({"cam", "360p", 1, 9}) + ".tmp") << "half";
  std::ofstream(writer.segment_path({"cam", "360p", 1, 7})) << "unknown";
  std::ofstream(dir + "/README") << "not ours";
  fs::remove(writer.segment_path({"cam", "360p", 1, 1}));
  fs::remove(writer.segment_path({"cam", "360p", 1, 2}));
  ASSERT_TRUE(index->set_places({"cam", "360p", 1, 2}, kLocal | kRemote));
  auto done = writer.reconcile();
  ASSERT_TRUE(done.ok()) << done.error().message;
  EXPECT_EQ(done->temporary_removed, 1u);
  EXPECT_EQ(done->orphans_removed, 1u);
  EXPECT_EQ(done->missing, 2u);
  EXPECT_EQ(done->strangers, 1u);
  EXPECT_FALSE(fs::exists(writer.segment_path({"cam", "360p", 1, 7})));
  EXPECT_TRUE(fs::exists(dir + "/README"));
  EXPECT_FALSE(*index->find({"cam", "360p", 1, 1})) << "gone everywhere: no row";
  auto archived = *index->find({"cam", "360p", 1, 2});
  ASSERT_TRUE(archived);
  EXPECT_EQ(archived->places, kRemote) << "still in S3";
  EXPECT_EQ(*index->local_bytes(), 200);
  // A second pass finds nothing to do.
  auto again = writer.reconcile();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->temporary_removed + again->orphans_removed + again->missing, 0u);
}

// Retention: what is older than the retention time leaves the disk and the
// index, with the sessions that ended before it and their folders.
TEST(SegmentWriter, TheSweeperRemovesWhatOutlivedTheRetentionTime) {
  const auto dir = fresh_dir("sweep");
  auto index = std::move(*SegmentIndex::open(":memory:"));
  std::atomic<std::int64_t> now{kT0};
  SegmentWriterSettings settings;
  settings.cache_dir = dir;
  settings.retention_ms = 10'000;
  settings.sweep_every = std::chrono::milliseconds(1);
  settings.now_ms = [&now] { return now.load(); };
  SegmentWriter writer(settings, *index);
  writer.start();
  // Session 1: msn 0..9 at kT0 + 0..4.5 s; it ends; session 2 goes on.
  writer.submit(SessionJob{SessionJob::Kind::kOpen, "cam", 1, kT0, {}});
  for (int msn = 0; msn < 10; ++msn) {
    auto j = job(msn, 100);
    j.init = core::SharedBytes::from_string("init");
    ASSERT_TRUE(writer.submit(std::move(j)));
  }
  writer.submit(SessionJob{SessionJob::Kind::kEnd, "cam", 1, kT0 + 5'000, {}});
  writer.submit(SessionJob{SessionJob::Kind::kOpen, "cam", 2, kT0 + 6'000, {}});
  for (int msn = 0; msn < 4; ++msn) {
    auto j = job(msn, 100);
    j.record.key.session = 2;
    j.record.program_date_time_ms = kT0 + 6'000 + msn * 500;
    j.init = core::SharedBytes::from_string("init");
    ASSERT_TRUE(writer.submit(std::move(j)));
  }
  writer.flush();
  EXPECT_EQ(*index->count(), 14);
  ASSERT_TRUE(fs::exists(writer.init_path({"cam", "360p", 1, 0}, 1)));

  // 12.2 s later, session 1's first five segments (up to 2 s) are too old.
  // (The index is looked at only while the writer is stopped: one thread at a time.)
  const auto expired_reaches = [&writer](std::uint64_t n) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (writer.stats().expired < n && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return writer.stats().expired == n;
  };
  now = kT0 + 12'200;
  ASSERT_TRUE(expired_reaches(5));
  writer.stop();
  EXPECT_EQ(*index->count(), 9);
  EXPECT_FALSE(fs::exists(writer.segment_path({"cam", "360p", 1, 4})));
  EXPECT_TRUE(fs::exists(writer.segment_path({"cam", "360p", 1, 5})));
  EXPECT_EQ(index->sessions("cam")->size(), 2u) << "session 1 ended 5 s after kT0: within retention";

  // Later still, session 1 is gone entirely, with its folder and init segment.
  now = kT0 + 16'000;
  writer.start();
  ASSERT_TRUE(expired_reaches(10));
  writer.stop();
  EXPECT_EQ(*index->count(), 4);
  EXPECT_FALSE(fs::exists(fs::path(writer.init_path({"cam", "360p", 1, 0}, 1)).parent_path()));
  EXPECT_TRUE(fs::exists(writer.init_path({"cam", "360p", 2, 0}, 1)));
  auto sessions = *index->sessions("cam");
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions.front().id, 2);
  EXPECT_EQ(writer.stats().expired, 10u);
  EXPECT_EQ(writer.stats().local_bytes, 400);
}

// Archiving with a stand-in archiver: the writer offers the oldest
// unarchived segments while there is room, records what S3 confirmed, never
// offers a segment twice, and hands retention's expired objects over
// (keeping their rows until S3 confirms the deletion).
TEST(SegmentWriter, OffersSegmentsToTheArchiverOldestFirstAndRecordsWhatItDid) {
  const auto dir = fresh_dir("archive");
  auto index = std::move(*SegmentIndex::open(":memory:"));
  std::mutex m;
  std::vector<SegmentRecord> offered;
  std::vector<SegmentRecord> expired;
  std::atomic<std::size_t> room{3};
  std::atomic<std::int64_t> now{kT0};
  SegmentWriterSettings settings;
  settings.cache_dir = dir;
  settings.archive_enabled = true;
  settings.retention_ms = 60'000;
  settings.ttl_ms = 10'000;
  settings.sweep_every = std::chrono::milliseconds(1);
  settings.now_ms = [&now] { return now.load(); };
  settings.archive.room = [&room] { return room.load(); };
  settings.archive.upload = [&](SegmentRecord r, std::string path, std::string init) {
    EXPECT_TRUE(fs::exists(path));
    EXPECT_NE(init.find("init-1.mp4"), std::string::npos);
    std::lock_guard lock(m);
    offered.push_back(std::move(r));
    --room;
  };
  settings.archive.expire = [&](std::vector<SegmentRecord> records) {
    std::lock_guard lock(m);
    expired.insert(expired.end(), records.begin(), records.end());
  };
  SegmentWriter writer(settings, *index);
  writer.start();
  for (int msn = 0; msn < 6; ++msn) ASSERT_TRUE(writer.submit(job(msn, 100)));
  writer.flush();
  {
    std::lock_guard lock(m);
    ASSERT_EQ(offered.size(), 3u) << "as many as there was room for";
    for (int i = 0; i < 3; ++i) EXPECT_EQ(offered[static_cast<std::size_t>(i)].key.media_sequence, i) << "oldest first";
  }
  // S3 confirms two; the third's file was gone. Then room for three more
  // (after the reports: the writer offers on every pass, sweeps included).
  writer.submit(ArchiveReport{ArchiveReport::Kind::kUploaded, {offered[0].key, offered[1].key}, {}, 0, {}});
  writer.submit(ArchiveReport{ArchiveReport::Kind::kGone, {offered[2].key}, {}, 0, {}});
  writer.flush();
  room = 3;
  {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
      {
        std::lock_guard lock(m);
        if (offered.size() >= 6 || std::chrono::steady_clock::now() >= until) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  {
    std::lock_guard lock(m);
    ASSERT_EQ(offered.size(), 6u);
    // msn 2 (gone, still unarchived) is offered again, then 3 and 4.
    EXPECT_EQ(offered[3].key.media_sequence, 2);
    EXPECT_EQ(offered[4].key.media_sequence, 3);
    EXPECT_EQ(offered[5].key.media_sequence, 4);
  }
  EXPECT_EQ(writer.stats().archived, 2u);

  // Archived segments not read for storage.local.ttl leave the cache (their
  // rows then point at S3 alone); unarchived ones stay.
  now = kT0 + 30'000;
  {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (writer.stats().idle_evicted < 2 && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  EXPECT_EQ(writer.stats().idle_evicted, 2u);
  EXPECT_FALSE(fs::exists(writer.segment_path(offered[0].key)));
  EXPECT_TRUE(fs::exists(writer.segment_path({"cam", "360p", 1, 5})));

  // Past retention: the archived ones are handed over for deletion and keep
  // their rows until S3 confirms; the others go at once (except those in flight).
  now = kT0 + 200'000;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (writer.stats().expired < 1 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::vector<SegmentRecord> to_delete;
  {
    std::lock_guard lock(m);
    to_delete = expired;
  }
  ASSERT_EQ(to_delete.size(), 2u);
  EXPECT_EQ(to_delete[0].key.media_sequence, 0);
  writer.submit(ArchiveReport{ArchiveReport::Kind::kDeleted, {to_delete[0].key, to_delete[1].key}, {}, 0, {}});
  writer.submit(ArchiveReport{ArchiveReport::Kind::kUploaded,
                              {offered[3].key, offered[4].key, offered[5].key}, {}, 0, {}});
  writer.flush();
  writer.stop();
  EXPECT_FALSE(*index->find(to_delete[0].key)) << "its deletion confirmed, the row is gone";
  EXPECT_FALSE(fs::exists(writer.segment_path(to_delete[0].key)));
}

}  // namespace
}  // namespace mirror::storage
