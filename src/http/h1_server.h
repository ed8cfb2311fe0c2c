// HTTP/1.1 over TCP (Boost.Beast parser, Asio sockets) feeding a Pipeline.
// Each connection lives on one io_context of the IoPool. Requests are read
// one at a time (keep-alive, no pipelining); the answer may come from any
// thread at any time (exchange.h) and may be streamed with chunked encoding.
// Limits: connection count, header bytes and count, body size, a deadline for
// reading a whole request (which also closes idle keep-alive connections) and
// one for each write (a client that never reads is dropped).
#pragma once

#include "core/errors.h"
#include "core/logging.h"
#include "core/metrics.h"
#include "core/service.h"
#include "net/io_pool.h"
#include "http/connection_budget.h"
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

class H1Server {
 public:
  H1Server(net::IoPool& pool, const Pipeline& pipeline, H1ServerOptions options,
           core::MetricsRegistry& metrics);
  ~H1Server();
  H1Server(const H1Server&) = delete;
  H1Server& operator=(const H1Server&) = delete;

  // Binds and listens; a port in use is an error naming the port and "tcp".
  core::Status start();
  // Stops accepting, closes idle connections, lets answers in flight finish
  // until `deadline`, then closes the rest.
  void stop(core::Deadline deadline);

  int port() const;
  std::size_t open_connections() const;

  struct Shared;  // state shared with connections (defined in the .cpp)

 private:
  std::shared_ptr<Shared> shared_;
};

}  // namespace mirror::http
