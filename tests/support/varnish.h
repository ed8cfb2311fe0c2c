// Test support: Debian's Varnish as an edge in front of Mirror, on a free
// loopback port, with Mirror's shipped configuration (its backend port set to
// the origin's), in the foreground and stopped by its PID. No privilege
// separation (-j none): its files sit in the test's own directory.
#pragma once

#include "support/process.h"

#include <memory>
#include <string>

namespace mirror::testing {

class Varnish {
 public:
  // `vcl`: configs/varnish/mirror.vcl; `origin_port`: Mirror's
  // server.http_port; `dir`: a directory of the test's own.
  Varnish(const std::string& vcl, int origin_port, const std::string& dir, int threads = 250);
  ~Varnish();
  Varnish(const Varnish&) = delete;
  Varnish& operator=(const Varnish&) = delete;

  int port() const { return port_; }
  Process& process() { return *process_; }
  // One varnishstat counter (MAIN.backend_req, MAIN.cache_hit...), -1 if unknown.
  long long stat(const std::string& name) const;

 private:
  std::string dir_;
  int port_;
  std::unique_ptr<Process> process_;
};

}  // namespace mirror::testing
