// The whole server: builds every service from the Config, starts them in
// dependency order (storage -> state -> ingestion -> transcoding -> packaging
// -> HTTP) and stops them in reverse. A failure while starting stops what had
// started and reports why. start() and stop() run on the control (main) thread.
#pragma once

#include "core/build_info.h"
#include "core/config.h"
#include "core/errors.h"
#include "core/logging.h"
#include "core/metrics.h"
#include "core/service.h"
#include "http/connection_budget.h"
#include "server/service_group.h"
#include "state/stream_registry.h"

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mirror::net {
class IoPool;
}

namespace mirror::http {
class TlsContext;
class QuicTlsContext;
struct H3ServerOptions;
struct TlsServerOptions;
}  // namespace mirror::http

namespace mirror::server {

class HttpService;

class Server {
 public:
  Server(core::Config config, core::BuildInfo build);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  core::Status start();
  // Graceful stop within server.shutdown_timeout; safe to call twice.
  void stop();

  bool ready() const { return ready_.load(std::memory_order_acquire); }
  core::MetricsRegistry& metrics() { return metrics_; }
  int admin_port() const;
  int http_port() const;
  // HTTPS (HTTP/2, HTTP/1.1 over TLS) for players; 0 before start().
  int https_port() const;
  // HTTP/3 (UDP, same number as https_port); 0 when server.quic.enabled is
  // false or before start().
  int h3_port() const;
  // Reads the certificate and key again (SIGHUP): new connections get them,
  // open ones keep theirs.
  core::Status reload_tls();

  // Every service's name and health, in start order.
  std::vector<std::pair<std::string, core::Health>> health() const;

  // The admin server's routes as (method, pattern), which the API
  // description (/api/v1/openapi.json) must list exactly.
  std::vector<std::pair<std::string, std::string>> admin_routes() const;

 private:
  void build_services();
  // An HTTP listener with the filters every one has (request id, access log,
  // route metrics, CORS); routes are added by the caller.
  std::unique_ptr<HttpService> make_http_service(const std::string& name, int port,
                                                 core::log::Level access_log_level,
                                                 const std::string& bind_address = "0.0.0.0");
  void register_server_metrics();
  // The dashboards' server panel: version, uptime, CPU, memory, connections,
  // viewers per protocol, each service's health.
  std::function<nlohmann::json()> server_figures();
  state::NodeIdentity node_identity();
  http::TlsServerOptions delivery_tls_options() const;
  http::H3ServerOptions delivery_h3_options() const;

  core::Config config_;
  core::BuildInfo build_;
  core::MetricsRegistry metrics_;
  std::unique_ptr<net::IoPool> io_pool_;
  std::shared_ptr<http::ConnectionBudget> connection_budget_;
  ServiceGroup services_;
  HttpService* admin_ = nullptr;
  HttpService* delivery_ = nullptr;
  std::shared_ptr<http::TlsContext> tls_context_;
  std::shared_ptr<http::QuicTlsContext> quic_tls_context_;
  std::atomic<bool> ready_{false};
  bool stopped_ = false;
};

}  // namespace mirror::server
