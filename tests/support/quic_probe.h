// A QUIC client for tests that misbehave on purpose, built on ngtcp2 and
// GnuTLS like Mirror's server (gtlsclient behaves too well for these):
//   - kGarbageClientHello: a correctly protected Initial whose CRYPTO frame
//     carries scrambled bytes instead of a ClientHello;
//   - kSilentAfterInitial: the first Initial, then nothing (a handshake that
//     never finishes);
//   - kStopsReading: a full handshake, one GET of `path` with FIN, and no
//     flow-control credit beyond the first `window` bytes of the answer:
//     the client acknowledges packets but never reads.
// HTTP/3 is spoken by hand (control stream with an empty SETTINGS frame,
// QPACK with the static table only), enough for one request.
//
// Threads: one; run() blocks the caller.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace mirror::testing {

enum class QuicMisbehaviour { kGarbageClientHello, kSilentAfterInitial, kStopsReading };

struct QuicProbeResult {
  bool handshake_completed = false;
  bool closed_by_server = false;  // a CONNECTION_CLOSE came
  bool application_close = false;  // ... of the application (HTTP/3) kind
  std::uint64_t close_code = 0;
  std::uint64_t answer_bytes = 0;  // stream bytes of the request's answer received
  std::string error;               // what went wrong on the client's side, if anything
};

// Connects to 127.0.0.1:`port` and misbehaves until the server closes the
// connection or `limit` passes.
QuicProbeResult run_quic_probe(int port, QuicMisbehaviour how, std::chrono::milliseconds limit,
                               const std::string& path = "/", std::uint64_t window = 1024);

}  // namespace mirror::testing
