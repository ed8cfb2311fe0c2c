// The TLS side of QUIC: GnuTLS certificate credentials made from the same
// certificate and key files as HTTPS on TCP (ngtcp2's crypto back end in
// Debian 12 is GnuTLS), and one server session per connection offering ALPN
// "h3" only, TLS 1.3 only. reload() reads the files again (SIGHUP): new
// connections get the new certificate, open ones keep theirs.
//
// Threads: current() and reload() from any thread, serialised inside; a
// session belongs to its connection's thread.
#pragma once

#include "core/errors.h"

#include <memory>
#include <mutex>
#include <string>

struct gnutls_certificate_credentials_st;
struct gnutls_session_int;
struct ngtcp2_crypto_conn_ref;

namespace mirror::http {

// One loaded certificate; connections keep theirs alive while they run.
class QuicCredentials {
 public:
  explicit QuicCredentials(gnutls_certificate_credentials_st* native) : native_(native) {}
  ~QuicCredentials();
  QuicCredentials(const QuicCredentials&) = delete;
  QuicCredentials& operator=(const QuicCredentials&) = delete;
  gnutls_certificate_credentials_st* native() const { return native_; }

 private:
  gnutls_certificate_credentials_st* native_;
};

class QuicTlsContext {
 public:
  static core::Result<std::shared_ptr<QuicTlsContext>> load(std::string cert_file,
                                                            std::string key_file);

  std::shared_ptr<const QuicCredentials> current() const;
  core::Status reload();

 private:
  QuicTlsContext(std::string cert_file, std::string key_file)
      : cert_file_(std::move(cert_file)), key_file_(std::move(key_file)) {}

  std::string cert_file_;
  std::string key_file_;
  mutable std::mutex mutex_;
  std::shared_ptr<const QuicCredentials> current_;
};

// A GnuTLS server session for one QUIC connection, wired to ngtcp2 through
// `ref` (which must outlive the session).
class QuicTlsSession {
 public:
  QuicTlsSession() = default;
  ~QuicTlsSession();
  QuicTlsSession(const QuicTlsSession&) = delete;
  QuicTlsSession& operator=(const QuicTlsSession&) = delete;

  core::Status init(std::shared_ptr<const QuicCredentials> credentials,
                    ngtcp2_crypto_conn_ref* ref);
  gnutls_session_int* native() const { return session_; }

 private:
  std::shared_ptr<const QuicCredentials> credentials_;
  gnutls_session_int* session_ = nullptr;
};

}  // namespace mirror::http
