// An HTTP listener as a Service: a Pipeline (filters + router) served by the
// HTTP/1.1 transport on the shared IoPool. The admin server is one; the
// delivery server will be another with the same parts.
#pragma once

#include "core/metrics.h"
#include "core/service.h"
#include "http/h1_server.h"
#include "net/io_pool.h"
#include "http/pipeline.h"

#include <memory>
#include <string>

namespace mirror::server {

class HttpService final : public core::Service {
 public:
  HttpService(std::string name, net::IoPool& pool, http::H1ServerOptions options,
              core::MetricsRegistry& metrics);

  // Routes and filters are added before start().
  http::Pipeline& pipeline() { return pipeline_; }

  std::string_view name() const override { return name_; }
  core::Status start() override;
  void stop(core::Deadline deadline) override;
  core::Health health() const override;

  int port() const { return server_.port(); }

 private:
  std::string name_;
  http::Pipeline pipeline_;
  http::H1Server server_;
  int max_connections_;
  std::atomic<bool> running_{false};
};

}  // namespace mirror::server
