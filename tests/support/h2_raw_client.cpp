#include "support/h2_raw_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace mirror::testing {

namespace {

void put_integer(std::string& out, std::uint8_t first, int prefix_bits, std::size_t value) {
  const std::size_t max = (std::size_t{1} << prefix_bits) - 1;
  if (value < max) {
    out.push_back(static_cast<char>(first | value));
    return;
  }
  out.push_back(static_cast<char>(first | max));
  value -= max;
  while (value >= 128) {
    out.push_back(static_cast<char>((value % 128) | 128));
    value /= 128;
  }
  out.push_back(static_cast<char>(value));
}

std::string frame_bytes(std::uint8_t type, std::uint8_t flags, std::uint32_t stream, const std::string& payload) {
  std::string f;
  const auto len = static_cast<std::uint32_t>(payload.size());
  f.push_back(static_cast<char>((len >> 16) & 0xff));
  f.push_back(static_cast<char>((len >> 8) & 0xff));
  f.push_back(static_cast<char>(len & 0xff));
  f.push_back(static_cast<char>(type));
  f.push_back(static_cast<char>(flags));
  const std::uint32_t s = stream & 0x7fffffff;
  for (int shift : {24, 16, 8, 0}) f.push_back(static_cast<char>((s >> shift) & 0xff));
  return f + payload;
}

}  // namespace

std::string H2RawClient::header_block(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string block;
  for (const auto& [name, value] : fields) {
    block.push_back(0x00);  // literal without indexing, new name
    put_integer(block, 0x00, 7, name.size());
    block += name;
    put_integer(block, 0x00, 7, value.size());
    block += value;
  }
  return block;
}

H2RawClient::H2RawClient(int port, std::vector<std::pair<std::uint16_t, std::uint32_t>> settings) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return;
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  timeval tv{5, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ctx_ = SSL_CTX_new(TLS_client_method());
  static const unsigned char kAlpn[] = {2, 'h', '2'};
  SSL_CTX_set_alpn_protos(ctx_, kAlpn, sizeof kAlpn);
  SSL* ssl = SSL_new(ctx_);
  SSL_set_fd(ssl, fd_);
  if (SSL_connect(ssl) != 1) {
    SSL_free(ssl);
    return;
  }
  ssl_ = ssl;
  const unsigned char* proto = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(ssl_, &proto, &len);
  alpn_.assign(reinterpret_cast<const char*>(proto), len);
  std::string payload;
  for (const auto& [id, value] : settings) {
    payload.push_back(static_cast<char>(id >> 8));
    payload.push_back(static_cast<char>(id & 0xff));
    for (int shift : {24, 16, 8, 0}) payload.push_back(static_cast<char>((value >> shift) & 0xff));
  }
  write_all("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame_bytes(0x4, 0, 0, payload));
}

H2RawClient::~H2RawClient() {
  if (ssl_ != nullptr) SSL_free(ssl_);
  if (ctx_ != nullptr) SSL_CTX_free(ctx_);
  if (fd_ >= 0) ::close(fd_);
}

bool H2RawClient::write_all(const std::string& bytes) {
  if (ssl_ == nullptr || closed_) return false;
  std::size_t done = 0;
  while (done < bytes.size()) {
    const int n = SSL_write(ssl_, bytes.data() + done, static_cast<int>(bytes.size() - done));
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

bool H2RawClient::send_frame(std::uint8_t type, std::uint8_t flags, std::uint32_t stream, const std::string& payload) {
  return write_all(frame_bytes(type, flags, stream, payload));
}

void H2RawClient::queue_frame(std::uint8_t type, std::uint8_t flags, std::uint32_t stream,
                              const std::string& payload) {
  out_ += frame_bytes(type, flags, stream, payload);
}

bool H2RawClient::flush() {
  std::string bytes;
  bytes.swap(out_);
  return write_all(bytes);
}

bool H2RawClient::send_get(std::uint32_t stream, const std::string& path, bool end_headers,
                           const std::vector<std::pair<std::string, std::string>>& extra) {
  std::vector<std::pair<std::string, std::string>> fields = {
      {":method", "GET"}, {":scheme", "https"}, {":authority", "127.0.0.1"}, {":path", path}};
  fields.insert(fields.end(), extra.begin(), extra.end());
  const std::uint8_t flags = 0x1 /* END_STREAM */ | (end_headers ? 0x4 : 0);
  return send_frame(0x1, flags, stream, header_block(fields));
}

bool H2RawClient::send_rst(std::uint32_t stream, std::uint32_t error) {
  std::string payload;
  for (int shift : {24, 16, 8, 0}) payload.push_back(static_cast<char>((error >> shift) & 0xff));
  return send_frame(0x3, 0, stream, payload);
}

bool H2RawClient::send_ping(std::uint64_t data) {
  std::string payload(8, '\0');
  std::memcpy(payload.data(), &data, 8);
  return send_frame(0x6, 0, 0, payload);
}

std::optional<H2Frame> H2RawClient::read_frame(std::chrono::milliseconds timeout) {
  if (ssl_ == nullptr) return std::nullopt;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (in_.size() >= 9) {
      const std::size_t len = (static_cast<std::uint8_t>(in_[0]) << 16) | (static_cast<std::uint8_t>(in_[1]) << 8) |
                              static_cast<std::uint8_t>(in_[2]);
      if (in_.size() >= 9 + len) {
        H2Frame f;
        f.type = static_cast<std::uint8_t>(in_[3]);
        f.flags = static_cast<std::uint8_t>(in_[4]);
        f.stream = ((static_cast<std::uint8_t>(in_[5]) & 0x7f) << 24) | (static_cast<std::uint8_t>(in_[6]) << 16) |
                   (static_cast<std::uint8_t>(in_[7]) << 8) | static_cast<std::uint8_t>(in_[8]);
        f.payload = in_.substr(9, len);
        in_.erase(0, 9 + len);
        return f;
      }
    }
    if (closed_) return std::nullopt;
    if (SSL_pending(ssl_) == 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
    }
    char buf[16384];
    const int n = SSL_read(ssl_, buf, sizeof buf);
    if (n <= 0) {
      const int err = SSL_get_error(ssl_, n);
      if (err == SSL_ERROR_WANT_READ) continue;
      closed_ = true;
      continue;
    }
    in_.append(buf, static_cast<std::size_t>(n));
  }
}

std::optional<std::uint32_t> H2RawClient::wait_goaway(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    auto f = read_frame(left);
    if (!f) {
      if (closed_) return std::nullopt;
      continue;
    }
    if (f->type == 0x7 && f->payload.size() >= 8) {
      std::uint32_t code = 0;
      for (int i = 4; i < 8; ++i) code = (code << 8) | static_cast<std::uint8_t>(f->payload[static_cast<std::size_t>(i)]);
      return code;
    }
  }
  return std::nullopt;
}

}  // namespace mirror::testing
