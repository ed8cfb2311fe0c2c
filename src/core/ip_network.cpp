#include "core/ip_network.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <charconv>
#include <cstring>

namespace mirror::core {

std::optional<IpNetwork> IpNetwork::parse(std::string_view text) {
  const std::size_t slash = text.find('/');
  const std::string address(text.substr(0, slash));
  IpNetwork n;
  if (inet_pton(AF_INET, address.c_str(), n.bytes_.data()) == 1) {
    n.v6_ = false;
    n.prefix_ = 32;
  } else if (inet_pton(AF_INET6, address.c_str(), n.bytes_.data()) == 1) {
    n.v6_ = true;
    n.prefix_ = 128;
  } else {
    return std::nullopt;
  }
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    int prefix = -1;
    const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (digits.empty() || ec != std::errc{} || ptr != digits.data() + digits.size() || prefix < 0 ||
        prefix > n.prefix_) {
      return std::nullopt;
    }
    n.prefix_ = prefix;
  }
  return n;
}

bool IpNetwork::matches(const std::uint8_t* address, bool v6) const {
  if (v6 != v6_) return false;
  const int whole = prefix_ / 8;
  if (std::memcmp(address, bytes_.data(), static_cast<std::size_t>(whole)) != 0) return false;
  const int rest = prefix_ % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (address[whole] & mask) == (bytes_[static_cast<std::size_t>(whole)] & mask);
}

bool IpNetwork::contains(const sockaddr* address) const {
  if (address == nullptr) return false;
  if (address->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(address);
    return matches(reinterpret_cast<const std::uint8_t*>(&in->sin_addr), false);
  }
  if (address->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(&in6->sin6_addr);
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) return matches(bytes + 12, false);
    return matches(bytes, true);
  }
  return false;
}

std::string IpNetwork::to_string() const {
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(v6_ ? AF_INET6 : AF_INET, bytes_.data(), text, sizeof text);
  return std::string(text) + "/" + std::to_string(prefix_);
}

bool any_contains(const std::vector<IpNetwork>& networks, const sockaddr* address) {
  for (const auto& n : networks) {
    if (n.contains(address)) return true;
  }
  return false;
}

}  // namespace mirror::core
