// The stream registry: which live streams exist, on which node, in what state,
// and when their node last vouched for them (heartbeat). Nodes that share a
// Redis see each other's streams; a single node keeps the registry in process.
// Implementations are thread-safe.
#pragma once

#include "core/errors.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mirror::state {

struct StreamRecord {
  std::string name;
  std::string node;      // the node that ingests it
  std::string protocol;  // "srt", "rtp"
  std::string status;    // "connecting", "live", "reconnecting", "ended"
  std::chrono::system_clock::time_point started_at{};
  std::chrono::system_clock::time_point heartbeat_at{};

  nlohmann::json to_json() const;
};

class StreamRegistry {
 public:
  virtual ~StreamRegistry() = default;

  // ALREADY_EXISTS when another record holds the name and is still fresh.
  virtual core::Status claim(StreamRecord record) = 0;
  // Updates status and heartbeat; NOT_FOUND when the name is not registered.
  virtual core::Status update(const std::string& name, const std::string& status) = 0;
  virtual core::Status release(const std::string& name) = 0;
  virtual std::optional<StreamRecord> find(const std::string& name) const = 0;
  virtual std::vector<StreamRecord> list() const = 0;
};

}  // namespace mirror::state
