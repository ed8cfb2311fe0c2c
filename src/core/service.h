// The lifecycle every part of the server follows: a Service is started once,
// reports its health while it runs, and is stopped once before a deadline.
// The Server (server/) owns services and calls these from its control thread.
#pragma once

#include "core/errors.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <string_view>

namespace mirror::core {

enum class HealthStatus { kHealthy, kDegraded, kUnhealthy };

std::string_view health_status_name(HealthStatus status);  // "healthy", "degraded", "unhealthy"

struct Health {
  HealthStatus status = HealthStatus::kHealthy;
  std::string message;
  nlohmann::json details = nlohmann::json::object();
};

using Deadline = std::chrono::steady_clock::time_point;

class Service {
 public:
  virtual ~Service() = default;

  // Stable lower-case name used in logs, /health and metrics labels.
  virtual std::string_view name() const = 0;

  // Acquires resources (ports, directories, connections). On failure the
  // service holds nothing and the error says what and why (a port names itself).
  virtual Status start() = 0;

  // Releases everything; work in flight finishes or is abandoned by `deadline`.
  virtual void stop(Deadline deadline) = 0;

  // Called from any thread at any time after start().
  virtual Health health() const = 0;
};

}  // namespace mirror::core
