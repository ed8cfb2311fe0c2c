#include "storage/local_cache.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace mirror::storage {
namespace {

namespace fs = std::filesystem;

std::string fresh_dir(const char* name) {
  auto d = fs::path(::testing::TempDir()) / (std::string("local-cache-") + name);
  fs::remove_all(d);
  return d.string();
}

TEST(LocalCache, CreatesItsDirectoryAndReportsUsage) {
  core::LocalStorageConfig cfg;
  cfg.cache_dir = fresh_dir("create") + "/nested/cache";
  LocalCache cache(cfg);
  ASSERT_TRUE(cache.start());
  EXPECT_TRUE(fs::is_directory(cfg.cache_dir));
  std::ofstream(cfg.cache_dir + "/seg.m4s") << std::string(1000, 'x');
  cache.rescan();
  EXPECT_EQ(cache.used_bytes(), 1000u);
  auto h = cache.health();
  EXPECT_EQ(h.status, core::HealthStatus::kHealthy);
  EXPECT_EQ(h.details["used_bytes"], 1000);
  EXPECT_TRUE(h.details.contains("disk_available_bytes"));
}

TEST(LocalCache, FailsToStartWhenThePathIsAFile) {
  auto base = fresh_dir("file");
  fs::create_directories(base);
  std::ofstream(base + "/blocker") << "x";
  core::LocalStorageConfig cfg;
  cfg.cache_dir = base + "/blocker/cache";
  LocalCache cache(cfg);
  auto st = cache.start();
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find(cfg.cache_dir), std::string::npos);
  EXPECT_EQ(cache.health().status, core::HealthStatus::kUnhealthy);
}

}  // namespace
}  // namespace mirror::storage
