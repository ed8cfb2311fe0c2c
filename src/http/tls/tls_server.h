// HTTPS on TCP: a Listener whose connections do a TLS handshake (bounded in
// time) and then speak the protocol ALPN chose, HTTP/2 or HTTP/1.1, both
// feeding the same Pipeline as plain HTTP/1.1. A handshake that fails or
// takes too long (a garbage ClientHello, a slow client) is counted as a
// protocol error ("tls_handshake", "tls_handshake_timeout") and closed.
//
// Threads: start() and stop() from the owning service's thread; connections
// on the IoPool.
#pragma once

#include "core/errors.h"
#include "core/metrics.h"
#include "http/h1_session.h"
#include "http/h2/h2_session.h"
#include "http/listener.h"
#include "http/pipeline.h"
#include "net/io_pool.h"

#include <chrono>
#include <memory>

namespace mirror::http {

class TlsContext;  // tls_context.h: OpenSSL's headers stay out of this one

struct TlsServerOptions {
  ListenerOptions listener;
  H1Limits h1;
  H2Limits h2;
  std::chrono::nanoseconds handshake_timeout = std::chrono::seconds(10);
};

class TlsServer {
 public:
  TlsServer(net::IoPool& pool, const Pipeline& pipeline, TlsServerOptions options, std::shared_ptr<TlsContext> tls,
            core::MetricsRegistry& metrics);
  ~TlsServer();
  TlsServer(const TlsServer&) = delete;
  TlsServer& operator=(const TlsServer&) = delete;

  core::Status start();
  // As H1Server's: drain() returns at once, stop() waits until `deadline`.
  void drain(core::Deadline deadline);
  void stop(core::Deadline deadline);

  int port() const;
  std::size_t open_connections() const;
  TlsContext& tls() { return *tls_; }

 private:
  std::shared_ptr<TlsContext> tls_;
  std::shared_ptr<Listener> listener_;
};

}  // namespace mirror::http
