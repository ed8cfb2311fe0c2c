// IpNetwork: an IPv4 or IPv6 network in CIDR notation ("10.0.0.0/8",
// "fc00::/7", or a single address), parsed from configuration and matched
// against the sender address of a datagram. An IPv4 address that arrives
// IPv4-mapped on an IPv6 socket (::ffff:a.b.c.d) matches IPv4 networks.
//
// Threads: a plain value; parse once, match from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct sockaddr;

namespace mirror::core {

class IpNetwork {
 public:
  // Nothing for anything but an address with an optional /prefix in range.
  static std::optional<IpNetwork> parse(std::string_view text);

  bool contains(const sockaddr* address) const;
  std::string to_string() const;

 private:
  bool v6_ = false;
  std::array<std::uint8_t, 16> bytes_{};
  int prefix_ = 0;

  bool matches(const std::uint8_t* address, bool v6) const;
};

// True when `address` is in any of `networks`.
bool any_contains(const std::vector<IpNetwork>& networks, const sockaddr* address);

}  // namespace mirror::core
