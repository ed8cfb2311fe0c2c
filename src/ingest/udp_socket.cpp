#include "ingest/udp_socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace mirror::ingest {

UdpSocket::~UdpSocket() {
  if (fd_ >= 0) ::close(fd_);
}

UdpSocket::UdpSocket(UdpSocket&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), port_(other.port_) {}

UdpSocket& UdpSocket::operator=(UdpSocket&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    port_ = other.port_;
  }
  return *this;
}

core::Result<UdpSocket> UdpSocket::bind(const std::string& address, int port,
                                        std::int64_t receive_buffer) {
  auto fail = [&](const char* what, int err) {
    return core::Error(core::ErrorCode::kServiceUnavailable,
                       std::string("cannot ") + what + " udp port " + std::to_string(port) + ": " +
                           std::strerror(err),
                       {{"port", port}, {"protocol", "udp"}});
  };
  if (port < 0 || port > 65535) {
    return core::Error(core::ErrorCode::kInvalidInput, "udp port out of range", {{"port", port}});
  }
  UdpSocket s;
  s.fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s.fd_ < 0) return fail("open a socket for", errno);
  int size = static_cast<int>(receive_buffer);
  ::setsockopt(s.fd_, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (inet_pton(AF_INET, address.c_str(), &addr.sin_addr) != 1) {
    return core::Error(core::ErrorCode::kInvalidInput, "invalid bind address " + address);
  }
  if (::bind(s.fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return fail("bind", errno);
  socklen_t len = sizeof addr;
  ::getsockname(s.fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  s.port_ = ntohs(addr.sin_port);
  return s;
}

std::string endpoint_text(const sockaddr_storage& a) {
  char host[INET6_ADDRSTRLEN] = {};
  if (a.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&a);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    return std::string(host) + ":" + std::to_string(ntohs(in->sin_port));
  }
  if (a.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&a);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(in6->sin6_port));
  }
  return "unknown";
}

}  // namespace mirror::ingest
