#include "storage/storage_service.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>

namespace mirror::storage {
namespace {

namespace fs = std::filesystem;

std::string fresh_dir(const char* name) {
  auto d = fs::path(::testing::TempDir()) / (std::string("storage-service-") + name);
  fs::remove_all(d);
  return d.string();
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

SegmentJob segment(std::int64_t session, std::int64_t msn, std::int64_t pdt_ms, std::string bytes) {
  SegmentJob j;
  j.record.key = {"cam", "source", session, msn};
  j.record.init_version = session - 1;
  j.record.program_date_time_ms = pdt_ms;
  j.record.duration_us = 2'000'000;
  j.bytes.push_back(core::SharedBytes::from_string(std::move(bytes)));
  j.init = core::SharedBytes::from_string("init of " + std::to_string(session));
  return j;
}

// Runs a read on the service's reader thread and waits for its answer.
template <class T>
T on_reader(StorageService& storage, std::function<T(SegmentIndex*)> work) {
  std::promise<T> answer;
  EXPECT_TRUE(storage.read([&](SegmentIndex* index) { answer.set_value(work(index)); }));
  return answer.get_future().get();
}

TEST(StorageService, WithoutDvrItKeepsItsDirectoryOnly) {
  core::StorageConfig config;
  config.local.cache_dir = fresh_dir("plain") + "/nested/cache";
  config.dvr.enabled = false;
  core::MetricsRegistry metrics;
  StorageService storage(config, metrics);
  ASSERT_TRUE(storage.start());
  EXPECT_TRUE(fs::is_directory(config.local.cache_dir));
  EXPECT_FALSE(storage.recording());
  EXPECT_FALSE(storage.read([](SegmentIndex*) {})) << "no DVR, no reads";
  auto h = storage.health();
  EXPECT_EQ(h.status, core::HealthStatus::kHealthy) << h.message;
  EXPECT_TRUE(h.details.contains("disk_available_bytes"));
  EXPECT_FALSE(fs::exists(config.local.cache_dir + "/index.sqlite"));
  storage.stop({});
  EXPECT_EQ(storage.health().status, core::HealthStatus::kUnhealthy);
}

TEST(StorageService, FailsToStartWhenThePathIsAFile) {
  auto base = fresh_dir("file");
  fs::create_directories(base);
  std::ofstream(base + "/blocker") << "x";
  core::StorageConfig config;
  config.local.cache_dir = base + "/blocker/cache";
  core::MetricsRegistry metrics;
  StorageService storage(config, metrics);
  auto st = storage.start();
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find(config.local.cache_dir), std::string::npos);
  EXPECT_EQ(storage.health().status, core::HealthStatus::kUnhealthy);
}

// Segments recorded by one run are read back by reader threads, survive a
// restart, and the metrics count them.
TEST(StorageService, RecordsSessionsAndSegmentsAndReadsThemBack) {
  core::StorageConfig config;
  config.local.cache_dir = fresh_dir("record");
  const std::int64_t t0 = now_ms() - 60'000;
  {
    core::MetricsRegistry metrics;
    StorageService storage(config, metrics);
    ASSERT_TRUE(storage.start());
    ASSERT_TRUE(storage.recording());
    storage.open_session("cam", 1000, t0);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(storage.record(segment(1000, 1000 + i, t0 + i * 2000, "seg" + std::to_string(i))));
    storage.describe_session("cam", 1000, "#EXTM3U\n");
    storage.end_session("cam", 1000, t0 + 10'000);
    storage.stop({});  // writes everything queued
    EXPECT_NE(metrics.render().find("mirror_storage_segments_written_total 5"), std::string::npos);
  }
  core::MetricsRegistry metrics;
  StorageService storage(config, metrics);
  ASSERT_TRUE(storage.start());
  EXPECT_EQ(storage.reconciled().orphans_removed + storage.reconciled().missing, 0u);
  auto rows = on_reader<std::vector<SegmentRecord>>(storage, [&](SegmentIndex* index) {
    return index ? *index->window("cam", "source", t0, t0 + 100'000, 100) : std::vector<SegmentRecord>{};
  });
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[3].key.media_sequence, 1003);
  EXPECT_EQ(rows[3].size_bytes, 4);
  auto bytes = StorageService::read_file(storage.segment_path(rows[3].key), 1 << 20);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(bytes->view(), "seg3");
  auto init = StorageService::read_file(storage.init_path(rows[3].key, 999), 1 << 20);
  ASSERT_TRUE(init.ok());
  EXPECT_EQ(init->view(), "init of 1000");
  EXPECT_FALSE(StorageService::read_file(storage.segment_path(rows[3].key), 2).ok()) << "over the limit";
  auto sessions = on_reader<std::vector<RecordingSession>>(
      storage, [](SegmentIndex* index) { return *index->sessions("cam"); });
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0].ended_ms, t0 + 10'000);
  EXPECT_EQ(sessions[0].playlist, "#EXTM3U\n");
  EXPECT_EQ(storage.writer_stats().local_bytes, 20);
  EXPECT_EQ(storage.health().details["used_bytes"], 20);
}

// A damaged index is set aside; the cache starts over and recording goes on.
TEST(StorageService, ADamagedIndexIsSetAsideAndANewOneBegins) {
  core::StorageConfig config;
  config.local.cache_dir = fresh_dir("damaged");
  fs::create_directories(config.local.cache_dir + "/cam/source/5");
  std::ofstream(config.local.cache_dir + "/index.sqlite") << std::string(8192, 'Z');
  std::ofstream(config.local.cache_dir + "/cam/source/5/7.m4s") << "orphan";
  core::MetricsRegistry metrics;
  StorageService storage(config, metrics);
  ASSERT_TRUE(storage.start());
  EXPECT_TRUE(storage.recording());
  EXPECT_EQ(storage.reconciled().orphans_removed, 1u);
  bool aside = false;
  for (const auto& e : fs::directory_iterator(config.local.cache_dir)) {
    aside |= e.path().filename().string().starts_with("index.sqlite.damaged-");
  }
  EXPECT_TRUE(aside);
  storage.open_session("cam", 1, now_ms());
  ASSERT_TRUE(storage.record(segment(1, 1, now_ms(), "x")));
}

}  // namespace
}  // namespace mirror::storage
