// HTTP/1.1 over plain TCP feeding a Pipeline: a Listener (connection budget,
// drain on stop) whose sessions are HTTP/1.1 ones (h1_session.h, which has
// the request limits and deadlines).
//
// Threads: start() and stop() from the owning service's thread; connections
// on the IoPool.
#pragma once

#include "core/errors.h"
#include "core/logging.h"
#include "core/metrics.h"
#include "core/service.h"
#include "net/io_pool.h"
#include "http/connection_budget.h"
#include "http/h1_session.h"
#include "http/listener.h"
#include "http/pipeline.h"

#include <chrono>
#include <memory>
#include <string>

namespace mirror::http {

struct H1ServerOptions {
  std::string name = "http";           // label in logs and metrics ("admin", "delivery")
  std::string bind_address = "0.0.0.0";
  int port = 0;                        // 0 picks a free port (tests)
  int max_connections = 10000;
  // Shared with the server's other listeners: server.max_connections in all,
  // server.max_connections_per_ip per client address. Null: max_connections
  // for this listener alone.
  std::shared_ptr<ConnectionBudget> budget;
  std::chrono::nanoseconds read_timeout = std::chrono::seconds(30);
  std::chrono::nanoseconds write_timeout = std::chrono::seconds(30);
  std::size_t header_limit = 16 * 1024;  // bytes of request line + headers
  std::size_t max_header_count = 100;
  std::size_t body_limit = 1024 * 1024;
  core::log::Level access_log_level = core::log::Level::kInfo;
};

// The HTTP/1.1 part of `options`.
H1Limits h1_limits(const H1ServerOptions& options);

class H1Server {
 public:
  H1Server(net::IoPool& pool, const Pipeline& pipeline, H1ServerOptions options,
           core::MetricsRegistry& metrics);
  ~H1Server();
  H1Server(const H1Server&) = delete;
  H1Server& operator=(const H1Server&) = delete;

  // Binds and listens; a port in use is an error naming the port and "tcp".
  core::Status start();
  // Stops accepting, closes idle connections and lets answers in flight
  // finish; returns at once.
  void drain(core::Deadline deadline);
  // drain(), then waits for answers in flight until `deadline` and closes
  // the rest.
  void stop(core::Deadline deadline);

  int port() const;
  std::size_t open_connections() const;

  // The listener's limits and the HTTP/1.1 limits, for other transports of
  // the same server (the TLS listener).
  const H1ServerOptions& options() const { return options_; }

 private:
  H1ServerOptions options_;
  std::shared_ptr<Listener> listener_;
};

}  // namespace mirror::http
