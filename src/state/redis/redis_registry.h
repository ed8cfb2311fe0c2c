// The Redis stream registry, chosen when redis.addr or redis.sentinels is
// set: several nodes share one view of streams and nodes.
//
//   - This node registers under a lease (PREFIX node:ID, PX three heartbeats)
//     and renews it every cluster.heartbeat with its streams and load.
//   - Each of its streams is an atomic claim (a Lua script: the name is taken
//     unless another node that is up holds it), renewed with the heartbeat
//     and released when the stream ends. A claim that Redis says another
//     node holds (after a partition, or a race between two handshakes) is
//     lost: ClaimLost is called and the local stream must stop.
//   - Other nodes' streams and nodes are read every heartbeat (SCAN and a
//     guarded read script) and followed between reads over pub/sub.
//   - Leases are Redis TTLs: they expire by Redis's clock, never by comparing
//     the nodes' clocks.
//   - While Redis is unreachable, everything answers from what was last
//     known, publishers are admitted on local knowledge, and the thread
//     reconnects with backoff (at most one heartbeat apart), then registers
//     the node and re-claims every local stream at once. With Sentinel, the
//     master is looked up again on every reconnection and after a READONLY
//     answer (a failover demoted it).
//
// Threads: the registry's own thread ("state") owns both Redis connections
// (commands, and one subscribed to events) and runs the callbacks; the
// public methods are thread-safe, answer from memory and only queue work
// for that thread.
#pragma once

#include "core/config.h"
#include "core/metrics.h"
#include "core/service.h"
#include "state/stream_registry.h"

#include <chrono>
#include <memory>
#include <string>

namespace mirror::state::redis {

struct RedisRegistryOptions {
  core::RedisConfig redis;
  NodeIdentity node;
  std::chrono::nanoseconds heartbeat = std::chrono::seconds{1};
  // How long a stream of a node that is gone stays listed ("reconnecting"):
  // ingestion.reconnect_delay, the time its publisher has to come back.
  std::chrono::nanoseconds reconnect_window = std::chrono::seconds{5};
  std::string key_prefix = "mirror:";
};

class RedisStreamRegistry final : public StreamRegistry, public core::Service {
 public:
  RedisStreamRegistry(RedisRegistryOptions options, core::MetricsRegistry& metrics);
  ~RedisStreamRegistry() override;

  const std::string& node_id() const override;
  core::Status check(const std::string& name) const override;
  core::Status claim(StreamRecord record) override;
  core::Status update(const std::string& name, const std::string& status) override;
  core::Status release(const std::string& name) override;
  std::optional<StreamRecord> find(const std::string& name) const override;
  std::vector<StreamRecord> list() const override;
  std::vector<NodeRecord> nodes() const override;
  core::Status request_end(const std::string& name) override;
  void on_claim_lost(ClaimLost callback) override;
  void on_end_requested(EndRequested callback) override;

  std::string_view name() const override { return "state"; }
  // Connects once: a refused password fails the start; an unreachable Redis
  // does not (the node runs on local knowledge and keeps trying).
  core::Status start() override;
  void stop(core::Deadline deadline) override;
  core::Health health() const override;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace mirror::state::redis
