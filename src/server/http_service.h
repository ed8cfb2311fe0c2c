// An HTTP server as a Service: a Pipeline (filters + router) served by
// HTTP/1.1 on a plain TCP port and, when enabled, by HTTPS (HTTP/2 and
// HTTP/1.1 over TLS) on another and HTTP/3 on UDP with the same number, all
// on the shared IoPool. The admin server is plain only; the delivery server
// has them all.
//
// Threads: start(), stop() and enable_tls() from the service group's thread;
// the transports run on the IoPool.
#pragma once

#include "core/metrics.h"
#include "core/service.h"
#include "http/h1_server.h"
#include "net/io_pool.h"
#include "http/pipeline.h"
#include "http/h3/h3_server.h"
#include "http/tls/tls_server.h"

#include <memory>
#include <optional>
#include <string>

namespace mirror::server {

class HttpService final : public core::Service {
 public:
  HttpService(std::string name, net::IoPool& pool, http::H1ServerOptions options,
              core::MetricsRegistry& metrics);

  // Routes and filters are added before start().
  http::Pipeline& pipeline() { return pipeline_; }
  const http::Pipeline& pipeline() const { return pipeline_; }
  // Serves the same pipeline over TLS too. Before start().
  void enable_tls(http::TlsServerOptions options, std::shared_ptr<http::TlsContext> tls);
  // Serves the same pipeline over HTTP/3 too, on the UDP port with the TLS
  // port's number (port 0 in the options). Before start(), after enable_tls().
  void enable_h3(http::H3ServerOptions options, std::shared_ptr<http::QuicTlsContext> tls);

  std::string_view name() const override { return name_; }
  core::Status start() override;
  void stop(core::Deadline deadline) override;
  core::Health health() const override;

  int port() const { return server_.port(); }
  // 0 without TLS.
  int tls_port() const { return tls_ ? tls_->port() : 0; }
  http::TlsServer* tls_server() { return tls_.get(); }
  // 0 without HTTP/3 (or before it serves).
  int h3_port() const { return h3_port_.load(std::memory_order_acquire); }

 private:
  std::string name_;
  http::Pipeline pipeline_;
  http::H1Server server_;
  std::unique_ptr<http::TlsServer> tls_;
  std::optional<http::H3ServerOptions> h3_options_;
  std::shared_ptr<http::QuicTlsContext> quic_tls_;
  std::unique_ptr<http::H3Server> h3_;
  std::atomic<int> h3_port_{0};
  net::IoPool& pool_;
  core::MetricsRegistry& metrics_;
  int max_connections_;
  std::atomic<bool> running_{false};
};

}  // namespace mirror::server
