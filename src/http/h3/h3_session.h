// The HTTP/3 side of one QUIC connection: nghttp3 (frames, QPACK, the
// control streams) and the request streams, each handed to the same
// Pipeline as HTTP/1.1 and HTTP/2. Held answers wait without a thread and
// are streamed as their bytes come; their bytes are kept until the client
// acknowledges them.
//
// QUIC is reached only through H3Transport, so that the session can be
// driven by stream bytes alone (the fuzz target fuzz_h3_session does), as
// H2Session is driven through H2Transport.
//
// Limits, each counted through H3Context::count:
//   - a header section over the request limits: 431 for that request
//     (nghttp3 refuses sections over the advertised field-section size);
//   - requests the client cancels before their answer (rapid reset) over
//     max_resets in abuse_window: stream_reset() says the connection must
//     close with H3_EXCESSIVE_LOAD (h3_rapid_reset);
//   - frames nghttp3 refuses: read() gives the application error to close
//     with (h3_protocol).
//
// Threads: the event loop of the connection that owns it; exchanges post
// their answers there (the session is their target, so it may outlive its
// connection: detach() makes it inert).
#pragma once

#include "http/exchange.h"
#include "http/h3/h3_context.h"
#include "http/stream_request.h"

#include <boost/asio/any_io_executor.hpp>

#include <nghttp3/nghttp3.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace mirror::http {

template <typename Connection, typename StreamId>
class StreamExchange;
class H3Session;
using H3Exchange = StreamExchange<H3Session, std::int64_t>;

// What the session asks of QUIC. Called only from inside the session's own
// methods, on the connection's event loop.
class H3Transport {
 public:
  virtual ~H3Transport() = default;
  // A unidirectional stream of the server's (control, QPACK encoder and decoder).
  virtual bool open_uni_stream(std::int64_t& id) = 0;
  // `bytes` of stream `id` were consumed: the client may send as many more.
  virtual void consumed(std::int64_t id, std::size_t bytes) = 0;
  // Reset both directions of a stream (an answer that cannot be sent, a
  // request refused after GOAWAY).
  virtual void reset_stream(std::int64_t id, std::uint64_t app_error_code) = 0;
  virtual void stop_reading(std::int64_t id, std::uint64_t app_error_code) = 0;
  virtual void stop_writing(std::int64_t id, std::uint64_t app_error_code) = 0;
  // A request stream of the client's is gone: it may open another.
  virtual void request_stream_closed() = 0;
  // Output is waiting: write packets soon.
  virtual void wake() = 0;
};

class H3Session : public std::enable_shared_from_this<H3Session> {
 public:
  using Clock = std::chrono::steady_clock;

  H3Session(std::shared_ptr<const H3Context> ctx, H3Transport& transport,
            boost::asio::any_io_executor executor, std::string remote);
  ~H3Session();
  H3Session(const H3Session&) = delete;
  H3Session& operator=(const H3Session&) = delete;

  // Opens the control and QPACK streams; false when QUIC has no room for them.
  bool start();
  // The connection is over: requests in flight end as aborted, nothing is
  // written any more and answers still posted are dropped.
  void detach();

  // --- input from QUIC ---

  // Stream bytes from the client. 0, or the HTTP/3 error code to close the
  // connection with.
  std::uint64_t read(std::int64_t id, const std::uint8_t* data, std::size_t size, bool fin);
  // `bytes` more of what stream `id` sent were acknowledged.
  bool acked(std::int64_t id, std::uint64_t bytes);
  // QUIC forgot the stream (both directions done, or reset).
  bool stream_closed(std::int64_t id, std::uint64_t app_error_code);
  // The client reset its request or asked us to stop sending; false when
  // that makes too many cancellations (close with H3_EXCESSIVE_LOAD).
  bool stream_reset(std::int64_t id);
  void set_max_client_streams(std::uint64_t max_streams);
  bool unblock(std::int64_t id);

  // --- output to QUIC ---

  // The next stream bytes to send (nghttp3_conn_writev_stream); < 0 is an
  // nghttp3 error. After sending, wrote() says how much went.
  nghttp3_ssize next_output(std::int64_t& id, int& fin, nghttp3_vec* vec, std::size_t count);
  bool wrote(std::int64_t id, std::size_t bytes);
  void blocked(std::int64_t id);  // flow control: nothing more until unblock()
  void write_shut(std::int64_t id);

  // --- the connection's own state ---

  // GOAWAY: requests that come after it are refused (H3_REQUEST_REJECTED),
  // those in flight finish.
  void goaway();
  bool idle() const { return streams_.empty(); }
  // Answer bytes not sent or not acknowledged, and when the client last
  // made progress on them (a client that stops reading stalls there).
  bool waiting_on_client() const;
  Clock::time_point last_progress() const { return last_progress_; }

  // --- answers (StreamExchange posts them here) ---

  void respond(std::int64_t id, std::shared_ptr<H3Exchange> exchange, Response&& response);
  void head(std::int64_t id, std::shared_ptr<H3Exchange> exchange, int status, Headers&& headers);
  void chunk(std::int64_t id, BodyPiece piece);
  void end(std::int64_t id);
  void abandoned(std::int64_t id);

 private:
  struct Stream;
  Stream* find(std::int64_t id);
  void count(std::string_view reason);
  void submit_head(Stream& st, int status, const Headers& headers,
                   std::optional<std::size_t> content_length);
  void dispatch(Stream& st);
  void end_exchange(Stream& st, bool aborted);

  static nghttp3_ssize read_body(nghttp3_conn*, std::int64_t, nghttp3_vec* vec,
                                 std::size_t veccnt, std::uint32_t* pflags, void*,
                                 void* stream_user);
  static int on_acked(nghttp3_conn*, std::int64_t, std::uint64_t len, void* user,
                      void* stream_user);
  static int on_stream_close(nghttp3_conn*, std::int64_t id, std::uint64_t app_error_code,
                             void* user, void*);
  static int on_recv_data(nghttp3_conn*, std::int64_t id, const std::uint8_t* data,
                          std::size_t len, void* user, void* stream_user);
  static int on_deferred_consume(nghttp3_conn*, std::int64_t id, std::size_t consumed,
                                 void* user, void*);
  static int on_begin_headers(nghttp3_conn* http, std::int64_t id, void* user, void*);
  static int on_recv_header(nghttp3_conn*, std::int64_t, std::int32_t, nghttp3_rcbuf* name,
                            nghttp3_rcbuf* value, std::uint8_t, void* user, void* stream_user);
  static int on_end_stream(nghttp3_conn*, std::int64_t, void* user, void* stream_user);
  static int on_stop_sending(nghttp3_conn*, std::int64_t id, std::uint64_t app_error_code,
                             void* user, void*);
  static int on_reset_stream(nghttp3_conn*, std::int64_t id, std::uint64_t app_error_code,
                             void* user, void*);

  std::shared_ptr<const H3Context> ctx_;
  H3Transport* transport_;  // null once detached
  boost::asio::any_io_executor executor_;
  std::string remote_;
  nghttp3_conn* http_ = nullptr;
  std::map<std::int64_t, std::unique_ptr<Stream>> streams_;
  bool going_away_ = false;
  Clock::time_point last_progress_;
  Clock::time_point window_start_;
  int resets_ = 0;
};

}  // namespace mirror::http
