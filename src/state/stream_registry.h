// The stream registry: which live streams exist, on which node, in what state,
// and which nodes are up. Nodes that share a Redis see each other's streams
// (state/redis); a single node keeps the registry in process (state/memory).
// Everything that asks about streams and nodes asks here: the admin API, the
// handshake admission (ingest's StreamTable) and the relays.
//
// Threads: every method is thread-safe and answers from memory; no call waits
// on the network. Callbacks run on the registry's own thread.
#pragma once

#include "core/errors.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace mirror::state {

struct StreamRecord {
  std::string name;
  std::string node;      // the node that ingests it
  std::string instance;  // that node's process (a node id may be reused by a restart)
  std::string protocol;  // "srt", "rtp"
  std::string status;    // "connecting", "live", "reconnecting", "ended"
  std::chrono::system_clock::time_point started_at{};
  std::chrono::system_clock::time_point heartbeat_at{};  // the owner's clock: shown, never compared

  nlohmann::json to_json() const;
};

struct NodeLoad {
  double cpu_percent = 0;  // of one core
  double egress_bps = 0;   // delivery bytes sent, as bits per second
  std::int64_t viewers = 0;  // open delivery connections

  bool operator==(const NodeLoad&) const = default;
};

struct NodeRecord {
  std::string id;
  std::string instance;  // random per process
  std::string url;       // cluster.advertise_url: its delivery port
  std::string version;
  std::vector<std::string> streams;
  NodeLoad load;
  std::chrono::system_clock::time_point started_at{};
  std::chrono::system_clock::time_point heartbeat_at{};  // the node's clock: shown, never compared

  nlohmann::json to_json() const;
};

// What a node says of itself; the registry adds its streams and heartbeat.
struct NodeIdentity {
  std::string id;
  std::string url;
  std::string version;
  // Sampled on the registry's thread at each heartbeat.
  std::function<NodeLoad()> load;
};

class StreamRegistry {
 public:
  // `owner` holds the name now; the local stream must stop.
  using ClaimLost = std::function<void(const std::string& name, const StreamRecord& owner)>;
  // Another node asks this one to end one of its streams (admin DELETE there).
  using EndRequested = std::function<void(const std::string& name)>;

  virtual ~StreamRegistry() = default;

  virtual const std::string& node_id() const = 0;

  // Would a publisher for `name` be admitted here, as far as other nodes go?
  // ALREADY_EXISTS when another node that is up holds the name. Streams of
  // this node are the caller's business (the StreamTable knows them).
  virtual core::Status check(const std::string& name) const = 0;
  // Records a stream of this node. ALREADY_EXISTS as in check(); a backend
  // that confirms the claim later calls ClaimLost if it turns out taken.
  virtual core::Status claim(StreamRecord record) = 0;
  // Updates status and heartbeat; NOT_FOUND when the name is not registered here.
  virtual core::Status update(const std::string& name, const std::string& status) = 0;
  virtual core::Status release(const std::string& name) = 0;

  // Every node's streams. A stream whose node is gone shows as "reconnecting".
  virtual std::optional<StreamRecord> find(const std::string& name) const = 0;
  virtual std::vector<StreamRecord> list() const = 0;
  // Every node that is up, this one first.
  virtual std::vector<NodeRecord> nodes() const = 0;

  // Asks the node that holds `name` to end it. NOT_FOUND when no other node
  // holds it; UNAVAILABLE when the cluster cannot be reached.
  virtual core::Status request_end(const std::string& name) = 0;

  // Set before start.
  virtual void on_claim_lost(ClaimLost callback) = 0;
  virtual void on_end_requested(EndRequested callback) = 0;
};

}  // namespace mirror::state
