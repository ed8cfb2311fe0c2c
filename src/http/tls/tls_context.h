// The server side of TLS for TCP transports: an OpenSSL context made from the
// certificate and key files, TLS 1.2 and up, ALPN choosing "h2" before
// "http/1.1". reload() reads the files again (SIGHUP): new connections get
// the new certificate, open ones keep theirs.
//
// Threads: current() from any thread (accepting threads); reload() from any
// thread, serialised inside.
#pragma once

#include "core/errors.h"

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace mirror::http {

class TlsContext {
 public:
  // Fails when the files cannot be read or do not match.
  static core::Result<std::shared_ptr<TlsContext>> load(std::string cert_file, std::string key_file,
                                                        bool offer_h2 = true);

  std::shared_ptr<boost::asio::ssl::context> current() const;
  core::Status reload();

  const std::string& cert_file() const { return cert_file_; }

 private:
  TlsContext(std::string cert_file, std::string key_file, bool offer_h2)
      : cert_file_(std::move(cert_file)), key_file_(std::move(key_file)), offer_h2_(offer_h2) {}
  core::Result<std::shared_ptr<boost::asio::ssl::context>> make() const;

  std::string cert_file_;
  std::string key_file_;
  bool offer_h2_;
  mutable std::mutex mutex_;
  std::shared_ptr<boost::asio::ssl::context> current_;
};

}  // namespace mirror::http
