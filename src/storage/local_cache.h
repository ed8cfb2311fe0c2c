// The local segment cache directory (storage.local): created and checked at
// start, its usage and the disk's free space reported in health. Segments that
// leave the live window are written here by the DVR; this class owns the
// directory and its limits. health() may be called from any thread.
#pragma once

#include "core/config.h"
#include "core/service.h"

#include <atomic>
#include <cstdint>
#include <string>

namespace mirror::storage {

class LocalCache final : public core::Service {
 public:
  explicit LocalCache(core::LocalStorageConfig config) : config_(std::move(config)) {}

  std::string_view name() const override { return "storage"; }
  core::Status start() override;
  void stop(core::Deadline deadline) override;
  core::Health health() const override;

  const std::string& directory() const { return config_.cache_dir; }
  // Bytes in regular files under the directory, as of the last scan.
  std::uint64_t used_bytes() const { return used_bytes_.load(std::memory_order_relaxed); }
  // Walks the directory again (start-up, and on demand).
  void rescan();

 private:
  core::LocalStorageConfig config_;
  std::atomic<std::uint64_t> used_bytes_{0};
  std::atomic<bool> running_{false};
};

}  // namespace mirror::storage
