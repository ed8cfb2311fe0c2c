// Test support: a real S3-compatible server (npm @20minutes/s3rver, which
// checks SigV4 signatures) on a free loopback port, storing in a directory
// of the test's own, with one bucket; started by tests/support/s3rver.mjs
// and stopped by its PID. Credentials: S3RVER / S3RVER.
#pragma once

#include "support/process.h"

#include <memory>
#include <string>

namespace mirror::testing {

class S3rver {
 public:
  // `source_dir`: the source tree (its node_modules and the script).
  S3rver(const std::string& source_dir, const std::string& dir, const std::string& bucket);
  ~S3rver();
  S3rver(const S3rver&) = delete;
  S3rver& operator=(const S3rver&) = delete;

  // Whether it listens (false when node or the npm package is missing).
  bool ready() const { return ready_; }
  int port() const { return port_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // Stops it (an outage); start() brings it back on the same port and data.
  void stop();
  bool start();

 private:
  std::string source_dir_;
  std::string dir_;
  std::string bucket_;
  int port_;
  bool ready_ = false;
  std::unique_ptr<Process> process_;
};

}  // namespace mirror::testing
