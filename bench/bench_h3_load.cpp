// HTTP/3 load generator on ngtcp2's and nghttp3's client API (0.12 / 0.8, GnuTLS):
// C QUIC connections, each keeping S GETs of one path in flight for T seconds and
// issuing a new request as soon as one completes. Prints exactly one line:
//   h3_load requests=R seconds=T rps=X gbps=Y errors=E connections_ok=N
// requests: 200 responses completed within T; gbps: their body bits per second / 1e9;
// errors: other statuses, reset or truncated responses, bodies whose size is not
// --check-bytes, failed connections (one each); connections_ok: connections that
// completed the handshake and were still up at the end. Exits 1 if no request completed.
// Threads: connections are dealt over K workers; a connection, its UDP socket and its
// ngtcp2/nghttp3 state belong to one worker's ppoll loop; main sums the workers'
// counters after joining them. The server certificate is not verified (Mirror's test
// certificate is self-signed).
// With --requests-per-connection R a connection issues R requests in all and then
// stays open, idle (for the memory an idle viewer connection costs).
// Usage: bench_h3_load --host H --port N --path /x --connections C --streams S --seconds T
//        [--threads K] [--check-bytes N] [--requests-per-connection R]
#include "support/quic_client_callbacks.h"

#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <netdb.h>
#include <nghttp3/nghttp3.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <vector>

namespace {

struct Options {
  std::string host = "127.0.0.1";
  std::string port;
  std::string path = "/";
  int connections = 1;
  int streams = 1;
  double seconds = 5;
  int threads = 0;
  long long check_bytes = -1;
  long long requests_per_connection = 0;  // 0: no end
};

struct Totals {
  std::uint64_t requests = 0;
  std::uint64_t body_bytes = 0;
  std::uint64_t errors = 0;
  std::uint64_t connections_ok = 0;
};

// Generous credit, so that the figure measures the server and not this client's windows.
constexpr std::uint64_t kMaxData = 16 << 20;
constexpr std::uint64_t kMaxStreamData = 4 << 20;
// What one receive slot holds, announced to the server as our max_udp_payload_size.
constexpr std::size_t kRecvSlot = 4096;
constexpr std::size_t kRecvBatch = 32;

// TLS 1.3 only (QUIC needs it), the AEADs QUIC defines, common groups.
constexpr const char* kPriority =
    "%DISABLE_TLS13_COMPAT_MODE:NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:"
    "+AES-256-GCM:+CHACHA20-POLY1305:+AES-128-CCM:-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1";

std::uint64_t now_ns() {
  const auto t = std::chrono::steady_clock::now().time_since_epoch();
  return static_cast<std::uint64_t>(std::chrono::nanoseconds(t).count());
}

using mirror::testing::quic_random_bytes;

// Only the first few diagnostics: a dead server would otherwise print one per connection.
void note(const std::string& what) {
  static std::atomic<int> printed{0};
  if (printed.fetch_add(1) < 5) std::fprintf(stderr, "bench_h3_load: %s\n", what.c_str());
}

nghttp3_nv make_nv(std::string_view name, std::string_view value) {
  auto bytes = [](std::string_view s) {
    return reinterpret_cast<std::uint8_t*>(const_cast<char*>(s.data()));
  };
  return nghttp3_nv{bytes(name), bytes(value), name.size(), value.size(), NGHTTP3_NV_FLAG_NONE};
}

// recvmmsg slots, one set per worker, reused by all its connections.
struct RecvSlots {
  RecvSlots() : bytes(kRecvBatch * kRecvSlot) {
    for (std::size_t i = 0; i < kRecvBatch; ++i) {
      iov[i] = iovec{bytes.data() + i * kRecvSlot, kRecvSlot};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
  }
  std::vector<std::uint8_t> bytes;
  std::array<iovec, kRecvBatch> iov{};
  std::array<mmsghdr, kRecvBatch> msgs{};
};

struct Request {
  int status = 0;
  std::uint64_t body = 0;
  bool ended = false;  // the response's last byte arrived
};

// One QUIC connection and its HTTP/3 session, owned and driven by one worker.
// Callbacks only record state or return an error; the connection is ended (fail)
// by the method that called into ngtcp2, never from inside a callback.
class Connection {
 public:
  Connection(const Options& options, const addrinfo& server,
             gnutls_certificate_credentials_t credentials, Totals& totals)
      : options_(options), credentials_(credentials), totals_(totals) {
    std::memcpy(&remote_, server.ai_addr, server.ai_addrlen);
    remote_len_ = server.ai_addrlen;
    const bool v6 = options_.host.find(':') != std::string::npos;
    authority_ = (v6 ? "[" + options_.host + "]" : options_.host) + ":" + options_.port;
    conn_ref_.get_conn = [](ngtcp2_crypto_conn_ref* ref) { return of(ref->user_data).conn_; };
    conn_ref_.user_data = this;
    ngtcp2_connection_close_error_default(&last_error_);
  }
  ~Connection() {
    if (http_ != nullptr) nghttp3_conn_del(http_);
    if (conn_ != nullptr) ngtcp2_conn_del(conn_);
    if (tls_ != nullptr) gnutls_deinit(tls_);
    if (fd_ >= 0) ::close(fd_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void start() {
    fd_ = ::socket(remote_.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    // Connected, so that a closed port comes back as ECONNREFUSED, not a handshake timeout.
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&remote_), remote_len_) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&local_), &local_len_) != 0) {
      return fail_socket(errno);
    }
    ngtcp2_cid scid{};
    ngtcp2_cid dcid{};
    scid.datalen = 17;
    dcid.datalen = 18;
    quic_random_bytes(scid.data, scid.datalen);
    quic_random_bytes(dcid.data, dcid.datalen);

    ngtcp2_settings settings;
    ngtcp2_settings_default(&settings);
    settings.initial_ts = now_ns();
    settings.max_window = kMaxData;  // how far auto-tuning may grow the windows
    settings.max_stream_window = kMaxStreamData;
    settings.handshake_timeout = 5 * NGTCP2_SECONDS;

    ngtcp2_transport_params params;
    ngtcp2_transport_params_default(&params);
    params.initial_max_stream_data_bidi_local = kMaxStreamData;  // responses to our requests
    params.initial_max_stream_data_uni = kMaxStreamData;  // the server's control and QPACK streams
    params.initial_max_data = kMaxData;
    params.initial_max_streams_uni = 3;
    params.max_idle_timeout = 30 * NGTCP2_SECONDS;
    params.max_udp_payload_size = kRecvSlot;
    params.active_connection_id_limit = 7;

    ngtcp2_callbacks cb = mirror::testing::quic_client_callbacks();
    cb.handshake_completed = [](ngtcp2_conn*, void* user) {
      of(user).handshake_done_ = true;
      return 0;
    };
    cb.recv_rx_key = [](ngtcp2_conn*, ngtcp2_crypto_level level, void* user) {
      if (level != NGTCP2_CRYPTO_LEVEL_APPLICATION) return 0;
      return of(user).setup_http() ? 0 : NGTCP2_ERR_CALLBACK_FAILURE;
    };
    cb.recv_stream_data = &Connection::on_recv_stream_data;
    cb.stream_close = &Connection::on_stream_close;
    cb.acked_stream_data_offset = [](ngtcp2_conn*, std::int64_t id, std::uint64_t,
                                     std::uint64_t len, void* user, void*) {
      return of(user).tell_http(nghttp3_conn_add_ack_offset, id, len);
    };
    cb.stream_reset = [](ngtcp2_conn*, std::int64_t id, std::uint64_t, std::uint64_t, void* user,
                         void*) {
      return of(user).tell_http(nghttp3_conn_shutdown_stream_read, id);
    };
    cb.stream_stop_sending = [](ngtcp2_conn*, std::int64_t id, std::uint64_t, void* user, void*) {
      return of(user).tell_http(nghttp3_conn_shutdown_stream_read, id);
    };
    cb.extend_max_stream_data = [](ngtcp2_conn*, std::int64_t id, std::uint64_t, void* user,
                                   void*) {
      return of(user).tell_http(nghttp3_conn_unblock_stream, id);
    };

    const ngtcp2_path path = this->path();
    if (const int rv = ngtcp2_conn_client_new(&conn_, &dcid, &scid, &path, NGTCP2_PROTO_VER_V1, &cb,
                                              &settings, &params, nullptr, this);
        rv != 0) {
      conn_ = nullptr;
      return fail(std::string("ngtcp2_conn_client_new: ") + ngtcp2_strerror(rv), false);
    }
    if (const int rv = setup_tls(); rv != 0) {
      return fail(std::string("TLS setup: ") + gnutls_strerror(rv), false);
    }
    ngtcp2_conn_set_tls_native_handle(conn_, tls_);
    write();  // the first Initial
  }

  bool open() const { return state_ == State::kOpen; }
  int fd() const { return fd_; }
  bool wants_writable() const { return !blocked_.empty(); }
  // When tick() is due, in now_ns() time: ngtcp2's timers (loss, ACK delay, idle,
  // pacing), or at once when the last write stopped at the send quantum.
  std::uint64_t wakeup() const { return write_again_ ? 0 : ngtcp2_conn_get_expiry(conn_); }

  void tick(std::uint64_t now) {
    if (state_ != State::kOpen) return;
    if (ngtcp2_conn_get_expiry(conn_) <= now) {
      if (const int rv = ngtcp2_conn_handle_expiry(conn_, now); rv != 0) {
        // Idle and handshake timeouts end silently; anything else tells the server.
        const bool silent = rv == NGTCP2_ERR_IDLE_CLOSE || rv == NGTCP2_ERR_HANDSHAKE_TIMEOUT;
        if (!silent)
          ngtcp2_connection_close_error_set_transport_error_liberr(&last_error_, rv, nullptr, 0);
        return fail(std::string("timer: ") + ngtcp2_strerror(rv), !silent);
      }
    } else if (!write_again_) {
      return;
    }
    write();
  }

  void on_readable(RecvSlots& slots) {
    const ngtcp2_path path = this->path();
    for (int round = 0; round < 4 && state_ == State::kOpen; ++round) {
      const int n = ::recvmmsg(fd_, slots.msgs.data(), kRecvBatch, 0, nullptr);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
        return fail_socket(errno);
      }
      const std::uint64_t ts = now_ns();
      for (int i = 0; i < n && state_ == State::kOpen; ++i) {
        if ((slots.msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0) continue;  // above our limit
        const auto* data = static_cast<const std::uint8_t*>(slots.iov[i].iov_base);
        ngtcp2_pkt_info pi{};
        const int rv = ngtcp2_conn_read_pkt(conn_, &path, &pi, data, slots.msgs[i].msg_len, ts);
        if (rv != 0) on_read_error(rv);
      }
      if (static_cast<std::size_t>(n) < kRecvBatch) break;
    }
    issue_requests();
    write();
  }

  void on_writable() {
    if (state_ == State::kOpen && send_blocked()) write();
  }

  // The measurement is over: close politely, and count the connection if it lasted.
  void close_at_end() {
    if (state_ != State::kOpen) return;
    ngtcp2_connection_close_error_set_application_error(&last_error_, NGHTTP3_H3_NO_ERROR, nullptr,
                                                        0);
    send_close();
    state_ = State::kClosed;
    if (handshake_done_) ++totals_.connections_ok;
  }

 private:
  enum class State { kOpen, kClosed, kFailed };

  static Connection& of(void* user) { return *static_cast<Connection*>(user); }

  // A stream event of ngtcp2's that nghttp3 must hear about, once the HTTP/3 session exists.
  template <typename... Args>
  int tell_http(int (*f)(nghttp3_conn*, Args...), std::type_identity_t<Args>... args) {
    return http_ == nullptr || f(http_, args...) == 0 ? 0 : NGTCP2_ERR_CALLBACK_FAILURE;
  }

  ngtcp2_path path() {
    return ngtcp2_path{{reinterpret_cast<sockaddr*>(&local_), local_len_},
                       {reinterpret_cast<sockaddr*>(&remote_), remote_len_},
                       nullptr};
  }

  int setup_tls() {
    if (const int rv = gnutls_init(&tls_, GNUTLS_CLIENT | GNUTLS_NO_END_OF_EARLY_DATA); rv != 0) {
      tls_ = nullptr;
      return rv;
    }
    if (const int rv = gnutls_priority_set_direct(tls_, kPriority, nullptr); rv != 0) return rv;
    if (ngtcp2_crypto_gnutls_configure_client_session(tls_) != 0) return GNUTLS_E_INTERNAL_ERROR;
    gnutls_session_set_ptr(tls_, &conn_ref_);
    // No gnutls_session_set_verify_cert: any certificate is accepted.
    if (const int rv = gnutls_credentials_set(tls_, GNUTLS_CRD_CERTIFICATE, credentials_);
        rv != 0) {
      return rv;
    }
    gnutls_datum_t alpn{reinterpret_cast<unsigned char*>(const_cast<char*>("h3")), 2};
    gnutls_alpn_set_protocols(tls_, &alpn, 1, GNUTLS_ALPN_MANDATORY);
    // An address is no SNI name; the ngtcp2 examples send "localhost" then.
    std::array<unsigned char, sizeof(in6_addr)> scratch{};
    const char* host = options_.host.c_str();
    const bool numeric = inet_pton(AF_INET, host, scratch.data()) == 1 ||
                         inet_pton(AF_INET6, host, scratch.data()) == 1;
    const std::string sni = numeric ? "localhost" : options_.host;
    return gnutls_server_name_set(tls_, GNUTLS_NAME_DNS, sni.data(), sni.size());
  }

  // On the 1-RTT keys: the server's transport parameters are known by then.
  bool setup_http() {
    if (http_ != nullptr) return true;
    if (ngtcp2_conn_get_max_local_streams_uni(conn_) < 3) return false;
    nghttp3_callbacks cb{};
    // acked_stream_data stays null: a GET has no body, so nothing waits for acknowledgement.
    cb.stream_close = [](nghttp3_conn*, std::int64_t id, std::uint64_t, void* user, void*) {
      of(user).finish_request(id);
      return 0;
    };
    cb.recv_data = [](nghttp3_conn*, std::int64_t id, const std::uint8_t*, std::size_t len,
                      void* user, void* stream_user) {
      if (auto* req = static_cast<Request*>(stream_user)) req->body += len;
      of(user).consumed(id, len);
      return 0;
    };
    cb.deferred_consume = [](nghttp3_conn*, std::int64_t id, std::size_t len, void* user, void*) {
      of(user).consumed(id, len);
      return 0;
    };
    cb.recv_header = [](nghttp3_conn*, std::int64_t, std::int32_t token, nghttp3_rcbuf*,
                        nghttp3_rcbuf* value, std::uint8_t, void*, void* stream_user) {
      auto* req = static_cast<Request*>(stream_user);
      if (req == nullptr || token != NGHTTP3_QPACK_TOKEN__STATUS) return 0;
      const nghttp3_vec v = nghttp3_rcbuf_get_buf(value);
      req->status = std::atoi(std::string(reinterpret_cast<const char*>(v.base), v.len).c_str());
      return 0;
    };
    cb.end_stream = [](nghttp3_conn*, std::int64_t, void*, void* stream_user) {
      if (auto* req = static_cast<Request*>(stream_user)) req->ended = true;
      return 0;
    };
    cb.stop_sending = [](nghttp3_conn*, std::int64_t id, std::uint64_t code, void* user, void*) {
      const int rv = ngtcp2_conn_shutdown_stream_read(of(user).conn_, id, code);
      return rv == 0 ? 0 : NGHTTP3_ERR_CALLBACK_FAILURE;
    };
    cb.shutdown = [](nghttp3_conn*, std::int64_t, void* user) {
      of(user).goaway_ = true;  // the server is going away: requests in flight still finish
      return 0;
    };
    cb.reset_stream = [](nghttp3_conn*, std::int64_t id, std::uint64_t code, void* user, void*) {
      const int rv = ngtcp2_conn_shutdown_stream_write(of(user).conn_, id, code);
      return rv == 0 ? 0 : NGHTTP3_ERR_CALLBACK_FAILURE;
    };
    nghttp3_settings settings;
    nghttp3_settings_default(&settings);
    settings.qpack_max_dtable_capacity = 4096;
    settings.qpack_blocked_streams = 100;
    if (nghttp3_conn_client_new(&http_, &cb, &settings, nghttp3_mem_default(), this) != 0) {
      http_ = nullptr;
      return false;
    }
    std::int64_t control = -1;
    std::int64_t encoder = -1;
    std::int64_t decoder = -1;
    return ngtcp2_conn_open_uni_stream(conn_, &control, nullptr) == 0 &&
           nghttp3_conn_bind_control_stream(http_, control) == 0 &&
           ngtcp2_conn_open_uni_stream(conn_, &encoder, nullptr) == 0 &&
           ngtcp2_conn_open_uni_stream(conn_, &decoder, nullptr) == 0 &&
           nghttp3_conn_bind_qpack_streams(http_, encoder, decoder) == 0;
  }

  // Bytes the application has taken off a stream: the server may send as many more.
  void consumed(std::int64_t id, std::size_t len) {
    ngtcp2_conn_extend_max_stream_offset(conn_, id, len);
    ngtcp2_conn_extend_max_offset(conn_, len);
  }

  static int on_recv_stream_data(ngtcp2_conn*, std::uint32_t flags, std::int64_t id, std::uint64_t,
                                 const std::uint8_t* data, std::size_t len, void* user, void*) {
    auto& self = of(user);
    if (self.http_ == nullptr) return 0;
    const bool fin = (flags & NGTCP2_STREAM_DATA_FLAG_FIN) != 0;
    const nghttp3_ssize n = nghttp3_conn_read_stream(self.http_, id, data, len, fin);
    if (n < 0) {
      self.set_http_error(static_cast<int>(n));
      return NGTCP2_ERR_CALLBACK_FAILURE;
    }
    // n counts framing and headers; DATA payload comes back through recv_data / deferred_consume.
    self.consumed(id, static_cast<std::size_t>(n));
    return 0;
  }

  static int on_stream_close(ngtcp2_conn*, std::uint32_t flags, std::int64_t id, std::uint64_t code,
                             void* user, void*) {
    auto& self = of(user);
    if ((flags & NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET) == 0) code = NGHTTP3_H3_NO_ERROR;
    if (self.http_ == nullptr) return 0;
    const int rv = nghttp3_conn_close_stream(self.http_, id, code);
    if (rv == NGHTTP3_ERR_STREAM_NOT_FOUND) {  // nghttp3 never saw it: free its slot here
      self.finish_request(id);
      return 0;
    }
    return rv == 0 ? 0 : NGTCP2_ERR_CALLBACK_FAILURE;
  }

  // A stream is closed (nghttp3's stream_close): count its response, free its slot.
  void finish_request(std::int64_t id) {
    if (!ngtcp2_is_bidi_stream(id)) {
      ngtcp2_conn_extend_max_streams_uni(conn_, 1);
      return;
    }
    const auto it = requests_.find(id);
    if (it == requests_.end()) return;
    const Request req = it->second;
    requests_.erase(it);
    const auto expected = static_cast<std::uint64_t>(options_.check_bytes);
    if (req.ended && req.status == 200 && (options_.check_bytes < 0 || req.body == expected)) {
      ++totals_.requests;
      totals_.body_bytes += req.body;
      return;
    }
    ++totals_.errors;
    if (!req.ended) {
      note("stream reset before the response ended");
    } else if (req.status != 200) {
      note("status " + std::to_string(req.status));
    } else {
      note("body of " + std::to_string(req.body) + " bytes, not " + std::to_string(expected));
    }
  }

  // Tops the in-flight requests up to S; the server's stream credit may hold some
  // back until its MAX_STREAMS, which a later read brings.
  void issue_requests() {
    while (state_ == State::kOpen && http_ != nullptr && !goaway_ &&
           requests_.size() < static_cast<std::size_t>(options_.streams) &&
           (options_.requests_per_connection == 0 || issued_ < options_.requests_per_connection)) {
      std::int64_t id = -1;
      if (ngtcp2_conn_open_bidi_stream(conn_, &id, nullptr) != 0) return;  // STREAM_ID_BLOCKED
      ++issued_;
      Request& req = requests_[id];  // a map node stays put: nghttp3 keeps its address
      const std::array<nghttp3_nv, 5> nva{
          make_nv(":method", "GET"), make_nv(":scheme", "https"), make_nv(":authority", authority_),
          make_nv(":path", options_.path), make_nv("user-agent", "bench_h3_load")};
      // No data reader: the request ends with its headers.
      if (const int rv =
              nghttp3_conn_submit_request(http_, id, nva.data(), nva.size(), nullptr, &req);
          rv != 0) {
        set_http_error(rv);
        return fail(std::string("nghttp3_conn_submit_request: ") + nghttp3_strerror(rv), true);
      }
    }
  }

  // Packets until ngtcp2 has nothing more, the send quantum is used, or the socket is full.
  void write() {
    if (state_ != State::kOpen || !blocked_.empty()) return;
    write_again_ = false;
    std::array<nghttp3_vec, 16> vec{};
    ngtcp2_path_storage ps;
    ngtcp2_path_storage_zero(&ps);
    const std::size_t max_payload = ngtcp2_conn_get_max_tx_udp_payload_size(conn_);
    const std::size_t quantum = ngtcp2_conn_get_send_quantum(conn_) / max_payload;
    const std::size_t max_packets = std::max<std::size_t>(1, quantum);
    tx_.resize(std::max(tx_.size(), max_payload));
    const std::uint64_t ts = now_ns();
    std::size_t packets = 0;
    while (packets < max_packets) {
      std::int64_t stream_id = -1;
      int fin = 0;
      nghttp3_ssize count = 0;
      if (http_ != nullptr && ngtcp2_conn_get_max_data_left(conn_) > 0) {
        count = nghttp3_conn_writev_stream(http_, &stream_id, &fin, vec.data(), vec.size());
        if (count < 0) {
          set_http_error(static_cast<int>(count));
          return fail("nghttp3_conn_writev_stream: " +
                          std::string(nghttp3_strerror(static_cast<int>(count))),
                      true);
        }
      }
      ngtcp2_ssize accepted = -1;
      const std::uint32_t flags =
          NGTCP2_WRITE_STREAM_FLAG_MORE | (fin != 0 ? NGTCP2_WRITE_STREAM_FLAG_FIN : 0);
      ngtcp2_pkt_info pi{};
      const ngtcp2_ssize n = ngtcp2_conn_writev_stream(
          conn_, &ps.path, &pi, tx_.data(), max_payload, &accepted, flags, stream_id,
          reinterpret_cast<const ngtcp2_vec*>(vec.data()), static_cast<std::size_t>(count), ts);
      if (n == NGTCP2_ERR_STREAM_DATA_BLOCKED) {  // the server's credit for this stream is used up
        nghttp3_conn_block_stream(http_, stream_id);
        continue;
      }
      if (n == NGTCP2_ERR_STREAM_SHUT_WR) {  // the server asked us to stop sending on it
        nghttp3_conn_shutdown_stream_write(http_, stream_id);
        continue;
      }
      if (n < 0 && n != NGTCP2_ERR_WRITE_MORE) {
        ngtcp2_connection_close_error_set_transport_error_liberr(&last_error_, static_cast<int>(n),
                                                                 nullptr, 0);
        return fail(
            std::string("ngtcp2_conn_writev_stream: ") + ngtcp2_strerror(static_cast<int>(n)),
            true);
      }
      if (accepted >= 0) {
        const int rv =
            nghttp3_conn_add_write_offset(http_, stream_id, static_cast<std::size_t>(accepted));
        if (rv != 0) {
          set_http_error(rv);
          return fail(std::string("nghttp3_conn_add_write_offset: ") + nghttp3_strerror(rv), true);
        }
      }
      if (n == NGTCP2_ERR_WRITE_MORE) continue;  // the packet has room for another stream
      if (n == 0) break;  // nothing to send, or congestion / pacing limited until the expiry
      if (!send_packet(tx_.data(), static_cast<std::size_t>(n))) break;
      ++packets;
    }
    ngtcp2_conn_update_pkt_tx_time(conn_, ts);
    write_again_ = state_ == State::kOpen && blocked_.empty() && packets == max_packets;
  }

  // Sends one packet; one the socket will not take yet waits for POLLOUT.
  bool send_packet(const std::uint8_t* data, std::size_t size) {
    for (;;) {
      if (::send(fd_, data, size, 0) >= 0) return true;
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        blocked_.assign(data, data + size);
      } else {
        fail_socket(errno);
      }
      return false;
    }
  }

  bool send_blocked() {
    const std::vector<std::uint8_t> packet = std::move(blocked_);
    blocked_.clear();
    return packet.empty() || send_packet(packet.data(), packet.size());
  }

  void on_read_error(int rv) {
    if (rv == NGTCP2_ERR_DRAINING || rv == NGTCP2_ERR_DROP_CONN) {
      return fail("the server closed the connection", false);
    }
    if (last_error_.error_code == 0) {
      if (rv == NGTCP2_ERR_CRYPTO) {
        const std::uint8_t alert = ngtcp2_conn_get_tls_alert(conn_);
        ngtcp2_connection_close_error_set_transport_error_tls_alert(&last_error_, alert, nullptr,
                                                                    0);
      } else {
        ngtcp2_connection_close_error_set_transport_error_liberr(&last_error_, rv, nullptr, 0);
      }
    }
    fail(std::string("ngtcp2_conn_read_pkt: ") + ngtcp2_strerror(rv), true);
  }

  void set_http_error(int liberr) {
    const std::uint64_t code = nghttp3_err_infer_quic_app_error_code(liberr);
    ngtcp2_connection_close_error_set_application_error(&last_error_, code, nullptr, 0);
  }

  void fail_socket(int err) {
    fail(err == ECONNREFUSED ? "connection refused (is the server up?)"
                             : std::string("socket: ") + std::strerror(err),
         false);
  }

  // Ends the connection as failed: one error, whatever was in flight is not counted.
  void fail(const std::string& why, bool send_close_packet) {
    if (state_ != State::kOpen) return;
    note(why);
    if (send_close_packet) send_close();
    state_ = State::kFailed;
    ++totals_.errors;
  }

  void send_close() {
    if (conn_ == nullptr || ngtcp2_conn_is_in_closing_period(conn_) ||
        ngtcp2_conn_is_in_draining_period(conn_)) {
      return;
    }
    std::array<std::uint8_t, NGTCP2_MAX_UDP_PAYLOAD_SIZE> packet{};
    ngtcp2_path_storage ps;
    ngtcp2_path_storage_zero(&ps);
    ngtcp2_pkt_info pi{};
    const ngtcp2_ssize n = ngtcp2_conn_write_connection_close(
        conn_, &ps.path, &pi, packet.data(), packet.size(), &last_error_, now_ns());
    if (n > 0) (void)::send(fd_, packet.data(), static_cast<std::size_t>(n), 0);
  }

  const Options& options_;
  gnutls_certificate_credentials_t credentials_;
  Totals& totals_;
  std::string authority_;

  int fd_ = -1;
  sockaddr_storage local_{};
  socklen_t local_len_ = sizeof(sockaddr_storage);
  sockaddr_storage remote_{};
  socklen_t remote_len_ = 0;

  ngtcp2_crypto_conn_ref conn_ref_{};
  gnutls_session_t tls_ = nullptr;
  ngtcp2_conn* conn_ = nullptr;
  nghttp3_conn* http_ = nullptr;
  ngtcp2_connection_close_error last_error_{};

  std::unordered_map<std::int64_t, Request> requests_;  // in flight, by stream
  long long issued_ = 0;  // requests submitted on this connection
  std::vector<std::uint8_t> tx_;
  std::vector<std::uint8_t> blocked_;  // a packet the socket would not take yet
  bool write_again_ = false;
  bool handshake_done_ = false;
  bool goaway_ = false;
  State state_ = State::kOpen;
};

// One worker thread: its connections and one ppoll loop over their sockets until the deadline.
Totals run_worker(const Options& options, const addrinfo& server, int count,
                  std::uint64_t deadline) {
  Totals totals;
  gnutls_certificate_credentials_t credentials = nullptr;
  if (const int rv = gnutls_certificate_allocate_credentials(&credentials); rv != 0) {
    note(std::string("gnutls_certificate_allocate_credentials: ") + gnutls_strerror(rv));
    totals.errors = static_cast<std::uint64_t>(count);
    return totals;
  }
  RecvSlots slots;
  std::vector<std::unique_ptr<Connection>> connections;
  for (int i = 0; i < count; ++i) {
    connections.push_back(std::make_unique<Connection>(options, server, credentials, totals));
    connections.back()->start();
  }
  std::vector<pollfd> fds;
  std::vector<Connection*> polled;
  for (std::uint64_t now = now_ns(); now < deadline; now = now_ns()) {
    fds.clear();
    polled.clear();
    std::uint64_t next = deadline;
    for (auto& c : connections) {
      c->tick(now);
      if (!c->open()) continue;
      next = std::min(next, c->wakeup());
      fds.push_back(
          pollfd{c->fd(), static_cast<short>(POLLIN | (c->wants_writable() ? POLLOUT : 0)), 0});
      polled.push_back(c.get());
    }
    if (fds.empty()) break;  // every connection failed
    now = now_ns();
    const std::uint64_t wait = next > now ? next - now : 0;
    const timespec timeout{static_cast<time_t>(wait / NGTCP2_SECONDS),
                           static_cast<long>(wait % NGTCP2_SECONDS)};
    if (::ppoll(fds.data(), fds.size(), &timeout, nullptr) < 0 && errno != EINTR) {
      note(std::string("ppoll: ") + std::strerror(errno));
      break;
    }
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if ((fds[i].revents & (POLLIN | POLLERR)) != 0) polled[i]->on_readable(slots);
      if ((fds[i].revents & POLLOUT) != 0) polled[i]->on_writable();
    }
  }
  for (auto& c : connections) c->close_at_end();
  connections.clear();  // before the credentials their TLS sessions use
  gnutls_certificate_free_credentials(credentials);
  return totals;
}

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(
      stderr,
      "bench_h3_load: %s\nusage: bench_h3_load --host H --port N --path /x --connections C "
      "--streams S --seconds T [--threads K] [--check-bytes N] [--requests-per-connection R]\n",
      why.c_str());
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  auto number = [](std::string_view name, const char* text, double min) {
    char* end = nullptr;
    const double v = std::strtod(text, &end);
    if (end == text || *end != '\0' || v < min) usage("bad " + std::string(name));
    return v;
  };
  const std::set<std::string_view> known{"--host",    "--port",    "--path",    "--connections",
                                         "--streams", "--seconds", "--threads", "--check-bytes",
                                         "--requests-per-connection"};
  for (int i = 1; i < argc; i += 2) {
    const std::string_view arg = argv[i];
    if (!known.contains(arg)) usage("unknown option " + std::string(arg));
    if (i + 1 >= argc) usage("no value for " + std::string(arg));
    const char* v = argv[i + 1];
    if (arg == "--host") o.host = v;
    if (arg == "--path") o.path = v;
    if (arg == "--port") o.port = std::to_string(static_cast<int>(number(arg, v, 1)));
    if (arg == "--connections") o.connections = static_cast<int>(number(arg, v, 1));
    if (arg == "--streams") o.streams = static_cast<int>(number(arg, v, 1));
    if (arg == "--seconds") o.seconds = number(arg, v, 0.001);
    if (arg == "--threads") o.threads = static_cast<int>(number(arg, v, 1));
    if (arg == "--check-bytes") o.check_bytes = static_cast<long long>(number(arg, v, 0));
    if (arg == "--requests-per-connection")
      o.requests_per_connection = static_cast<long long>(number(arg, v, 0));
  }
  if (o.port.empty()) usage("--port is required");
  if (o.path.empty() || o.path[0] != '/') usage("--path must start with /");
  if (o.threads == 0)
    o.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  o.threads = std::min(o.threads, o.connections);
  return o;
}

void print(const Options& o, const Totals& t) {
  std::printf(
      "h3_load requests=%llu seconds=%g rps=%.1f gbps=%.3f errors=%llu connections_ok=%llu\n",
      static_cast<unsigned long long>(t.requests), o.seconds,
      static_cast<double>(t.requests) / o.seconds,
      static_cast<double>(t.body_bytes) * 8 / o.seconds / 1e9,
      static_cast<unsigned long long>(t.errors), static_cast<unsigned long long>(t.connections_ok));
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse(argc, argv);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* server = nullptr;
  if (const int rv = ::getaddrinfo(options.host.c_str(), options.port.c_str(), &hints, &server);
      rv != 0) {
    note("cannot resolve " + options.host + ": " + gai_strerror(rv));
    print(options, Totals{.errors = static_cast<std::uint64_t>(options.connections)});
    return 1;
  }

  // The window starts before the handshakes: connection setup is part of the load.
  const auto deadline = now_ns() + static_cast<std::uint64_t>(options.seconds * 1e9);
  std::vector<Totals> totals(static_cast<std::size_t>(options.threads));
  std::vector<std::thread> threads;
  for (int i = 0; i < options.threads; ++i) {
    // Dealt as evenly as they go: the first workers take the remainder.
    const int share =
        options.connections / options.threads + (i < options.connections % options.threads);
    threads.emplace_back([&, i, share] {
      totals[static_cast<std::size_t>(i)] = run_worker(options, *server, share, deadline);
    });
  }
  for (auto& t : threads) t.join();
  ::freeaddrinfo(server);

  Totals sum;
  for (const Totals& t : totals) {
    sum.requests += t.requests;
    sum.body_bytes += t.body_bytes;
    sum.errors += t.errors;
    sum.connections_ok += t.connections_ok;
  }
  print(options, sum);
  return sum.requests > 0 ? 0 : 1;
}
