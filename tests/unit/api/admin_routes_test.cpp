#include "api/admin_routes.h"

#include <gtest/gtest.h>

namespace mirror::api {
namespace {

AdminContext context_with(std::vector<std::pair<std::string, core::Health>> services) {
  AdminContext c;
  c.build = {"1.2.3", "2026-01-01T00:00:00Z", "abc123"};
  c.health = [services] { return services; };
  c.ready = [] { return true; };
  return c;
}

core::Health health(core::HealthStatus s) {
  core::Health h;
  h.status = s;
  return h;
}

TEST(HealthDocument, HealthyWhenEveryServiceIs) {
  auto [status, doc] = health_document(context_with(
      {{"storage", health(core::HealthStatus::kHealthy)}, {"state", health(core::HealthStatus::kHealthy)}}));
  EXPECT_EQ(status, 200);
  EXPECT_EQ(doc["status"], "healthy");
  EXPECT_EQ(doc["version"]["version"], "1.2.3");
  EXPECT_EQ(doc["services"]["state"]["status"], "healthy");
}

TEST(HealthDocument, DegradedServiceStillAnswers200) {
  auto [status, doc] = health_document(context_with(
      {{"storage", health(core::HealthStatus::kDegraded)}, {"state", health(core::HealthStatus::kHealthy)}}));
  EXPECT_EQ(status, 200);
  EXPECT_EQ(doc["status"], "degraded");
}

TEST(HealthDocument, UnhealthyServiceMakesItA503) {
  auto [status, doc] = health_document(context_with(
      {{"storage", health(core::HealthStatus::kUnhealthy)}, {"state", health(core::HealthStatus::kDegraded)}}));
  EXPECT_EQ(status, 503);
  EXPECT_EQ(doc["status"], "unhealthy");
}

}  // namespace
}  // namespace mirror::api
