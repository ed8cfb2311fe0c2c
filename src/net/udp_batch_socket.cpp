#include "net/udp_batch_socket.h"

#include <arpa/inet.h>
#include <netinet/udp.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

namespace mirror::net {

namespace asio = boost::asio;

namespace {

// Receive slots: QUIC datagrams are ~1200-1500 bytes on real paths; larger
// ones (only on loopback) are dropped as truncated, and Mirror advertises
// this size as its max_udp_payload_size.
constexpr std::size_t kSlot = 4096;
constexpr std::size_t kControl =
    CMSG_SPACE(sizeof(in6_pktinfo)) + CMSG_SPACE(sizeof(std::uint16_t));

void set_port_of(UdpAddress& a, int port) {
  if (a.storage.ss_family == AF_INET) {
    reinterpret_cast<sockaddr_in*>(&a.storage)->sin_port = htons(static_cast<std::uint16_t>(port));
  } else if (a.storage.ss_family == AF_INET6) {
    reinterpret_cast<sockaddr_in6*>(&a.storage)->sin6_port =
        htons(static_cast<std::uint16_t>(port));
  }
}

}  // namespace

std::string UdpAddress::ip() const {
  std::array<char, INET6_ADDRSTRLEN> text{};
  if (storage.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr, text.data(),
              text.size());
  } else if (storage.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr, text.data(),
              text.size());
  } else {
    return "unknown";
  }
  return text.data();
}

std::string UdpAddress::to_string() const {
  int port = 0;
  if (storage.ss_family == AF_INET)
    port = ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
  if (storage.ss_family == AF_INET6)
    port = ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  return storage.ss_family == AF_INET6 ? "[" + ip() + "]:" + std::to_string(port)
                                       : ip() + ":" + std::to_string(port);
}

struct UdpBatchSocket::Buffers {
  std::array<std::array<std::uint8_t, kSlot>, kBatch> data{};
  std::array<std::array<std::uint8_t, kControl>, kBatch> control{};
  std::array<sockaddr_storage, kBatch> names{};
  std::array<iovec, kBatch> iov{};
  std::array<mmsghdr, kBatch> messages{};
  // Sending
  std::array<std::array<std::uint8_t, kControl>, kBatch> send_control{};
  std::array<iovec, kBatch> send_iov{};
  std::array<mmsghdr, kBatch> send_messages{};
};

core::Result<std::unique_ptr<UdpBatchSocket>> UdpBatchSocket::open(asio::io_context& io,
                                                                   const std::string& address,
                                                                   int port, bool share_port) {
  UdpAddress bind_to;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&bind_to.storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&bind_to.storage);
  if (inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    bind_to.size = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    bind_to.size = sizeof(sockaddr_in6);
  } else {
    return core::Error(core::ErrorCode::kInvalidInput,
                       "not an IP address to bind UDP to: " + address);
  }
  set_port_of(bind_to, port);
  const sa_family_t family = bind_to.storage.ss_family;
  const int fd = ::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return core::Error(core::ErrorCode::kInternal,
                       std::string("udp socket: ") + std::strerror(errno));
  const int on = 1;
  if (share_port) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on));
  if (family == AF_INET) {
    setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on));
    const int pmtud = IP_PMTUDISC_PROBE;  // DF set, no kernel-side fragmentation
    setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtud, sizeof(pmtud));
  } else {
    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on));
    const int pmtud = IPV6_PMTUDISC_PROBE;
    setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &pmtud, sizeof(pmtud));
  }
  // Best effort: room for bursts of many connections between two loop turns.
  const int buffer = 4 * 1024 * 1024;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof(buffer));
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer, sizeof(buffer));
  if (::bind(fd, bind_to.sockaddr_ptr(), bind_to.size) != 0) {
    const int err = errno;
    ::close(fd);
    return core::Error(core::ErrorCode::kServiceUnavailable,
                       "cannot bind udp port " + std::to_string(port) + " on " + address + ": " +
                           std::strerror(err));
  }
  UdpAddress bound;
  bound.size = sizeof(bound.storage);
  getsockname(fd, bound.sockaddr_ptr(), &bound.size);
  const int bound_port = family == AF_INET
                             ? ntohs(reinterpret_cast<sockaddr_in*>(&bound.storage)->sin_port)
                             : ntohs(reinterpret_cast<sockaddr_in6*>(&bound.storage)->sin6_port);
  return std::unique_ptr<UdpBatchSocket>(new UdpBatchSocket(io, fd, bound_port, family));
}

UdpBatchSocket::UdpBatchSocket(asio::io_context& io, int fd, int port, sa_family_t family)
    : socket_(io), fd_(fd), port_(port), family_(family), buffers_(std::make_unique<Buffers>()) {
  boost::system::error_code ec;
  socket_.assign(family == AF_INET ? asio::ip::udp::v4() : asio::ip::udp::v6(), fd, ec);
  socket_.non_blocking(true, ec);
}

UdpBatchSocket::~UdpBatchSocket() {
  close();
}

void UdpBatchSocket::close() {
  boost::system::error_code ec;
  if (socket_.is_open()) socket_.close(ec);
}

std::size_t UdpBatchSocket::receive(std::span<UdpReceived> out) {
  Buffers& b = *buffers_;
  const std::size_t want = std::min(out.size(), kBatch);
  for (std::size_t i = 0; i < want; ++i) {
    b.iov[i] = iovec{b.data[i].data(), kSlot};
    msghdr& h = b.messages[i].msg_hdr;
    h = msghdr{};
    h.msg_name = &b.names[i];
    h.msg_namelen = sizeof(sockaddr_storage);
    h.msg_iov = &b.iov[i];
    h.msg_iovlen = 1;
    h.msg_control = b.control[i].data();
    h.msg_controllen = kControl;
    b.messages[i].msg_len = 0;
  }
  const int n =
      recvmmsg(fd_, b.messages.data(), static_cast<unsigned>(want), MSG_DONTWAIT, nullptr);
  if (n <= 0) return 0;
  std::size_t kept = 0;
  for (int i = 0; i < n; ++i) {
    const msghdr& h = b.messages[i].msg_hdr;
    if ((h.msg_flags & MSG_TRUNC) != 0 || b.messages[i].msg_len == 0) continue;
    UdpReceived& r = out[kept];
    std::memcpy(&r.remote.storage, &b.names[i], h.msg_namelen);
    r.remote.size = h.msg_namelen;
    r.local = UdpAddress{};
    r.local.storage.ss_family = family_;
    r.local.size = family_ == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    for (cmsghdr* c = CMSG_FIRSTHDR(const_cast<msghdr*>(&h)); c != nullptr;
         c = CMSG_NXTHDR(const_cast<msghdr*>(&h), c)) {
      if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
        in_pktinfo info{};
        std::memcpy(&info, CMSG_DATA(c), sizeof(info));
        reinterpret_cast<sockaddr_in*>(&r.local.storage)->sin_addr = info.ipi_addr;
      } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
        in6_pktinfo info{};
        std::memcpy(&info, CMSG_DATA(c), sizeof(info));
        reinterpret_cast<sockaddr_in6*>(&r.local.storage)->sin6_addr = info.ipi6_addr;
      }
    }
    set_port_of(r.local, port_);
    r.data = b.data[i].data();
    r.size = b.messages[i].msg_len;
    ++kept;
  }
  return kept;
}

namespace {

// Source address (and GSO segment size) of one message, as control data.
std::size_t fill_control(msghdr& h, std::uint8_t* buffer, const UdpMessage& m, bool gso) {
  std::memset(buffer, 0, kControl);
  h.msg_control = buffer;
  h.msg_controllen = kControl;
  std::size_t used = 0;
  cmsghdr* c = CMSG_FIRSTHDR(&h);
  if (m.local != nullptr && m.local->storage.ss_family == AF_INET) {
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
    in_pktinfo info{};
    info.ipi_spec_dst = reinterpret_cast<const sockaddr_in*>(&m.local->storage)->sin_addr;
    std::memcpy(CMSG_DATA(c), &info, sizeof(info));
    used += CMSG_SPACE(sizeof(in_pktinfo));
    c = CMSG_NXTHDR(&h, c);
  } else if (m.local != nullptr && m.local->storage.ss_family == AF_INET6) {
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
    in6_pktinfo info{};
    info.ipi6_addr = reinterpret_cast<const sockaddr_in6*>(&m.local->storage)->sin6_addr;
    std::memcpy(CMSG_DATA(c), &info, sizeof(info));
    used += CMSG_SPACE(sizeof(in6_pktinfo));
    c = CMSG_NXTHDR(&h, c);
  }
  if (gso && m.size > m.segment && c != nullptr) {
    c->cmsg_level = SOL_UDP;
    c->cmsg_type = UDP_SEGMENT;
    c->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
    const auto segment = static_cast<std::uint16_t>(m.segment);
    std::memcpy(CMSG_DATA(c), &segment, sizeof(segment));
    used += CMSG_SPACE(sizeof(std::uint16_t));
  }
  h.msg_controllen = used;
  if (used == 0) h.msg_control = nullptr;
  return used;
}

}  // namespace

std::size_t UdpBatchSocket::send(std::span<const UdpMessage> messages) {
  Buffers& b = *buffers_;
  blocked_ = false;
  std::size_t done = 0;
  while (done < messages.size()) {
    if (!gso_ && messages[done].size > messages[done].segment) {
      // A train without GSO: datagram by datagram. If the socket fills
      // half-way the whole train is offered again later; QUIC drops the
      // duplicates by packet number.
      send_one_by_one(messages[done]);
      if (blocked_) return done;
      ++done;
      continue;
    }
    std::size_t count = 0;
    while (count < kBatch && done + count < messages.size() &&
           (gso_ || messages[done + count].size <= messages[done + count].segment)) {
      const UdpMessage& m = messages[done + count];
      b.send_iov[count] = iovec{const_cast<std::uint8_t*>(m.data), m.size};
      msghdr& h = b.send_messages[count].msg_hdr;
      h = msghdr{};
      h.msg_name = const_cast<sockaddr*>(m.remote->sockaddr_ptr());
      h.msg_namelen = m.remote->size;
      h.msg_iov = &b.send_iov[count];
      h.msg_iovlen = 1;
      fill_control(h, b.send_control[count].data(), m, gso_);
      ++count;
    }
    const int n = sendmmsg(fd_, b.send_messages.data(), static_cast<unsigned>(count), 0);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      blocked_ = true;
      return done;
    }
    if (gso_ && (errno == EIO || errno == EINVAL) && messages[done].size > messages[done].segment) {
      gso_ = false;  // no GSO on this path (some NICs, some kernels)
      continue;
    }
    ++done;  // unreachable peer or similar: that message is lost, as UDP allows
  }
  return done;
}

std::size_t UdpBatchSocket::send_one_by_one(const UdpMessage& m) {
  std::size_t sent = 0;
  for (std::size_t at = 0; at < m.size; at += m.segment) {
    UdpMessage one = m;
    one.data = m.data + at;
    one.size = std::min(m.segment, m.size - at);
    one.segment = one.size;
    if (send(std::span<const UdpMessage>(&one, 1)) == 0 && blocked_) return sent;
    ++sent;
  }
  return sent;
}

void UdpBatchSocket::wait_readable(std::function<void(bool)> handler) {
  socket_.async_wait(asio::ip::udp::socket::wait_read,
                     [h = std::move(handler)](const boost::system::error_code& ec) { h(!ec); });
}

void UdpBatchSocket::wait_writable(std::function<void(bool)> handler) {
  socket_.async_wait(asio::ip::udp::socket::wait_write,
                     [h = std::move(handler)](const boost::system::error_code& ec) { h(!ec); });
}

}  // namespace mirror::net
