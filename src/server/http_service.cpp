#include "server/http_service.h"

namespace mirror::server {

HttpService::HttpService(std::string name, net::IoPool& pool, http::H1ServerOptions options,
                         core::MetricsRegistry& metrics)
    : name_(std::move(name)),
      server_(pool, pipeline_, options, metrics),
      pool_(pool),
      metrics_(metrics),
      max_connections_(options.max_connections) {}

void HttpService::enable_tls(http::TlsServerOptions options, std::shared_ptr<http::TlsContext> tls) {
  tls_ = std::make_unique<http::TlsServer>(pool_, pipeline_, std::move(options), std::move(tls), metrics_);
}

core::Status HttpService::start() {
  auto st = server_.start();
  if (st && tls_) {
    st = tls_->start();
    if (!st) server_.stop(std::chrono::steady_clock::now());
  }
  if (st) running_ = true;
  return st;
}

void HttpService::stop(core::Deadline deadline) {
  running_ = false;
  // Both listeners drain at once, then each waits within the same deadline.
  server_.drain(deadline);
  if (tls_) tls_->drain(deadline);
  server_.stop(deadline);
  if (tls_) tls_->stop(deadline);
}

core::Health HttpService::health() const {
  core::Health h;
  const auto open = server_.open_connections() + (tls_ ? tls_->open_connections() : 0);
  h.details = {{"port", server_.port()},
               {"open_connections", open},
               {"max_connections", max_connections_}};
  if (tls_) h.details["tls_port"] = tls_->port();
  if (!running_) {
    h.status = core::HealthStatus::kUnhealthy;
    h.message = "not serving";
  } else if (open >= static_cast<std::size_t>(max_connections_)) {
    h.status = core::HealthStatus::kDegraded;
    h.message = "at the connection limit";
  } else {
    h.message = "serving";
  }
  return h;
}

}  // namespace mirror::server
