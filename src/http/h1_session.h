// HTTP/1.1 connections (Boost.Beast parser) feeding a Pipeline, over a plain
// TCP socket or a TLS stream. Requests are read one at a time (keep-alive, no
// pipelining); the answer may come from any thread at any time (exchange.h)
// and may be streamed with chunked encoding. Limits: header bytes and count,
// body size, a deadline for reading a whole request (which also closes idle
// keep-alive connections) and one for each write (a client that never reads
// is dropped).
//
// Threads: a session lives on the io_context its listener accepted it on;
// its exchanges post every answer there.
#pragma once

#include "core/logging.h"
#include "http/listener.h"
#include "http/pipeline.h"

#include <chrono>
#include <memory>

namespace mirror::http {

struct H1Limits {
  std::chrono::nanoseconds read_timeout = std::chrono::seconds(30);
  std::chrono::nanoseconds write_timeout = std::chrono::seconds(30);
  std::size_t header_limit = 16 * 1024;  // bytes of request line + headers
  std::size_t max_header_count = 100;
  std::size_t body_limit = 1024 * 1024;
};

// What every connection of one server shares. The listener and the pipeline
// outlive the sessions (the listener stops them before it goes).
struct H1Context {
  const Pipeline& pipeline;
  H1Limits limits;
  Listener* listener = nullptr;  // protocol-error counts
  std::string server_name;
};

std::shared_ptr<Session> make_h1_session(std::shared_ptr<const H1Context> context,
                                         boost::asio::ip::tcp::socket socket,
                                         std::unique_ptr<ConnectionSlot> slot);
// Over TLS: see tls/tls_sessions.h.

}  // namespace mirror::http
