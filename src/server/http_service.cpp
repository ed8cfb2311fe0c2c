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

void HttpService::enable_h3(http::H3ServerOptions options, std::shared_ptr<http::QuicTlsContext> tls) {
  h3_options_ = std::move(options);
  quic_tls_ = std::move(tls);
}

core::Status HttpService::start() {
  const auto now = [] { return std::chrono::steady_clock::now(); };
  auto st = server_.start();
  if (st && tls_) {
    st = tls_->start();
    if (!st) server_.stop(now());
  }
  if (st && tls_ && h3_options_) {
    // The same port number as HTTPS (chosen by the TCP bind when 0).
    auto options = *h3_options_;
    if (options.port == 0) options.port = tls_->port();
    h3_ = std::make_unique<http::H3Server>(pool_, pipeline_, std::move(options), quic_tls_, metrics_);
    st = h3_->start();
    if (!st) {
      h3_.reset();
      tls_->stop(now());
      server_.stop(now());
    } else {
      h3_port_.store(h3_->port(), std::memory_order_release);
    }
  }
  if (st) running_ = true;
  return st;
}

void HttpService::stop(core::Deadline deadline) {
  running_ = false;
  // Every listener drains at once, then each waits within the same deadline.
  h3_port_.store(0, std::memory_order_release);
  server_.drain(deadline);
  if (tls_) tls_->drain(deadline);
  if (h3_) h3_->drain(deadline);
  server_.stop(deadline);
  if (tls_) tls_->stop(deadline);
  if (h3_) h3_->stop(deadline);
}

core::Health HttpService::health() const {
  core::Health h;
  const auto open = server_.open_connections() + (tls_ ? tls_->open_connections() : 0) +
                    (h3_ ? h3_->open_connections() : 0);
  h.details = {{"port", server_.port()},
               {"open_connections", open},
               {"max_connections", max_connections_}};
  if (tls_) h.details["tls_port"] = tls_->port();
  if (h3_) h.details["h3_port"] = h3_->port();
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
