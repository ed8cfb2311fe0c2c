// HTTP/3 on UDP: one socket per event loop on the same port (SO_REUSEPORT),
// so that no single socket is the bottleneck, and a connection-ID directory
// so that a datagram the kernel hands to another loop (a client that
// migrated to a new address) still reaches the loop its connection lives on.
// Every HTTP/3 request goes to the same Pipeline as HTTP/1.1 and HTTP/2.
//
// Before a connection exists the dispatcher answers statelessly: version
// negotiation for versions Mirror does not speak, Retry to prove a client's
// address (always, never, or automatically once many handshakes are in
// progress: a handshake flood), a stateless reset for a short-header packet
// of a connection it does not know, and CONNECTION_REFUSED beyond the
// connection budget or while stopping. Datagrams that are not QUIC are
// counted and dropped.
//
// Threads: start(), drain() and stop() from the owning service's thread;
// everything else on the IoPool, each connection on one loop.
#pragma once

#include "core/errors.h"
#include "core/metrics.h"
#include "core/service.h"
#include "http/connection_budget.h"
#include "http/h3/h3_connection.h"
#include "http/h3/quic_tls.h"
#include "http/pipeline.h"
#include "net/io_pool.h"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

namespace mirror::http {

struct H3ServerOptions {
  std::string name = "delivery_h3";  // label in logs and metrics
  std::string bind_address = "0.0.0.0";
  int port = 0;  // 0 picks a free port (tests)
  int max_connections = 10000;
  std::shared_ptr<ConnectionBudget> budget;  // shared with the TCP listeners
  QuicLimits quic;
  enum class Retry { kAuto, kAlways, kNever };
  Retry retry = Retry::kAuto;
  // kAuto: new clients must answer a Retry while this many handshakes are
  // in progress.
  int retry_above_handshakes = 200;
};

class H3Server {
 public:
  H3Server(net::IoPool& pool, const Pipeline& pipeline, H3ServerOptions options,
           std::shared_ptr<QuicTlsContext> tls, core::MetricsRegistry& metrics);
  ~H3Server();
  H3Server(const H3Server&) = delete;
  H3Server& operator=(const H3Server&) = delete;

  // Binds one socket per event loop; a port in use is an error naming the
  // port and "udp".
  core::Status start();
  // GOAWAY on every connection; requests in flight finish. Returns at once.
  void drain(core::Deadline deadline);
  // drain(), waits for the connections until `deadline`, closes the rest and
  // the sockets.
  void stop(core::Deadline deadline);

  int port() const { return port_; }
  std::size_t open_connections() const;
  QuicTlsContext& tls() { return *tls_; }

  class Shared;
  class Worker;

 private:
  net::IoPool& pool_;
  std::shared_ptr<QuicTlsContext> tls_;
  std::shared_ptr<Shared> shared_;
  std::vector<std::shared_ptr<Worker>> workers_;
  int port_ = 0;
  bool started_ = false;
};

}  // namespace mirror::http
