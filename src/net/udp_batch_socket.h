// A UDP socket for protocols that move many datagrams at once (QUIC):
// batched receive (recvmmsg), batched send (sendmmsg) where each message may
// carry a train of equal-size datagrams cut by the kernel (UDP GSO,
// UDP_SEGMENT), the local address of every datagram (IP_PKTINFO) so that
// answers leave from the address the client used, and SO_REUSEPORT so that
// one socket per event loop can share a port.
//
// Threads: one owner (an event loop); not thread-safe.
#pragma once

#include "core/errors.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>

namespace mirror::net {

struct UdpAddress {
  sockaddr_storage storage{};
  socklen_t size = 0;
  const sockaddr* sockaddr_ptr() const { return reinterpret_cast<const sockaddr*>(&storage); }
  sockaddr* sockaddr_ptr() { return reinterpret_cast<sockaddr*>(&storage); }
  std::string to_string() const;  // "ip:port"
  std::string ip() const;
};

// One received datagram; `data` points into the socket's receive buffers and
// is valid until the next receive().
struct UdpReceived {
  UdpAddress remote;
  UdpAddress local;
  const std::uint8_t* data = nullptr;
  std::size_t size = 0;
};

// One message to send: `size` bytes cut into datagrams of `segment` bytes
// (the last may be shorter). segment == size for a single datagram.
struct UdpMessage {
  const UdpAddress* local = nullptr;
  const UdpAddress* remote = nullptr;
  const std::uint8_t* data = nullptr;
  std::size_t size = 0;
  std::size_t segment = 0;
};

class UdpBatchSocket {
 public:
  static constexpr std::size_t kBatch = 32;
  static constexpr std::size_t kMaxDatagram = 65527;

  // Binds `address`:`port` (port 0: a free one), with SO_REUSEPORT when
  // `share_port` so that sibling sockets may bind the same port.
  static core::Result<std::unique_ptr<UdpBatchSocket>> open(boost::asio::io_context& io,
                                                            const std::string& address, int port,
                                                            bool share_port);
  ~UdpBatchSocket();
  UdpBatchSocket(const UdpBatchSocket&) = delete;
  UdpBatchSocket& operator=(const UdpBatchSocket&) = delete;

  int port() const { return port_; }

  // Receives what is waiting, up to kBatch datagrams, without blocking.
  // Returns how many arrived (0: nothing waiting or an error).
  std::size_t receive(std::span<UdpReceived> out);

  // Sends messages in order with as few system calls as the kernel allows.
  // Returns how many were sent whole; fewer than given means the socket is
  // full (wait_writable) or the rest failed for good (dropped, as UDP may).
  std::size_t send(std::span<const UdpMessage> messages);
  bool blocked() const { return blocked_; }

  void wait_readable(std::function<void(bool ok)> handler);
  void wait_writable(std::function<void(bool ok)> handler);
  void close();

  bool gso_enabled() const { return gso_; }

 private:
  UdpBatchSocket(boost::asio::io_context& io, int fd, int port, sa_family_t family);
  std::size_t send_one_by_one(const UdpMessage& m);

  boost::asio::ip::udp::socket socket_;
  int fd_;
  int port_;
  sa_family_t family_;
  bool gso_ = true;
  bool blocked_ = false;
  struct Buffers;
  std::unique_ptr<Buffers> buffers_;
};

}  // namespace mirror::net
