#include "state/memory_registry.h"

namespace mirror::state {

MemoryStreamRegistry::MemoryStreamRegistry(NodeIdentity node, std::chrono::nanoseconds stale_after)
    : node_(std::move(node)), stale_after_(stale_after) {}

// One node: every stream is this node's, and the stream table decides.
core::Status MemoryStreamRegistry::check(const std::string&) const { return core::Ok{}; }

core::Status MemoryStreamRegistry::request_end(const std::string& name) {
  return core::Error(core::ErrorCode::kNotFound, "no such stream", {{"name", name}});
}

std::vector<NodeRecord> MemoryStreamRegistry::nodes() const {
  NodeRecord self;
  self.id = node_.id;
  self.url = node_.url;
  self.version = node_.version;
  self.started_at = started_at_;
  self.heartbeat_at = std::chrono::system_clock::now();
  if (node_.load) self.load = node_.load();
  std::lock_guard lock(mutex_);
  for (const auto& [name, _] : records_) self.streams.push_back(name);
  return {std::move(self)};
}

core::Status MemoryStreamRegistry::claim(StreamRecord record) {
  const auto now = std::chrono::system_clock::now();
  std::lock_guard lock(mutex_);
  auto it = records_.find(record.name);
  if (it != records_.end() && now - it->second.heartbeat_at < stale_after_) {
    return core::Error(core::ErrorCode::kAlreadyExists, "stream name is in use",
                       {{"name", record.name}, {"node", it->second.node}});
  }
  if (record.started_at == std::chrono::system_clock::time_point{}) record.started_at = now;
  if (record.node.empty()) record.node = node_.id;
  record.heartbeat_at = now;
  std::string key = record.name;
  records_.insert_or_assign(std::move(key), std::move(record));
  return core::Ok{};
}

core::Status MemoryStreamRegistry::update(const std::string& name, const std::string& status) {
  std::lock_guard lock(mutex_);
  auto it = records_.find(name);
  if (it == records_.end()) {
    return core::Error(core::ErrorCode::kNotFound, "stream not registered", {{"name", name}});
  }
  it->second.status = status;
  it->second.heartbeat_at = std::chrono::system_clock::now();
  return core::Ok{};
}

core::Status MemoryStreamRegistry::release(const std::string& name) {
  std::lock_guard lock(mutex_);
  if (records_.erase(name) == 0) {
    return core::Error(core::ErrorCode::kNotFound, "stream not registered", {{"name", name}});
  }
  return core::Ok{};
}

std::optional<StreamRecord> MemoryStreamRegistry::find(const std::string& name) const {
  std::lock_guard lock(mutex_);
  auto it = records_.find(name);
  if (it == records_.end()) return std::nullopt;
  return it->second;
}

std::vector<StreamRecord> MemoryStreamRegistry::list() const {
  std::lock_guard lock(mutex_);
  std::vector<StreamRecord> out;
  out.reserve(records_.size());
  for (const auto& [_, r] : records_) out.push_back(r);
  return out;
}

core::Status MemoryStreamRegistry::start() {
  std::lock_guard lock(mutex_);
  running_ = true;
  return core::Ok{};
}

void MemoryStreamRegistry::stop(core::Deadline) {
  std::lock_guard lock(mutex_);
  running_ = false;
  records_.clear();
}

core::Health MemoryStreamRegistry::health() const {
  std::lock_guard lock(mutex_);
  core::Health h;
  h.status = running_ ? core::HealthStatus::kHealthy : core::HealthStatus::kUnhealthy;
  h.message = running_ ? "in-process registry" : "stopped";
  h.details = {{"backend", "memory"}, {"streams", records_.size()}};
  return h;
}

}  // namespace mirror::state
