#include "support/quic_probe.h"

#include "support/quic_client_callbacks.h"

#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <vector>

namespace mirror::testing {
namespace {

using Clock = std::chrono::steady_clock;

std::uint64_t now_ns() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
          .count());
}

// QPACK with the static table only: GET, https, the authority and the path.
std::string request_headers_frame(const std::string& path) {
  std::string block = {0x00, 0x00};  // required insert count 0, base 0
  block += static_cast<char>(0xc0 | 17);  // :method GET
  block += static_cast<char>(0xc0 | 23);  // :scheme https
  block += static_cast<char>(0x50);       // :authority, literal value
  block += static_cast<char>(9);
  block += "127.0.0.1";
  block += static_cast<char>(0x51);  // :path, literal value (paths under 127 bytes)
  block += static_cast<char>(path.size());
  block += path;
  std::string frame = {0x01, static_cast<char>(block.size())};
  return frame + block;
}

class Probe {
 public:
  Probe(QuicMisbehaviour how, std::uint64_t window) : how_(how), window_(window) {
    ref_.get_conn = [](ngtcp2_crypto_conn_ref* ref) { return static_cast<Probe*>(ref->user_data)->conn_; };
    ref_.user_data = this;
  }
  ~Probe() {
    if (conn_ != nullptr) ngtcp2_conn_del(conn_);
    if (tls_ != nullptr) gnutls_deinit(tls_);
    if (cred_ != nullptr) gnutls_certificate_free_credentials(cred_);
    if (fd_ >= 0) ::close(fd_);
  }

  QuicProbeResult run(int port, std::chrono::milliseconds limit, const std::string& path) {
    request_ = request_headers_frame(path);
    if (!open(port)) return result_;
    const auto deadline = Clock::now() + limit;
    bool first = true;
    while (Clock::now() < deadline && !result_.closed_by_server) {
      if (first || how_ != QuicMisbehaviour::kSilentAfterInitial) {
        if (!write()) break;
        first = false;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      const std::uint64_t expiry = ngtcp2_conn_get_expiry(conn_);
      const std::uint64_t ts = now_ns();
      const long until_expiry = expiry <= ts ? 0 : static_cast<long>((expiry - ts) / 1000000);
      const long wait_ms = std::clamp<long>(std::min<long>(until_expiry, left.count()), 0, 100);
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(wait_ms)) > 0) {
        if (how_ == QuicMisbehaviour::kSilentAfterInitial) {
          // Heard, and ignored: the server's flight is never acknowledged.
          std::array<std::uint8_t, 2048> drop{};
          while (::recv(fd_, drop.data(), drop.size(), MSG_DONTWAIT) > 0) {
          }
          continue;
        }
        if (!read()) break;
      } else if (how_ != QuicMisbehaviour::kSilentAfterInitial &&
                 ngtcp2_conn_handle_expiry(conn_, now_ns()) != 0) {
        break;
      }
    }
    return result_;
  }

 private:
  bool fail(std::string what) {
    result_.error = std::move(what);
    return false;
  }

  bool open(int port) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    remote_ = local;
    remote_.sin_port = htons(static_cast<std::uint16_t>(port));
    socklen_t len = sizeof(local);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&local), &len) != 0 ||
        ::connect(fd_, reinterpret_cast<sockaddr*>(&remote_), sizeof(remote_)) != 0) {
      return fail("cannot open a UDP socket");
    }
    local_ = local;

    if (gnutls_certificate_allocate_credentials(&cred_) != 0 ||
        gnutls_init(&tls_, GNUTLS_CLIENT | GNUTLS_NO_END_OF_EARLY_DATA) != 0 ||
        gnutls_priority_set_direct(
            tls_,
            "%DISABLE_TLS13_COMPAT_MODE:NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:"
            "+AES-256-GCM:+CHACHA20-POLY1305:-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1",
            nullptr) != 0 ||
        ngtcp2_crypto_gnutls_configure_client_session(tls_) != 0 ||
        gnutls_credentials_set(tls_, GNUTLS_CRD_CERTIFICATE, cred_) != 0) {
      return fail("cannot set up GnuTLS");
    }
    gnutls_session_set_ptr(tls_, &ref_);
    if (how_ == QuicMisbehaviour::kGarbageClientHello) {
      gnutls_handshake_set_read_function(tls_, &Probe::scramble_handshake);
    }
    gnutls_datum_t alpn{reinterpret_cast<unsigned char*>(const_cast<char*>("h3")), 2};
    gnutls_alpn_set_protocols(tls_, &alpn, 1, GNUTLS_ALPN_MANDATORY);
    gnutls_server_name_set(tls_, GNUTLS_NAME_DNS, "localhost", 9);

    ngtcp2_cid dcid{};
    ngtcp2_cid scid{};
    dcid.datalen = 18;
    scid.datalen = 17;
    quic_random_bytes(dcid.data, dcid.datalen);
    quic_random_bytes(scid.data, scid.datalen);
    ngtcp2_callbacks cb = mirror::testing::quic_client_callbacks();
    cb.handshake_completed = [](ngtcp2_conn*, void* user) {
      static_cast<Probe*>(user)->result_.handshake_completed = true;
      return 0;
    };
    cb.recv_stream_data = [](ngtcp2_conn*, std::uint32_t, std::int64_t id, std::uint64_t,
                             const std::uint8_t*, std::size_t len, void* user, void*) {
      // Never read: no credit is given back, so the window stays shut.
      auto& self = *static_cast<Probe*>(user);
      if (id == self.request_id_) self.result_.answer_bytes += len;
      return 0;
    };
    ngtcp2_settings settings;
    ngtcp2_settings_default(&settings);
    settings.initial_ts = now_ns();
    ngtcp2_transport_params params;
    ngtcp2_transport_params_default(&params);
    params.initial_max_streams_uni = 3;
    params.initial_max_stream_data_bidi_local = window_;
    params.initial_max_stream_data_uni = 64 * 1024;
    params.initial_max_data = window_ + 64 * 1024;
    params.max_idle_timeout = 30ull * NGTCP2_SECONDS;
    const ngtcp2_path path{{reinterpret_cast<sockaddr*>(&local_), sizeof(local_)},
                           {reinterpret_cast<sockaddr*>(&remote_), sizeof(remote_)},
                           nullptr};
    if (ngtcp2_conn_client_new(&conn_, &dcid, &scid, &path, NGTCP2_PROTO_VER_V1, &cb, &settings,
                               &params, nullptr, this) != 0) {
      conn_ = nullptr;
      return fail("ngtcp2_conn_client_new failed");
    }
    ngtcp2_conn_set_tls_native_handle(conn_, tls_);
    return true;
  }

  // In place of ngtcp2's own: every handshake message leaves scrambled,
  // under correct packet protection.
  static int scramble_handshake(gnutls_session_t session, gnutls_record_encryption_level_t level,
                                gnutls_handshake_description_t type, const void* data,
                                std::size_t size) {
    if (type == GNUTLS_HANDSHAKE_CHANGE_CIPHER_SPEC) return 0;
    auto* ref = static_cast<ngtcp2_crypto_conn_ref*>(gnutls_session_get_ptr(session));
    std::vector<std::uint8_t> bytes(static_cast<const std::uint8_t*>(data),
                                    static_cast<const std::uint8_t*>(data) + size);
    for (std::size_t i = 4; i < bytes.size(); ++i) bytes[i] ^= static_cast<std::uint8_t>(0x5a + i);
    return ngtcp2_conn_submit_crypto_data(
               ref->get_conn(ref),
               ngtcp2_crypto_gnutls_from_gnutls_record_encryption_level(level), bytes.data(),
               bytes.size()) == 0
               ? 0
               : -1;
  }

  // Once the handshake is done: the control stream, then the request.
  void open_streams() {
    if (opened_ || !ngtcp2_conn_get_handshake_completed(conn_)) return;
    std::int64_t control = -1;
    if (ngtcp2_conn_open_uni_stream(conn_, &control, nullptr) != 0 ||
        ngtcp2_conn_open_bidi_stream(conn_, &request_id_, nullptr) != 0) {
      return;
    }
    opened_ = true;
    pending_.push_back({control, std::string{0x00, 0x04, 0x00}, false});  // SETTINGS, empty
    pending_.push_back({request_id_, request_, true});
  }

  bool write() {
    if (how_ == QuicMisbehaviour::kStopsReading) open_streams();
    std::array<std::uint8_t, 1500> buf{};
    ngtcp2_path_storage ps;
    ngtcp2_path_storage_zero(&ps);
    for (int i = 0; i < 64; ++i) {
      std::int64_t stream = -1;
      ngtcp2_vec vec{};
      std::uint32_t flags = 0;
      if (!pending_.empty()) {
        stream = pending_.front().id;
        vec.base = reinterpret_cast<std::uint8_t*>(pending_.front().bytes.data());
        vec.len = pending_.front().bytes.size();
        if (pending_.front().fin) flags |= NGTCP2_WRITE_STREAM_FLAG_FIN;
      }
      ngtcp2_ssize written = -1;
      ngtcp2_pkt_info pi{};
      const ngtcp2_ssize n =
          ngtcp2_conn_writev_stream(conn_, &ps.path, &pi, buf.data(), buf.size(), &written, flags,
                                    stream, stream < 0 ? nullptr : &vec, stream < 0 ? 0 : 1, now_ns());
      if (n < 0) return fail(std::string("ngtcp2_conn_writev_stream: ") + ngtcp2_strerror(static_cast<int>(n)));
      if (written >= 0 && !pending_.empty()) {
        pending_.front().bytes.erase(0, static_cast<std::size_t>(written));
        if (pending_.front().bytes.empty()) pending_.erase(pending_.begin());
      }
      if (n == 0) break;
      ::send(fd_, buf.data(), static_cast<std::size_t>(n), 0);
    }
    return true;
  }

  bool read() {
    std::array<std::uint8_t, 65536> buf{};
    for (;;) {
      const auto n = ::recv(fd_, buf.data(), buf.size(), MSG_DONTWAIT);
      if (n <= 0) return true;
      const ngtcp2_path path{{reinterpret_cast<sockaddr*>(&local_), sizeof(local_)},
                             {reinterpret_cast<sockaddr*>(&remote_), sizeof(remote_)},
                             nullptr};
      ngtcp2_pkt_info pi{};
      const int rv = ngtcp2_conn_read_pkt(conn_, &path, &pi, buf.data(), static_cast<std::size_t>(n), now_ns());
      if (rv == NGTCP2_ERR_DRAINING || rv == NGTCP2_ERR_CLOSING) {
        ngtcp2_connection_close_error ccerr;
        ngtcp2_conn_get_connection_close_error(conn_, &ccerr);
        result_.closed_by_server = true;
        result_.application_close = ccerr.type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_APPLICATION;
        result_.close_code = ccerr.error_code;
        return false;
      }
      if (rv != 0) return fail(std::string("ngtcp2_conn_read_pkt: ") + ngtcp2_strerror(rv));
    }
  }

  struct Outgoing {
    std::int64_t id;
    std::string bytes;
    bool fin;
  };

  QuicMisbehaviour how_;
  std::uint64_t window_;
  int fd_ = -1;
  sockaddr_in local_{};
  sockaddr_in remote_{};
  gnutls_certificate_credentials_t cred_ = nullptr;
  gnutls_session_t tls_ = nullptr;
  ngtcp2_crypto_conn_ref ref_{};
  ngtcp2_conn* conn_ = nullptr;
  std::string request_;
  std::int64_t request_id_ = -1;
  bool opened_ = false;
  std::vector<Outgoing> pending_;
  QuicProbeResult result_;
};

}  // namespace

QuicProbeResult run_quic_probe(int port, QuicMisbehaviour how, std::chrono::milliseconds limit,
                               const std::string& path, std::uint64_t window) {
  Probe probe(how, window);
  return probe.run(port, limit, path);
}

}  // namespace mirror::testing
