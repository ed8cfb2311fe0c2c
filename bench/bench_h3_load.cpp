// HTTP/3 load generator: C QUIC connections (ngtcp2 0.12 + nghttp3 0.8 client
// API, GnuTLS), each keeping S GETs of one path in flight for T seconds and
// issuing a new request as soon as one completes. Prints exactly one line:
//   h3_load requests=R seconds=T rps=X gbps=Y errors=E connections_ok=N
// requests: 200 responses completed within T; gbps: their body bits per second
// / 1e9; errors: other statuses, reset or truncated responses, responses whose
// size differs from --check-bytes, failed connections (one each);
// connections_ok: connections that completed the handshake and were still up
// at the end. Exits 1 when no request completed (e.g. the server is down).
// Threads: the connections are dealt over K workers; a connection, its UDP
// socket and its ngtcp2/nghttp3 state belong to one worker's ppoll loop, and
// main sums the workers' counters after joining them. The server certificate
// is not verified: Mirror's test certificate is self-signed.
// Usage: bench_h3_load --host H --port N --path /x --connections C --streams S
//        --seconds T [--threads K] [--check-bytes N] [--save FILE]
// (--save writes the first 200 body to FILE, to compare with curl's.)
#include <arpa/inet.h>
#include <gnutls/crypto.h>
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
#include <string>
#include <string_view>
#include <thread>
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
  std::string save;
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
// What one receive slot holds; announced to the server so it never sends more.
constexpr std::size_t kRecvSlot = 4096;
constexpr std::size_t kRecvBatch = 32;

// TLS 1.3 only (QUIC needs it), the AEADs QUIC defines, common groups.
constexpr const char* kPriority =
    "%DISABLE_TLS13_COMPAT_MODE:NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:+AES-256-"
    "GCM:"
    "+CHACHA20-POLY1305:+AES-128-CCM:-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1";

std::uint64_t now_ns() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

void random_bytes(std::uint8_t* data, std::size_t size) {
  gnutls_rnd(GNUTLS_RND_RANDOM, data, size);
}

// Diagnostics go to stderr, but only the first few: a dead server would
// otherwise print one line per connection.
void note(const std::string& what) {
  static std::atomic<int> printed{0};
  if (printed.fetch_add(1) < 5) std::fprintf(stderr, "bench_h3_load: %s\n", what.c_str());
}

nghttp3_nv make_nv(std::string_view name, std::string_view value) {
  return nghttp3_nv{reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(),
                    value.size(), NGHTTP3_NV_FLAG_NONE};
}

struct Request {
  int status = 0;
  std::uint64_t body = 0;
  bool ended = false;    // the response's last byte arrived
  bool capture = false;  // keep the body for --save
};

// Receive slots for recvmmsg, one set per worker.
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

// One QUIC connection and its HTTP/3 session; owned and driven by one worker.
class Connection {
 public:
  Connection(const Options& options, const addrinfo& server,
             gnutls_certificate_credentials_t credentials, Totals& totals, bool save)
      : options_(options), credentials_(credentials), totals_(totals), save_(save) {
    std::memcpy(&remote_, server.ai_addr, server.ai_addrlen);
    remote_len_ = server.ai_addrlen;
    const bool v6 = options_.host.find(':') != std::string::npos;
    authority_ = (v6 ? "[" + options_.host + "]" : options_.host) + ":" + options_.port;
    conn_ref_.get_conn = [](ngtcp2_crypto_conn_ref* ref) {
      return static_cast<Connection*>(ref->user_data)->conn_;
    };
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
    // A connected socket: the kernel filters other senders, and a closed port
    // comes back as ECONNREFUSED instead of a silent handshake timeout.
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&remote_), remote_len_) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&local_), &local_len_) != 0) {
      fail_socket(errno);
      return;
    }
    ngtcp2_cid scid{};
    ngtcp2_cid dcid{};
    scid.datalen = 17;
    dcid.datalen = 18;
    random_bytes(scid.data, scid.datalen);
    random_bytes(dcid.data, dcid.datalen);

    ngtcp2_settings settings;
    ngtcp2_settings_default(&settings);
    settings.initial_ts = now_ns();
    settings.max_window = kMaxData;
    settings.max_stream_window = kMaxStreamData;
    settings.handshake_timeout = 5 * NGTCP2_SECONDS;

    ngtcp2_transport_params params;
    ngtcp2_transport_params_default(&params);
    params.initial_max_stream_data_bidi_local = kMaxStreamData;  // our requests' responses
    params.initial_max_stream_data_bidi_remote = kMaxStreamData;
    params.initial_max_stream_data_uni = kMaxStreamData;  // the server's control and QPACK streams
    params.initial_max_data = kMaxData;
    params.initial_max_streams_bidi = 0;  // the server opens none
    params.initial_max_streams_uni = 3;
    params.max_idle_timeout = 30 * NGTCP2_SECONDS;
    params.max_udp_payload_size = kRecvSlot;
    params.active_connection_id_limit = 7;

    ngtcp2_callbacks cb{};
    cb.client_initial = ngtcp2_crypto_client_initial_cb;
    cb.recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb;
    cb.encrypt = ngtcp2_crypto_encrypt_cb;
    cb.decrypt = ngtcp2_crypto_decrypt_cb;
    cb.hp_mask = ngtcp2_crypto_hp_mask_cb;
    cb.recv_retry = ngtcp2_crypto_recv_retry_cb;
    cb.update_key = ngtcp2_crypto_update_key_cb;
    cb.delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
    cb.delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
    cb.get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
    cb.version_negotiation = ngtcp2_crypto_version_negotiation_cb;
    cb.rand = [](std::uint8_t* dest, std::size_t len, const ngtcp2_rand_ctx*) {
      random_bytes(dest, len);
    };
    cb.get_new_connection_id = [](ngtcp2_conn*, ngtcp2_cid* cid, std::uint8_t* token,
                                  std::size_t len, void*) {
      random_bytes(cid->data, len);
      cid->datalen = len;
      random_bytes(token, NGTCP2_STATELESS_RESET_TOKENLEN);
      return 0;
    };
    cb.handshake_completed = [](ngtcp2_conn*, void* user) {
      of(user).handshake_done_ = true;
      return 0;
    };
    cb.recv_rx_key = [](ngtcp2_conn*, ngtcp2_crypto_level level, void* user) {
      if (level != NGTCP2_CRYPTO_LEVEL_APPLICATION) return 0;
      return of(user).setup_http() ? 0 : NGTCP2_ERR_CALLBACK_FAILURE;
    };
    cb.recv_stream_data = &Connection::on_recv_stream_data;
    cb.acked_stream_data_offset = [](ngtcp2_conn*, std::int64_t id, std::uint64_t,
                                     std::uint64_t len, void* user, void*) {
      auto& self = of(user);
      if (self.http_ == nullptr) return 0;
      return nghttp3_conn_add_ack_offset(self.http_, id, len) == 0 ? 0
                                                                   : NGTCP2_ERR_CALLBACK_FAILURE;
    };
    cb.stream_close = &Connection::on_stream_close;
    cb.stream_reset = [](ngtcp2_conn*, std::int64_t id, std::uint64_t, std::uint64_t, void* user,
                         void*) {
      auto& self = of(user);
      if (self.http_ == nullptr) return 0;
      return nghttp3_conn_shutdown_stream_read(self.http_, id) == 0 ? 0
                                                                    : NGTCP2_ERR_CALLBACK_FAILURE;
    };
    cb.stream_stop_sending = [](ngtcp2_conn*, std::int64_t id, std::uint64_t, void* user, void*) {
      auto& self = of(user);
      if (self.http_ == nullptr) return 0;
      return nghttp3_conn_shutdown_stream_read(self.http_, id) == 0 ? 0
                                                                    : NGTCP2_ERR_CALLBACK_FAILURE;
    };
    cb.extend_max_stream_data = [](ngtcp2_conn*, std::int64_t id, std::uint64_t, void* user,
                                   void*) {
      auto& self = of(user);
      if (self.http_ == nullptr) return 0;
      return nghttp3_conn_unblock_stream(self.http_, id) == 0 ? 0 : NGTCP2_ERR_CALLBACK_FAILURE;
    };

    const ngtcp2_path path = this->path();
    if (const int rv = ngtcp2_conn_client_new(&conn_, &dcid, &scid, &path, NGTCP2_PROTO_VER_V1, &cb,
                                              &settings, &params, nullptr, this);
        rv != 0) {
      conn_ = nullptr;
      fail(std::string("ngtcp2_conn_client_new: ") + ngtcp2_strerror(rv), false);
      return;
    }
    if (!setup_tls()) return;
    ngtcp2_conn_set_tls_native_handle(conn_, tls_);
    write();  // the first Initial
  }

  bool open() const { return state_ == State::kOpen; }
  int fd() const { return fd_; }
  bool wants_writable() const { return !blocked_.empty(); }

  // When the worker should call tick() next, in steady_ns().
  std::uint64_t wakeup() const { return write_again_ ? 0 : ngtcp2_conn_get_expiry(conn_); }

  void tick(std::uint64_t now) {
    if (state_ != State::kOpen) return;
    if (ngtcp2_conn_get_expiry(conn_) <= now) {
      if (const int rv = ngtcp2_conn_handle_expiry(conn_, now); rv != 0) {
        const bool silent = rv == NGTCP2_ERR_IDLE_CLOSE || rv == NGTCP2_ERR_HANDSHAKE_TIMEOUT;
        if (!silent)
          ngtcp2_connection_close_error_set_transport_error_liberr(&last_error_, rv, nullptr, 0);
        fail(std::string("connection timed out: ") + ngtcp2_strerror(rv), !silent);
        return;
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
        fail_socket(errno);
        return;
      }
      const std::uint64_t ts = now_ns();
      for (int i = 0; i < n && state_ == State::kOpen; ++i) {
        if ((slots.msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0)
          continue;  // larger than we announced
        ngtcp2_pkt_info pi{};
        const auto* data = static_cast<const std::uint8_t*>(slots.iov[i].iov_base);
        const int rv = ngtcp2_conn_read_pkt(conn_, &path, &pi, data, slots.msgs[i].msg_len, ts);
        if (rv != 0) on_read_error(rv);
      }
      if (static_cast<std::size_t>(n) < kRecvBatch) break;
    }
    issue_requests();
    write();
  }

  void on_writable() {
    if (state_ == State::kOpen && (blocked_.empty() || send_blocked())) write();
  }

  // The measurement is over: close politely and count a connection that lasted.
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

  ngtcp2_path path() {
    return ngtcp2_path{{reinterpret_cast<sockaddr*>(&local_), local_len_},
                       {reinterpret_cast<sockaddr*>(&remote_), remote_len_},
                       nullptr};
  }

  bool setup_tls() {
    auto failed = [this](const char* what, int rv) {
      fail(std::string(what) + ": " + gnutls_strerror(rv), false);
      return false;
    };
    if (const int rv = gnutls_init(&tls_, GNUTLS_CLIENT | GNUTLS_NO_END_OF_EARLY_DATA); rv != 0) {
      tls_ = nullptr;
      return failed("gnutls_init", rv);
    }
    if (const int rv = gnutls_priority_set_direct(tls_, kPriority, nullptr); rv != 0) {
      return failed("gnutls_priority_set_direct", rv);
    }
    if (ngtcp2_crypto_gnutls_configure_client_session(tls_) != 0) {
      return failed("ngtcp2_crypto_gnutls_configure_client_session", GNUTLS_E_INTERNAL_ERROR);
    }
    gnutls_session_set_ptr(tls_, &conn_ref_);
    // No gnutls_session_set_verify_cert: the self-signed certificate is accepted.
    if (const int rv = gnutls_credentials_set(tls_, GNUTLS_CRD_CERTIFICATE, credentials_);
        rv != 0) {
      return failed("gnutls_credentials_set", rv);
    }
    static constexpr std::string_view kH3 = "h3";
    gnutls_datum_t alpn{reinterpret_cast<unsigned char*>(const_cast<char*>(kH3.data())),
                        static_cast<unsigned int>(kH3.size())};
    gnutls_alpn_set_protocols(tls_, &alpn, 1, GNUTLS_ALPN_MANDATORY);
    // An address is not a valid SNI name; the server has one certificate anyway.
    std::array<unsigned char, sizeof(in6_addr)> scratch{};
    const bool numeric = inet_pton(AF_INET, options_.host.c_str(), scratch.data()) == 1 ||
                         inet_pton(AF_INET6, options_.host.c_str(), scratch.data()) == 1;
    const std::string sni = numeric ? "localhost" : options_.host;
    gnutls_server_name_set(tls_, GNUTLS_NAME_DNS, sni.data(), sni.size());
    return true;
  }

  // Called when the 1-RTT keys arrive: the server's settings are known by then.
  bool setup_http() {
    if (http_ != nullptr) return true;
    if (ngtcp2_conn_get_max_local_streams_uni(conn_) < 3) return false;
    nghttp3_callbacks cb{};
    // acked_stream_data stays null: GETs send no body, so nothing waits for acknowledgement.
    cb.stream_close = [](nghttp3_conn*, std::int64_t id, std::uint64_t, void* user, void*) {
      of(user).finish_request(id);
      return 0;
    };
    cb.recv_data = [](nghttp3_conn*, std::int64_t id, const std::uint8_t* data, std::size_t len,
                      void* user, void* stream_user) {
      auto& self = of(user);
      if (auto* req = static_cast<Request*>(stream_user)) {
        req->body += len;
        if (req->capture) self.captured_.append(reinterpret_cast<const char*>(data), len);
      }
      self.consumed(id, len);
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
      return ngtcp2_conn_shutdown_stream_read(of(user).conn_, id, code) == 0
                 ? 0
                 : NGHTTP3_ERR_CALLBACK_FAILURE;
    };
    cb.reset_stream = [](nghttp3_conn*, std::int64_t id, std::uint64_t code, void* user, void*) {
      return ngtcp2_conn_shutdown_stream_write(of(user).conn_, id, code) == 0
                 ? 0
                 : NGHTTP3_ERR_CALLBACK_FAILURE;
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

  // Body bytes the application has taken: the server may send as many more.
  void consumed(std::int64_t id, std::size_t len) {
    ngtcp2_conn_extend_max_stream_offset(conn_, id, len);
    ngtcp2_conn_extend_max_offset(conn_, len);
  }

  static int on_recv_stream_data(ngtcp2_conn* conn, std::uint32_t flags, std::int64_t id,
                                 std::uint64_t, const std::uint8_t* data, std::size_t len,
                                 void* user, void*) {
    auto& self = of(user);
    if (self.http_ == nullptr) return 0;
    const nghttp3_ssize n = nghttp3_conn_read_stream(self.http_, id, data, len,
                                                     (flags & NGTCP2_STREAM_DATA_FLAG_FIN) != 0);
    if (n < 0) {
      ngtcp2_connection_close_error_set_application_error(
          &self.last_error_, nghttp3_err_infer_quic_app_error_code(static_cast<int>(n)), nullptr,
          0);
      return NGTCP2_ERR_CALLBACK_FAILURE;
    }
    // Framing and headers; the DATA payload is extended by recv_data / deferred_consume.
    ngtcp2_conn_extend_max_stream_offset(conn, id, static_cast<std::uint64_t>(n));
    ngtcp2_conn_extend_max_offset(conn, static_cast<std::uint64_t>(n));
    return 0;
  }

  static int on_stream_close(ngtcp2_conn* conn, std::uint32_t flags, std::int64_t id,
                             std::uint64_t code, void* user, void*) {
    auto& self = of(user);
    if ((flags & NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET) == 0) code = NGHTTP3_H3_NO_ERROR;
    if (self.http_ == nullptr) return 0;
    const int rv = nghttp3_conn_close_stream(self.http_, id, code);
    if (rv == NGHTTP3_ERR_STREAM_NOT_FOUND) {
      // A stream nghttp3 never saw data on: free its slot ourselves.
      if (!ngtcp2_is_bidi_stream(id)) ngtcp2_conn_extend_max_streams_uni(conn, 1);
      self.finish_request(id);
      return 0;
    }
    return rv == 0 ? 0 : NGTCP2_ERR_CALLBACK_FAILURE;
  }

  void finish_request(std::int64_t id) {
    if (!ngtcp2_is_bidi_stream(id)) {
      ngtcp2_conn_extend_max_streams_uni(conn_, 1);
      return;
    }
    auto it = requests_.find(id);
    if (it == requests_.end()) return;
    const Request& req = it->second;
    const bool size_ok =
        options_.check_bytes < 0 || req.body == static_cast<std::uint64_t>(options_.check_bytes);
    if (req.ended && req.status == 200 && size_ok) {
      ++totals_.requests;
      totals_.body_bytes += req.body;
      if (req.capture) save_body();
    } else {
      ++totals_.errors;
      if (req.ended && req.status == 200) {
        note("body of " + std::to_string(req.body) + " bytes, expected " +
             std::to_string(options_.check_bytes));
      } else if (req.ended) {
        note("status " + std::to_string(req.status));
      } else {
        note("stream reset before the response ended");
      }
    }
    if (req.capture) {
      capturing_ = false;
      captured_.clear();
    }
    requests_.erase(it);
  }

  void save_body() {
    save_ = false;
    std::FILE* f = std::fopen(options_.save.c_str(), "wb");
    if (f == nullptr || std::fwrite(captured_.data(), 1, captured_.size(), f) != captured_.size()) {
      note("cannot write " + options_.save);
    }
    if (f != nullptr) std::fclose(f);
  }

  // Keeps S requests in flight; the server's stream credit may hold some back
  // until it grants more (MAX_STREAMS), which the next read brings.
  void issue_requests() {
    if (state_ != State::kOpen || http_ == nullptr) return;
    while (requests_.size() < static_cast<std::size_t>(options_.streams)) {
      std::int64_t id = -1;
      if (ngtcp2_conn_open_bidi_stream(conn_, &id, nullptr) != 0) return;  // STREAM_ID_BLOCKED
      Request& req = requests_[id];
      req.capture = save_ && !capturing_;
      capturing_ = capturing_ || req.capture;
      const std::array<nghttp3_nv, 5> nva{
          make_nv(":method", "GET"), make_nv(":scheme", "https"), make_nv(":authority", authority_),
          make_nv(":path", options_.path), make_nv("user-agent", "bench_h3_load")};
      if (const int rv =
              nghttp3_conn_submit_request(http_, id, nva.data(), nva.size(), nullptr, &req);
          rv != 0) {
        ngtcp2_connection_close_error_set_application_error(
            &last_error_, nghttp3_err_infer_quic_app_error_code(rv), nullptr, 0);
        fail(std::string("nghttp3_conn_submit_request: ") + nghttp3_strerror(rv), true);
        return;
      }
    }
  }

  void write() {
    if (state_ != State::kOpen) return;
    write_again_ = false;
    std::array<nghttp3_vec, 16> vec{};
    ngtcp2_path_storage ps;
    ngtcp2_path_storage_zero(&ps);
    const std::size_t max_payload = ngtcp2_conn_get_max_tx_udp_payload_size(conn_);
    const std::size_t max_packets =
        std::max<std::size_t>(1, ngtcp2_conn_get_send_quantum(conn_) / max_payload);
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
          ngtcp2_connection_close_error_set_application_error(
              &last_error_, nghttp3_err_infer_quic_app_error_code(static_cast<int>(count)), nullptr,
              0);
          fail(std::string("nghttp3_conn_writev_stream: ") +
                   nghttp3_strerror(static_cast<int>(count)),
               true);
          return;
        }
      }
      ngtcp2_ssize accepted = -1;
      std::uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE;
      if (fin != 0) flags |= NGTCP2_WRITE_STREAM_FLAG_FIN;
      ngtcp2_pkt_info pi{};
      const ngtcp2_ssize n = ngtcp2_conn_writev_stream(
          conn_, &ps.path, &pi, tx_.data(), max_payload, &accepted, flags, stream_id,
          reinterpret_cast<const ngtcp2_vec*>(vec.data()), static_cast<std::size_t>(count), ts);
      if (n < 0) {
        if (n ==
            NGTCP2_ERR_STREAM_DATA_BLOCKED) {  // the server's credit for this stream is used up
          nghttp3_conn_block_stream(http_, stream_id);
          continue;
        }
        if (n == NGTCP2_ERR_STREAM_SHUT_WR) {  // the server stopped reading it
          nghttp3_conn_shutdown_stream_write(http_, stream_id);
          continue;
        }
        if (n == NGTCP2_ERR_WRITE_MORE) {  // the packet has room for more stream data
          if (!add_write_offset(stream_id, accepted)) return;
          continue;
        }
        ngtcp2_connection_close_error_set_transport_error_liberr(&last_error_, static_cast<int>(n),
                                                                 nullptr, 0);
        fail(std::string("ngtcp2_conn_writev_stream: ") + ngtcp2_strerror(static_cast<int>(n)),
             true);
        return;
      }
      if (accepted >= 0 && !add_write_offset(stream_id, accepted)) return;
      if (n == 0) break;  // nothing more, or congestion / pacing limited until the expiry
      if (!send_packet(tx_.data(), static_cast<std::size_t>(n))) break;
      ++packets;
    }
    ngtcp2_conn_update_pkt_tx_time(conn_, ts);
    // A full send quantum: there may be more, so the worker comes back without waiting.
    write_again_ = state_ == State::kOpen && blocked_.empty() && packets == max_packets;
  }

  bool add_write_offset(std::int64_t stream_id, ngtcp2_ssize accepted) {
    if (const int rv =
            nghttp3_conn_add_write_offset(http_, stream_id, static_cast<std::size_t>(accepted));
        rv != 0) {
      ngtcp2_connection_close_error_set_application_error(
          &last_error_, nghttp3_err_infer_quic_app_error_code(rv), nullptr, 0);
      fail(std::string("nghttp3_conn_add_write_offset: ") + nghttp3_strerror(rv), true);
      return false;
    }
    return true;
  }

  // Sends one packet; a full socket keeps it for when the socket drains.
  bool send_packet(const std::uint8_t* data, std::size_t size) {
    for (;;) {
      if (::send(fd_, data, size, 0) >= 0) return true;
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        blocked_.assign(data, data + size);
        return false;
      }
      fail_socket(errno);
      return false;
    }
  }

  bool send_blocked() {
    std::vector<std::uint8_t> packet = std::move(blocked_);
    blocked_.clear();
    return send_packet(packet.data(), packet.size());
  }

  void on_read_error(int rv) {
    switch (rv) {
      case NGTCP2_ERR_DRAINING:  // the server closed the connection
        fail("server closed the connection", false);
        return;
      case NGTCP2_ERR_DROP_CONN:
        fail("connection dropped", false);
        return;
      case NGTCP2_ERR_CRYPTO:
        if (last_error_.error_code == 0) {
          ngtcp2_connection_close_error_set_transport_error_tls_alert(
              &last_error_, ngtcp2_conn_get_tls_alert(conn_), nullptr, 0);
        }
        break;
      default:
        if (last_error_.error_code == 0) {
          ngtcp2_connection_close_error_set_transport_error_liberr(&last_error_, rv, nullptr, 0);
        }
        break;
    }
    fail(std::string("ngtcp2_conn_read_pkt: ") + ngtcp2_strerror(rv), true);
  }

  void fail_socket(int err) {
    fail(err == ECONNREFUSED ? "connection refused (is the server up?)"
                             : std::string("socket: ") + std::strerror(err),
         false);
  }

  // Ends the connection as failed, counting one error, never from inside a callback.
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
  bool save_;  // this connection captures one body for --save
  bool capturing_ = false;
  std::string captured_;
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

  std::unordered_map<std::int64_t, Request> requests_;  // nodes stay put: nghttp3 holds Request*
  std::vector<std::uint8_t> tx_;
  std::vector<std::uint8_t> blocked_;  // a packet the socket would not take yet
  bool write_again_ = false;
  bool handshake_done_ = false;
  State state_ = State::kOpen;
};

// One thread: its connections, their sockets, one ppoll loop until the deadline.
class Worker {
 public:
  Worker(const Options& options, const addrinfo& server, int connections, bool save)
      : options_(options), server_(server), count_(connections), save_(save) {}

  void run(std::uint64_t deadline) {
    gnutls_certificate_credentials_t credentials = nullptr;
    if (const int rv = gnutls_certificate_allocate_credentials(&credentials); rv != 0) {
      note(std::string("gnutls_certificate_allocate_credentials: ") + gnutls_strerror(rv));
      totals_.errors += static_cast<std::uint64_t>(count_);
      return;
    }
    std::vector<std::unique_ptr<Connection>> connections;
    for (int i = 0; i < count_; ++i) {
      connections.push_back(
          std::make_unique<Connection>(options_, server_, credentials, totals_, save_ && i == 0));
      connections.back()->start();
    }
    loop(connections, deadline);
    for (auto& c : connections) c->close_at_end();
    connections.clear();
    gnutls_certificate_free_credentials(credentials);
  }

  const Totals& totals() const { return totals_; }

 private:
  void loop(std::vector<std::unique_ptr<Connection>>& connections, std::uint64_t deadline) {
    std::vector<pollfd> fds;
    std::vector<Connection*> polled;
    for (;;) {
      std::uint64_t now = now_ns();
      if (now >= deadline) return;
      fds.clear();
      polled.clear();
      std::uint64_t next = deadline;
      for (auto& c : connections) {
        c->tick(now);
        if (!c->open()) continue;
        next = std::min(next, c->wakeup());
        const short events = static_cast<short>(POLLIN | (c->wants_writable() ? POLLOUT : 0));
        fds.push_back(pollfd{c->fd(), events, 0});
        polled.push_back(c.get());
      }
      if (fds.empty()) return;  // every connection failed
      now = now_ns();
      const std::uint64_t wait = next > now ? next - now : 0;
      const timespec timeout{static_cast<time_t>(wait / NGTCP2_SECONDS),
                             static_cast<long>(wait % NGTCP2_SECONDS)};
      if (::ppoll(fds.data(), fds.size(), &timeout, nullptr) < 0 && errno != EINTR) {
        note(std::string("ppoll: ") + std::strerror(errno));
        return;
      }
      for (std::size_t i = 0; i < fds.size(); ++i) {
        if ((fds[i].revents & (POLLIN | POLLERR)) != 0) polled[i]->on_readable(slots_);
        if ((fds[i].revents & POLLOUT) != 0) polled[i]->on_writable();
      }
    }
  }

  const Options& options_;
  const addrinfo& server_;
  int count_;
  bool save_;
  RecvSlots slots_;
  Totals totals_;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "bench_h3_load: %s\nusage: bench_h3_load --host H --port N --path /x --connections "
               "C --streams S "
               "--seconds T [--threads K] [--check-bytes N] [--save FILE]\n",
               why);
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  auto number = [](const char* name, const char* text, double min) {
    char* end = nullptr;
    const double v = std::strtod(text, &end);
    if (end == text || *end != '\0' || v < min) usage((std::string("bad ") + name).c_str());
    return v;
  };
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (i + 1 >= argc) usage(("missing value for " + std::string(arg)).c_str());
    const char* value = argv[++i];
    if (arg == "--host") {
      o.host = value;
    } else if (arg == "--port") {
      o.port = std::to_string(static_cast<int>(number("--port", value, 1)));
    } else if (arg == "--path") {
      o.path = value;
    } else if (arg == "--connections") {
      o.connections = static_cast<int>(number("--connections", value, 1));
    } else if (arg == "--streams") {
      o.streams = static_cast<int>(number("--streams", value, 1));
    } else if (arg == "--seconds") {
      o.seconds = number("--seconds", value, 0.001);
    } else if (arg == "--threads") {
      o.threads = static_cast<int>(number("--threads", value, 1));
    } else if (arg == "--check-bytes") {
      o.check_bytes = static_cast<long long>(number("--check-bytes", value, 0));
    } else if (arg == "--save") {
      o.save = value;
    } else {
      usage(("unknown option " + std::string(arg)).c_str());
    }
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
    note(std::string("cannot resolve ") + options.host + ": " + gai_strerror(rv));
    print(options, Totals{.errors = static_cast<std::uint64_t>(options.connections)});
    return 1;
  }

  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < options.threads; ++i) {
    // Connections dealt as evenly as they go: the first workers take the remainder.
    const int share =
        options.connections / options.threads + (i < options.connections % options.threads ? 1 : 0);
    workers.push_back(
        std::make_unique<Worker>(options, *server, share, i == 0 && !options.save.empty()));
  }
  const std::uint64_t deadline = now_ns() + static_cast<std::uint64_t>(options.seconds * 1e9);
  std::vector<std::thread> threads;
  for (auto& w : workers) threads.emplace_back([&w, deadline] { w->run(deadline); });
  for (auto& t : threads) t.join();
  ::freeaddrinfo(server);

  Totals total;
  for (const auto& w : workers) {
    total.requests += w->totals().requests;
    total.body_bytes += w->totals().body_bytes;
    total.errors += w->totals().errors;
    total.connections_ok += w->totals().connections_ok;
  }
  print(options, total);
  return total.requests > 0 ? 0 : 1;
}
