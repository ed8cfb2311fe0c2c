#include "http/tls/tls_context.h"

#include <openssl/ssl.h>

namespace mirror::http {

namespace ssl = boost::asio::ssl;

namespace {

// ALPN: the first protocol of ours that the client offers ("h2" before
// "http/1.1"); none in common is no ALPN at all (HTTP/1.1).
int select_protocol(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                    unsigned int inlen, void* arg) {
  const bool offer_h2 = arg != nullptr;
  for (std::string_view wanted : {std::string_view("h2"), std::string_view("http/1.1")}) {
    if (wanted == "h2" && !offer_h2) continue;
    for (unsigned int i = 0; i < inlen;) {
      const unsigned int len = in[i];
      if (i + 1 + len > inlen) break;
      if (std::string_view(reinterpret_cast<const char*>(in + i + 1), len) == wanted) {
        *out = in + i + 1;
        *outlen = static_cast<unsigned char>(len);
        return SSL_TLSEXT_ERR_OK;
      }
      i += 1 + len;
    }
  }
  return SSL_TLSEXT_ERR_NOACK;
}

}  // namespace

core::Result<std::shared_ptr<TlsContext>> TlsContext::load(std::string cert_file, std::string key_file,
                                                           bool offer_h2) {
  std::shared_ptr<TlsContext> tls(new TlsContext(std::move(cert_file), std::move(key_file), offer_h2));
  if (auto st = tls->reload(); !st) return st.error();
  return tls;
}

core::Result<std::shared_ptr<ssl::context>> TlsContext::make() const {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  boost::system::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                       ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use,
                   ec);
  if (!ec) ctx->use_certificate_chain_file(cert_file_, ec);
  if (!ec) ctx->use_private_key_file(key_file_, ssl::context::pem, ec);
  if (ec) {
    return core::Error(core::ErrorCode::kInvalidInput,
                       "cannot load the TLS certificate " + cert_file_ + " and key " + key_file_ + ": " + ec.message());
  }
  SSL_CTX* native = ctx->native_handle();
  if (SSL_CTX_check_private_key(native) != 1) {
    return core::Error(core::ErrorCode::kInvalidInput, "the TLS key " + key_file_ + " does not match " + cert_file_);
  }
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_SERVER);
  // The callback argument only says whether h2 is offered.
  SSL_CTX_set_alpn_select_cb(native, &select_protocol, offer_h2_ ? native : nullptr);
  return ctx;
}

std::shared_ptr<ssl::context> TlsContext::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

core::Status TlsContext::reload() {
  auto ctx = make();
  if (!ctx) return ctx.error();
  std::lock_guard lock(mutex_);
  current_ = std::move(*ctx);
  return core::Ok{};
}

}  // namespace mirror::http
