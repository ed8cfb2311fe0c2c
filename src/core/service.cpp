#include "core/service.h"

namespace mirror::core {

std::string_view health_status_name(HealthStatus status) {
  switch (status) {
    case HealthStatus::kHealthy: return "healthy";
    case HealthStatus::kDegraded: return "degraded";
    case HealthStatus::kUnhealthy: return "unhealthy";
  }
  return "unhealthy";
}

}  // namespace mirror::core
