// HTTP/2 connections (libnghttp2) over TLS feeding the same Pipeline as
// HTTP/1.1. Many requests run at once on one connection: players send their
// blocking playlist reloads and preload-hinted part requests side by side,
// each held until its answer exists and streamed as its bytes come
// (DATA frames under flow control).
//
// Limits against abuse, each counted as a protocol error of the server
// (mirror_http_protocol_errors_total{reason}) and answered with GOAWAY:
//   - streams the client cancels before their answer (rapid reset,
//     CVE-2023-44487), over max_resets in any window;
//   - SETTINGS, PING and PRIORITY frames over max_control_frames in any
//     window (and the library's own cap on queued acknowledgements);
//   - CONTINUATION frames over max_continuations for one header block
//     (CVE-2024-27316 class);
//   - a header list over request.header_limit bytes or max_header_count fields
//     (HPACK bombs): 431 for that request;
//   - a client that leaves answers unsent (zero window, not reading) for
//     write_timeout: the connection is closed;
//   - no stream and no frame for idle_timeout: GOAWAY and close.
// On shutdown the session sends GOAWAY, lets streams in flight finish and
// closes.
//
// Threads: a session lives on the io_context its listener accepted it on;
// its exchanges post every answer there. nghttp2's session is only touched
// on that thread.
#pragma once

#include "http/h2/h2_transport.h"
#include "http/listener.h"
#include "http/pipeline.h"
#include "http/stream_request.h"

#include <chrono>
#include <cstdint>
#include <string>

namespace mirror::http {

struct H2Limits {
  std::uint32_t max_concurrent_streams = 100;  // SETTINGS_MAX_CONCURRENT_STREAMS
  StreamRequestLimits request;  // header list (RFC 9113 sizes) and body
  std::chrono::nanoseconds idle_timeout = std::chrono::seconds(30);
  std::chrono::nanoseconds write_timeout = std::chrono::seconds(30);
  std::chrono::nanoseconds abuse_window = std::chrono::seconds(10);
  int max_resets = 200;            // streams the client cancelled before their answer
  int max_control_frames = 1000;   // SETTINGS + PING + PRIORITY frames
  int max_continuations = 8;       // CONTINUATION frames of one header block
};

// What every HTTP/2 connection of one server shares. The listener and the
// pipeline outlive the sessions (the listener stops them before it goes).
struct H2Context {
  const Pipeline& pipeline;
  H2Limits limits;
  Listener* listener = nullptr;  // protocol-error counts
  std::string server_name;
};

// A session over any byte stream (the server's TLS one is made by
// tls/tls_sessions.h); `slot` may be null outside a listener.
std::shared_ptr<Session> make_h2_session(std::shared_ptr<const H2Context> context,
                                         std::unique_ptr<H2Transport> transport, std::unique_ptr<ConnectionSlot> slot);

}  // namespace mirror::http
