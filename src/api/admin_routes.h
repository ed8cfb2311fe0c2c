// The admin server's own routes: health, readiness, metrics and version.
// Rooms that add admin endpoints (streams, storage) register theirs on the same
// Router. Handlers answer at once and may run on any event-loop thread.
#pragma once

#include "core/build_info.h"
#include "core/metrics.h"
#include "core/service.h"
#include "http/router.h"

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace mirror::api {

// A snapshot of every service's health, in start order.
using HealthProbe = std::function<std::vector<std::pair<std::string, core::Health>>()>;

struct AdminContext {
  core::BuildInfo build;
  core::MetricsRegistry* metrics = nullptr;
  HealthProbe health;
  std::function<bool()> ready;  // true once started and until stopping
  std::string metrics_path = "/metrics";
  std::string health_path = "/health";
  std::chrono::steady_clock::time_point started_at = std::chrono::steady_clock::now();
};

void register_admin_routes(http::Router& router, AdminContext context);

// The /health document; its HTTP status is 200 unless a service is unhealthy.
std::pair<int, nlohmann::json> health_document(const AdminContext& context);

}  // namespace mirror::api
