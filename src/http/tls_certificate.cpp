#include "http/tls_certificate.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <sys/stat.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <memory>

namespace mirror::http {
namespace {

namespace fs = std::filesystem;

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<FILE, FileCloser>;
using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using PKeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

core::Error tls_error(std::string message) {
  return core::Error(core::ErrorCode::kInvalidInput, std::move(message));
}

X509Ptr read_cert(const std::string& path) {
  File f(std::fopen(path.c_str(), "rb"));
  if (!f) return X509Ptr(nullptr, X509_free);
  return X509Ptr(PEM_read_X509(f.get(), nullptr, nullptr, nullptr), X509_free);
}

PKeyPtr read_key(const std::string& path) {
  File f(std::fopen(path.c_str(), "rb"));
  if (!f) return PKeyPtr(nullptr, EVP_PKEY_free);
  return PKeyPtr(PEM_read_PrivateKey(f.get(), nullptr, nullptr, nullptr), EVP_PKEY_free);
}

core::Result<std::string> spki_hash(X509* cert) {
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(X509_get0_pubkey(cert), &der);
  if (len <= 0) return tls_error("cannot encode the certificate's public key");
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  EVP_Digest(der, static_cast<std::size_t>(len), digest, &digest_len, EVP_sha256(), nullptr);
  OPENSSL_free(der);
  std::string b64(4 * ((digest_len + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()), digest,
                          static_cast<int>(digest_len));
  b64.resize(static_cast<std::size_t>(n));
  return b64;
}

core::Status check_pair(const std::string& cert_file, const std::string& key_file) {
  auto cert = read_cert(cert_file);
  if (!cert) return tls_error("cannot read a PEM certificate from " + cert_file);
  auto key = read_key(key_file);
  if (!key) return tls_error("cannot read a PEM private key from " + key_file);
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    return tls_error("private key " + key_file + " does not match certificate " + cert_file);
  }
  return core::Ok{};
}

core::Status generate(const std::string& cert_file, const std::string& key_file) {
  PKeyPtr key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  if (!key) return core::Error(core::ErrorCode::kInternal, "cannot generate a P-256 key");
  X509Ptr cert(X509_new(), X509_free);
  X509_set_version(cert.get(), 2);
  // A random serial: browsers reject two certificates with one issuer and serial.
  BIGNUM* bn = BN_new();
  BN_rand(bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  // Under 398 days: what browsers accept for a leaf certificate.
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 397L * 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("Mirror"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);

  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  const std::pair<int, const char*> extensions[] = {
      {NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1"},
      {NID_basic_constraints, "critical,CA:FALSE"},
      {NID_key_usage, "critical,digitalSignature"},
      {NID_ext_key_usage, "serverAuth"},
  };
  for (const auto& [nid, value] : extensions) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (ext == nullptr) return core::Error(core::ErrorCode::kInternal, "cannot build certificate");
    X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) {
    return core::Error(core::ErrorCode::kInternal, "cannot sign the certificate");
  }

  // Write to temporary names and rename, so a crash never leaves half a pair.
  const std::string key_tmp = key_file + ".tmp";
  const std::string cert_tmp = cert_file + ".tmp";
  {
    mode_t old = umask(077);  // the private key is readable by its owner only
    File kf(std::fopen(key_tmp.c_str(), "wb"));
    umask(old);
    if (!kf || PEM_write_PrivateKey(kf.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
      return core::Error(core::ErrorCode::kInternal, "cannot write " + key_tmp);
    }
    File cf(std::fopen(cert_tmp.c_str(), "wb"));
    if (!cf || PEM_write_X509(cf.get(), cert.get()) != 1) {
      return core::Error(core::ErrorCode::kInternal, "cannot write " + cert_tmp);
    }
  }
  std::error_code ec;
  fs::rename(key_tmp, key_file, ec);
  if (!ec) fs::rename(cert_tmp, cert_file, ec);
  if (ec) return core::Error(core::ErrorCode::kInternal, "cannot store certificate: " + ec.message());
  return core::Ok{};
}

bool expires_within_a_day(const std::string& cert_file) {
  auto cert = read_cert(cert_file);
  if (!cert) return true;
  std::time_t tomorrow = std::time(nullptr) + 24 * 3600;
  return X509_cmp_time(X509_get0_notAfter(cert.get()), &tomorrow) <= 0;
}

}  // namespace

core::Result<std::string> spki_sha256_of(const std::string& cert_file) {
  auto cert = read_cert(cert_file);
  if (!cert) return tls_error("cannot read a PEM certificate from " + cert_file);
  return spki_hash(cert.get());
}

core::Result<TlsIdentity> ensure_tls_identity(const std::string& cert_file,
                                              const std::string& key_file,
                                              const std::string& data_dir) {
  TlsIdentity id;
  if (!cert_file.empty() || !key_file.empty()) {
    if (cert_file.empty() || key_file.empty()) {
      return tls_error("server.tls_cert_file and server.tls_key_file must be set together");
    }
    if (auto st = check_pair(cert_file, key_file); !st) return st.error();
    id.cert_file = cert_file;
    id.key_file = key_file;
  } else {
    const fs::path dir = fs::path(data_dir) / "tls";
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
      return core::Error(core::ErrorCode::kInternal,
                         "cannot create " + dir.string() + ": " + ec.message());
    }
    id.cert_file = (dir / "self-signed.crt").string();
    id.key_file = (dir / "self-signed.key").string();
    id.generated = true;
    if (!check_pair(id.cert_file, id.key_file) || expires_within_a_day(id.cert_file)) {
      if (auto st = generate(id.cert_file, id.key_file); !st) return st.error();
    }
  }
  auto cert = read_cert(id.cert_file);
  auto hash = spki_hash(cert.get());
  if (!hash) return hash.error();
  id.spki_sha256 = std::move(*hash);
  return id;
}

}  // namespace mirror::http
