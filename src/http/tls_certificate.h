// The server's TLS identity. When no certificate is configured Mirror makes a
// self-signed P-256 one for localhost / 127.0.0.1 / ::1 in its data directory at
// first start and reuses it afterwards, so that a browser pinned to its SPKI
// hash (--ignore-certificate-errors-spki-list) keeps trusting it.
#pragma once

#include "core/errors.h"

#include <string>

namespace mirror::http {

struct TlsIdentity {
  std::string cert_file;
  std::string key_file;
  bool generated = false;    // made (or reused) by Mirror rather than configured
  std::string spki_sha256;   // base64 SHA-256 of the SubjectPublicKeyInfo (DER)
};

// Uses `cert_file`/`key_file` when both are set (they must exist and parse);
// otherwise ensures `<data_dir>/tls/self-signed.{crt,key}` exist and are valid.
core::Result<TlsIdentity> ensure_tls_identity(const std::string& cert_file,
                                              const std::string& key_file,
                                              const std::string& data_dir);

// base64(SHA-256(DER SubjectPublicKeyInfo)) of the certificate in a PEM file.
core::Result<std::string> spki_sha256_of(const std::string& cert_file);

}  // namespace mirror::http
