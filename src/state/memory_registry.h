// The in-process stream registry, used when no Redis is configured: one node,
// nothing to share. A record whose heartbeat is older than `stale_after` no
// longer blocks its name (its owner died without releasing it).
// Threads: every method is thread-safe (one mutex; registry calls are per
// stream event, not per packet). It has no thread and never calls back.
#pragma once

#include "core/service.h"
#include "state/stream_registry.h"

#include <map>
#include <mutex>

namespace mirror::state {

class MemoryStreamRegistry final : public StreamRegistry, public core::Service {
 public:
  explicit MemoryStreamRegistry(NodeIdentity node = {.id = "local", .url = {}, .version = {}, .load = {}},
                                std::chrono::nanoseconds stale_after = std::chrono::seconds(30));

  const std::string& node_id() const override { return node_.id; }
  core::Status check(const std::string& name) const override;
  core::Status claim(StreamRecord record) override;
  core::Status update(const std::string& name, const std::string& status) override;
  core::Status release(const std::string& name) override;
  std::optional<StreamRecord> find(const std::string& name) const override;
  std::vector<StreamRecord> list() const override;
  std::vector<NodeRecord> nodes() const override;
  core::Status request_end(const std::string& name) override;
  void on_claim_lost(ClaimLost) override {}
  void on_end_requested(EndRequested) override {}

  std::string_view name() const override { return "state"; }
  core::Status start() override;
  void stop(core::Deadline deadline) override;
  core::Health health() const override;

 private:
  NodeIdentity node_;
  std::chrono::system_clock::time_point started_at_ = std::chrono::system_clock::now();
  std::chrono::nanoseconds stale_after_;
  mutable std::mutex mutex_;
  std::map<std::string, StreamRecord> records_;
  bool running_ = false;
};

}  // namespace mirror::state
