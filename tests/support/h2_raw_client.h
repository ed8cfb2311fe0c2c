// Test support: a blocking HTTP/2 client over TLS (OpenSSL, ALPN h2) that
// writes frames by hand, so tests can send what no real client would: rapid
// resets, CONTINUATION and PING floods, windows that never open.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

struct ssl_st;
struct ssl_ctx_st;

namespace mirror::testing {

struct H2Frame {
  std::uint8_t type = 0;
  std::uint8_t flags = 0;
  std::uint32_t stream = 0;
  std::string payload;
};

class H2RawClient {
 public:
  // Connects, completes the TLS handshake offering only "h2", and sends the
  // connection preface with `settings` (id, value pairs).
  explicit H2RawClient(int port, std::vector<std::pair<std::uint16_t, std::uint32_t>> settings = {});
  ~H2RawClient();
  H2RawClient(const H2RawClient&) = delete;
  H2RawClient& operator=(const H2RawClient&) = delete;

  bool connected() const { return ssl_ != nullptr; }
  std::string alpn() const { return alpn_; }

  // False once the peer has gone.
  bool send_frame(std::uint8_t type, std::uint8_t flags, std::uint32_t stream, const std::string& payload);
  // A GET request's HEADERS (HPACK literals, no indexing).
  bool send_get(std::uint32_t stream, const std::string& path, bool end_headers = true,
                const std::vector<std::pair<std::string, std::string>>& extra = {});
  bool send_rst(std::uint32_t stream, std::uint32_t error = 0x8 /* CANCEL */);
  bool send_ping(std::uint64_t data = 0);
  // Buffered: the bytes go out in one write with flush() (floods).
  void queue_frame(std::uint8_t type, std::uint8_t flags, std::uint32_t stream, const std::string& payload);
  bool flush();

  // The next frame, or nullopt on timeout or close (closed() tells which).
  std::optional<H2Frame> read_frame(std::chrono::milliseconds timeout);
  bool closed() const { return closed_; }
  // Reads until a GOAWAY arrives or the connection closes; the GOAWAY error
  // code, if one came.
  std::optional<std::uint32_t> wait_goaway(std::chrono::milliseconds timeout);

  static std::string header_block(const std::vector<std::pair<std::string, std::string>>& fields);

 private:
  bool write_all(const std::string& bytes);
  int fd_ = -1;
  ssl_ctx_st* ctx_ = nullptr;
  ssl_st* ssl_ = nullptr;
  std::string alpn_;
  std::string in_;
  std::string out_;
  bool closed_ = false;
};

}  // namespace mirror::testing
