// The in-process stream registry, used when redis.addr is empty: one node,
// nothing to share. A record whose heartbeat is older than `stale_after` no
// longer blocks its name (its owner died without releasing it).
// Thread-safe (one mutex; registry calls are per stream event, not per packet).
#pragma once

#include "core/service.h"
#include "state/stream_registry.h"

#include <map>
#include <mutex>

namespace mirror::state {

class MemoryStreamRegistry final : public StreamRegistry, public core::Service {
 public:
  explicit MemoryStreamRegistry(std::chrono::nanoseconds stale_after = std::chrono::seconds(30))
      : stale_after_(stale_after) {}

  core::Status claim(StreamRecord record) override;
  core::Status update(const std::string& name, const std::string& status) override;
  core::Status release(const std::string& name) override;
  std::optional<StreamRecord> find(const std::string& name) const override;
  std::vector<StreamRecord> list() const override;

  std::string_view name() const override { return "state"; }
  core::Status start() override;
  void stop(core::Deadline deadline) override;
  core::Health health() const override;

 private:
  std::chrono::nanoseconds stale_after_;
  mutable std::mutex mutex_;
  std::map<std::string, StreamRecord> records_;
  bool running_ = false;
};

}  // namespace mirror::state
