#include "storage/local_cache.h"

#include "core/logging.h"

#include <unistd.h>

#include <filesystem>

namespace mirror::storage {

namespace fs = std::filesystem;

core::Status LocalCache::start() {
  std::error_code ec;
  fs::create_directories(config_.cache_dir, ec);
  if (ec) {
    return core::Error(core::ErrorCode::kServiceUnavailable,
                       "cannot create cache directory " + config_.cache_dir + ": " + ec.message(),
                       {{"key", "storage.local.cache_dir"}});
  }
  if (::access(config_.cache_dir.c_str(), W_OK | X_OK) != 0) {
    return core::Error(core::ErrorCode::kServiceUnavailable,
                       "cache directory " + config_.cache_dir + " is not writable",
                       {{"key", "storage.local.cache_dir"}});
  }
  rescan();
  running_ = true;
  core::log::info("local cache ready", {{"dir", config_.cache_dir},
                                        {"used_bytes", used_bytes()},
                                        {"max_bytes", config_.max_cache_size}});
  return core::Ok{};
}

void LocalCache::stop(core::Deadline) { running_ = false; }

void LocalCache::rescan() {
  std::uint64_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(
           config_.cache_dir, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code size_ec;
    if (it->is_regular_file(size_ec)) {
      auto size = it->file_size(size_ec);
      if (!size_ec) total += size;
    }
  }
  used_bytes_.store(total, std::memory_order_relaxed);
}

core::Health LocalCache::health() const {
  core::Health h;
  std::error_code ec;
  auto space = fs::space(config_.cache_dir, ec);
  const std::uint64_t used = used_bytes();
  h.details = {{"dir", config_.cache_dir},
               {"used_bytes", used},
               {"max_bytes", config_.max_cache_size}};
  if (!ec) h.details["disk_available_bytes"] = space.available;
  if (!running_) {
    h.status = core::HealthStatus::kUnhealthy;
    h.message = "stopped";
  } else if (ec) {
    h.status = core::HealthStatus::kDegraded;
    h.message = "cannot read disk space: " + ec.message();
  } else if (space.available < 64ull * 1024 * 1024) {
    h.status = core::HealthStatus::kDegraded;
    h.message = "less than 64 MiB free on the cache disk";
  } else {
    h.message = "ok";
  }
  return h;
}

}  // namespace mirror::storage
