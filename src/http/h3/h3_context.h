// What the HTTP/3 connections of one server share (limits, the secret of
// address tokens and stateless resets, the certificates, the pipeline).
//
// Threads: read-only once serving; shared by every event loop's connections.
#pragma once

#include "http/h3/quic_tls.h"
#include "http/pipeline.h"
#include "http/stream_request.h"

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace mirror::http {

struct QuicLimits {
  std::chrono::nanoseconds idle_timeout = std::chrono::seconds(30);
  std::chrono::nanoseconds handshake_timeout = std::chrono::seconds(10);
  std::uint64_t max_streams_bidi = 1000;  // requests open at once
  std::uint64_t max_streams_uni = 1000;
  bool bbr = false;  // CUBIC otherwise
  StreamRequestLimits request;
  std::chrono::nanoseconds write_timeout = std::chrono::seconds(30);
  std::chrono::nanoseconds abuse_window = std::chrono::seconds(10);
  int max_resets = 200;
};

// What every connection of one server shares; read-only once serving.
struct H3Context {
  const Pipeline& pipeline;
  QuicLimits limits;
  std::array<std::uint8_t, 32> secret{};  // address tokens and stateless resets
  std::shared_ptr<QuicTlsContext> tls;
  std::string server_name;
  // A protocol error by reason, counted and logged (rate-limited).
  std::function<void(std::string_view reason, const std::string& remote)> count;
};

}  // namespace mirror::http
