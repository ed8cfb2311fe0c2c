#include "http/h3/quic_tls.h"

#include <gnutls/gnutls.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include <string_view>

namespace mirror::http {

namespace {

constexpr std::string_view kH3 = "h3";

// TLS 1.3 only (QUIC needs it), AEADs QUIC defines, common groups.
constexpr const char* kPriority =
    "%DISABLE_TLS13_COMPAT_MODE:NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:+AES-256-"
    "GCM:"
    "+CHACHA20-POLY1305:+AES-128-CCM:-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1";

// The client must have offered h3: anything else ends the handshake.
int check_alpn(gnutls_session_t session, unsigned int, unsigned, unsigned int,
               const gnutls_datum_t*) {
  gnutls_datum_t alpn;
  if (gnutls_alpn_get_selected_protocol(session, &alpn) != 0) return -1;
  if (std::string_view(reinterpret_cast<const char*>(alpn.data), alpn.size) != kH3) return -1;
  return 0;
}

}  // namespace

QuicCredentials::~QuicCredentials() {
  gnutls_certificate_free_credentials(native_);
}

core::Result<std::shared_ptr<QuicTlsContext>> QuicTlsContext::load(std::string cert_file,
                                                                   std::string key_file) {
  std::shared_ptr<QuicTlsContext> tls(
      new QuicTlsContext(std::move(cert_file), std::move(key_file)));
  if (auto st = tls->reload(); !st) return st.error();
  return tls;
}

std::shared_ptr<const QuicCredentials> QuicTlsContext::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

core::Status QuicTlsContext::reload() {
  gnutls_certificate_credentials_t cred = nullptr;
  if (gnutls_certificate_allocate_credentials(&cred) != 0) {
    return core::Error(core::ErrorCode::kInternal, "cannot allocate TLS credentials for HTTP/3");
  }
  auto credentials = std::make_shared<const QuicCredentials>(cred);
  if (const int rv = gnutls_certificate_set_x509_key_file(cred, cert_file_.c_str(),
                                                          key_file_.c_str(), GNUTLS_X509_FMT_PEM);
      rv < 0) {
    return core::Error(core::ErrorCode::kInvalidInput, "cannot load the TLS certificate " +
                                                           cert_file_ + " and key " + key_file_ +
                                                           " for HTTP/3: " + gnutls_strerror(rv));
  }
  std::lock_guard lock(mutex_);
  current_ = std::move(credentials);
  return core::Ok{};
}

QuicTlsSession::~QuicTlsSession() {
  if (session_ != nullptr) gnutls_deinit(session_);
}

core::Status QuicTlsSession::init(std::shared_ptr<const QuicCredentials> credentials,
                                  ngtcp2_crypto_conn_ref* ref) {
  credentials_ = std::move(credentials);
  auto fail = [](std::string_view what, int rv) {
    return core::Error(core::ErrorCode::kInternal, std::string(what) + ": " + gnutls_strerror(rv));
  };
  if (const int rv = gnutls_init(&session_, GNUTLS_SERVER | GNUTLS_NO_END_OF_EARLY_DATA); rv != 0) {
    session_ = nullptr;
    return fail("gnutls_init", rv);
  }
  if (const int rv = gnutls_priority_set_direct(session_, kPriority, nullptr); rv != 0) {
    return fail("gnutls_priority_set_direct", rv);
  }
  gnutls_handshake_set_hook_function(session_, GNUTLS_HANDSHAKE_CLIENT_HELLO, GNUTLS_HOOK_POST,
                                     &check_alpn);
  if (ngtcp2_crypto_gnutls_configure_server_session(session_) != 0) {
    return core::Error(core::ErrorCode::kInternal,
                       "ngtcp2_crypto_gnutls_configure_server_session failed");
  }
  gnutls_session_set_ptr(session_, ref);
  if (const int rv =
          gnutls_credentials_set(session_, GNUTLS_CRD_CERTIFICATE, credentials_->native());
      rv != 0) {
    return fail("gnutls_credentials_set", rv);
  }
  gnutls_datum_t alpn{reinterpret_cast<unsigned char*>(const_cast<char*>(kH3.data())),
                      static_cast<unsigned int>(kH3.size())};
  gnutls_alpn_set_protocols(session_, &alpn, 1,
                            GNUTLS_ALPN_MANDATORY | GNUTLS_ALPN_SERVER_PRECEDENCE);
  return core::Ok{};
}

}  // namespace mirror::http
