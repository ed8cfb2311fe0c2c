// A bound, non-blocking UDP socket (RAII). Binding errors name the port and
// the protocol, so "address in use" is clear at start-up and in API answers.
// Threads: owned by one thread at a time.
#pragma once

#include <sys/socket.h>

#include "core/errors.h"

#include <cstdint>
#include <string>

namespace mirror::ingest {

class UdpSocket {
 public:
  UdpSocket() = default;
  ~UdpSocket();
  UdpSocket(UdpSocket&& other) noexcept;
  UdpSocket& operator=(UdpSocket&& other) noexcept;
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  // `receive_buffer` sets SO_RCVBUF (the kernel may cap it at rmem_max).
  static core::Result<UdpSocket> bind(const std::string& address, int port,
                                      std::int64_t receive_buffer);

  int fd() const { return fd_; }
  int port() const { return port_; }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// "ip:port" of a socket address.
std::string endpoint_text(const sockaddr_storage& address);

}  // namespace mirror::ingest
