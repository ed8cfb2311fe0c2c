// An HTTP server as a Service: a Pipeline (filters + router) served by
// HTTP/1.1 on a plain TCP port and, when enabled, by HTTPS (HTTP/2 and
// HTTP/1.1 over TLS) on another, both on the shared IoPool. The admin server
// is plain only; the delivery server has both.
//
// Threads: start(), stop() and enable_tls() from the service group's thread;
// the transports run on the IoPool.
#pragma once

#include "core/metrics.h"
#include "core/service.h"
#include "http/h1_server.h"
#include "net/io_pool.h"
#include "http/pipeline.h"
#include "http/tls/tls_server.h"

#include <memory>
#include <string>

namespace mirror::server {

class HttpService final : public core::Service {
 public:
  HttpService(std::string name, net::IoPool& pool, http::H1ServerOptions options,
              core::MetricsRegistry& metrics);

  // Routes and filters are added before start().
  http::Pipeline& pipeline() { return pipeline_; }
  // Serves the same pipeline over TLS too. Before start().
  void enable_tls(http::TlsServerOptions options, std::shared_ptr<http::TlsContext> tls);

  std::string_view name() const override { return name_; }
  core::Status start() override;
  void stop(core::Deadline deadline) override;
  core::Health health() const override;

  int port() const { return server_.port(); }
  // 0 without TLS.
  int tls_port() const { return tls_ ? tls_->port() : 0; }
  http::TlsServer* tls_server() { return tls_.get(); }

 private:
  std::string name_;
  http::Pipeline pipeline_;
  http::H1Server server_;
  std::unique_ptr<http::TlsServer> tls_;
  net::IoPool& pool_;
  core::MetricsRegistry& metrics_;
  int max_connections_;
  std::atomic<bool> running_{false};
};

}  // namespace mirror::server
