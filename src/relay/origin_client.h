// One keep-alive HTTP connection to an origin node's delivery port (libcurl
// easy handle), blocking, for one relay thread: GET with a time limit and a
// cap on the body size.
//
// Threads: one owner thread.
#pragma once

#include "core/errors.h"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <string>

namespace mirror::relay {

struct OriginReply {
  long status = 0;
  std::string body;
  std::string content_type;
};

class OriginClient {
 public:
  // `base_url`: "http://host:port" (the origin's cluster.advertise_url).
  explicit OriginClient(std::string base_url);
  ~OriginClient();
  OriginClient(const OriginClient&) = delete;
  OriginClient& operator=(const OriginClient&) = delete;

  // GET base_url + path. SERVICE_UNAVAILABLE for a failed connection or a
  // timeout; any HTTP status is a reply. A body over `max_body` fails.
  core::Result<OriginReply> get(const std::string& path, std::chrono::milliseconds timeout, std::size_t max_body);

  // A request in flight gives up soon after `*flag` turns true.
  void abort_when(const std::atomic<bool>* flag) { abort_ = flag; }

  const std::string& base_url() const { return base_url_; }
  // Bytes received, for the metrics.
  std::uint64_t bytes_received() const { return bytes_received_; }

 private:
  std::string base_url_;
  void* curl_;  // CURL*
  const std::atomic<bool>* abort_ = nullptr;
  std::uint64_t bytes_received_ = 0;
};

}  // namespace mirror::relay
