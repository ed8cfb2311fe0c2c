// One HTTP/3 connection: ngtcp2 carries QUIC (handshake through GnuTLS,
// streams, loss recovery, congestion control with pacing, path validation
// on migration); its H3Session (h3_session.h) carries the HTTP/3 frames
// and QPACK with nghttp3, and every request goes to the same Pipeline as
// HTTP/1.1 and HTTP/2. Answers held by a handler (blocking playlist
// reloads, preload-hinted parts) wait without a thread and are streamed as
// their bytes come.
//
// Limits, each counted as a protocol error of the server by reason:
//   - requests the client cancels before their answer (rapid reset) over
//     max_resets in abuse_window: the connection is closed (h3_rapid_reset);
//   - a header section over the request limits: 431 for that request;
//   - a client that leaves answers unacknowledged for write_timeout
//     (h3_stalled); no packet for idle_timeout: closed silently;
//   - a handshake that fails (quic_handshake) or takes longer than
//     handshake_timeout (quic_handshake_timeout);
//   - streams: at most max_streams_bidi requests open at once, enforced by
//     QUIC's own stream credit.
//
// Threads: a connection lives on the event loop of the QuicHost that
// accepted it and is only touched there; exchanges post their answers to
// it.
#pragma once

#include "core/errors.h"
#include "http/h3/h3_context.h"
#include "net/udp_batch_socket.h"

#include <boost/asio/any_io_executor.hpp>

#include <ngtcp2/ngtcp2.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mirror::http {

// Connection IDs are this long; the dispatcher reads them from short headers.
inline constexpr std::size_t kQuicCidLength = 18;

// A stateless reset token for `cid`, derived from the secret, so that any
// Mirror process with the same secret can reset a connection it lost.
bool make_reset_token(const H3Context& ctx, const ngtcp2_cid& cid, std::uint8_t* token);

class H3Connection;

// The event loop a connection lives on: its socket and its routing table.
class QuicHost {
 public:
  virtual ~QuicHost() = default;
  virtual void associate(const ngtcp2_cid& cid,
                         const std::shared_ptr<H3Connection>& connection) = 0;
  virtual void dissociate(const ngtcp2_cid& cid) = 0;
  virtual net::UdpBatchSocket& socket() = 0;
  // Scratch space for one burst of packets, shared by the loop's
  // connections (a connection's output is sent before the next one writes).
  virtual std::span<std::uint8_t> send_buffer() = 0;
  // The socket is full: call connection->on_writable() when it drains.
  virtual void wait_writable(const std::shared_ptr<H3Connection>& connection) = 0;
  virtual void handshake_completed(H3Connection& connection) = 0;
  // The connection is over: forget its IDs and give back its slot.
  virtual void finished(H3Connection& connection) = 0;
};

class H3Connection {
 public:
  virtual ~H3Connection() = default;

  // Sets the connection up from the client's first Initial. `original_dcid`
  // is set when the client came back after a Retry.
  // `token_validated`: the Initial carried a valid address token (NEW_TOKEN),
  // so the client's address needs no further proof.
  virtual core::Status accept(const ngtcp2_pkt_hd& initial, const ngtcp2_cid* original_dcid,
                              bool token_validated, const net::UdpAddress& local,
                              const net::UdpAddress& remote) = 0;

  // One datagram for this connection. Output waits for flush(), so that a
  // batch of datagrams is answered (and acknowledged) once.
  virtual void on_datagram(const net::UdpReceived& datagram) = 0;
  virtual void flush() = 0;
  virtual void on_writable() = 0;

  // Server stopping: GOAWAY, finish the requests in flight, then close.
  virtual void drain() = 0;
  // Now, whatever is in flight (CONNECTION_CLOSE, best effort).
  virtual void close_now() = 0;

  virtual bool is_finished() const = 0;
  virtual bool handshake_done() const = 0;
  // The client's IP, which holds the connection's slot in the budget.
  virtual const std::string& slot_address() const = 0;
};

std::shared_ptr<H3Connection> make_h3_connection(std::shared_ptr<const H3Context> ctx,
                                                 QuicHost& host,
                                                 boost::asio::any_io_executor executor,
                                                 std::string slot_address);

}  // namespace mirror::http
