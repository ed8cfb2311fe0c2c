#include "api/admin_routes.h"

#include <memory>

namespace mirror::api {
namespace {

nlohmann::json version_json(const core::BuildInfo& b) {
  return {{"version", b.version}, {"build_time", b.build_time}, {"git_commit", b.git_commit}};
}

}  // namespace

std::pair<int, nlohmann::json> health_document(const AdminContext& context) {
  core::HealthStatus overall = core::HealthStatus::kHealthy;
  nlohmann::json services = nlohmann::json::object();
  for (const auto& [name, h] : context.health()) {
    if (static_cast<int>(h.status) > static_cast<int>(overall)) overall = h.status;
    services[name] = {{"status", core::health_status_name(h.status)},
                      {"message", h.message},
                      {"details", h.details}};
  }
  auto uptime = std::chrono::duration<double>(std::chrono::steady_clock::now() - context.started_at);
  nlohmann::json doc = {{"status", core::health_status_name(overall)},
                        {"version", version_json(context.build)},
                        {"uptime_seconds", uptime.count()},
                        {"services", std::move(services)}};
  return {overall == core::HealthStatus::kUnhealthy ? 503 : 200, std::move(doc)};
}

void register_admin_routes(http::Router& router, AdminContext context) {
  auto ctx = std::make_shared<const AdminContext>(std::move(context));

  router.get(ctx->health_path, [ctx](const http::ExchangePtr& ex) {
    auto [status, doc] = health_document(*ctx);
    auto res = http::json_response(status, doc.dump());
    res.headers.set("Cache-Control", "no-store");
    ex->respond(std::move(res));
  });

  router.get("/ready", [ctx](const http::ExchangePtr& ex) {
    const bool ready = ctx->ready();
    auto res = http::json_response(ready ? 200 : 503, nlohmann::json{{"ready", ready}}.dump());
    res.headers.set("Cache-Control", "no-store");
    ex->respond(std::move(res));
  });

  router.get(ctx->metrics_path, [ctx](const http::ExchangePtr& ex) {
    http::Response res(200, core::kMetricsContentType, ctx->metrics->render());
    res.headers.set("Cache-Control", "no-store");
    ex->respond(std::move(res));
  });

  router.get("/api/v1/version", [ctx](const http::ExchangePtr& ex) {
    ex->respond(http::json_response(200, version_json(ctx->build).dump()));
  });
}

}  // namespace mirror::api
