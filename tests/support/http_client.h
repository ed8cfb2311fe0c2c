// Test support: a deliberately simple blocking HTTP/1.1 client over a raw TCP
// socket, so tests can also send what no real client would.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>

namespace mirror::testing {

struct HttpReply {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

class RawConnection {
 public:
  explicit RawConnection(int port, const std::string& host = "127.0.0.1");
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  // False when the peer has closed or the send failed.
  bool send(const std::string& bytes);
  // One response (Content-Length, chunked, or until close); nullopt on timeout or close.
  std::optional<HttpReply> read_reply(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // True when the peer closes the connection within `timeout` (reads and
  // discards whatever arrives meanwhile).
  bool wait_closed(std::chrono::milliseconds timeout);

 private:
  bool fill(std::chrono::steady_clock::time_point deadline);
  int fd_ = -1;
  std::string buffer_;
};

HttpReply http_request(int port, const std::string& method, const std::string& path,
                       const std::map<std::string, std::string>& headers = {},
                       const std::string& body = {});
inline HttpReply http_get(int port, const std::string& path) {
  return http_request(port, "GET", path);
}

}  // namespace mirror::testing
