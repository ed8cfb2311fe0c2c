#include "core/ip_network.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

namespace mirror::core {
namespace {

sockaddr_storage v4(const char* text) {
  sockaddr_storage s{};
  auto* in = reinterpret_cast<sockaddr_in*>(&s);
  in->sin_family = AF_INET;
  inet_pton(AF_INET, text, &in->sin_addr);
  return s;
}

sockaddr_storage v6(const char* text) {
  sockaddr_storage s{};
  auto* in = reinterpret_cast<sockaddr_in6*>(&s);
  in->sin6_family = AF_INET6;
  inet_pton(AF_INET6, text, &in->sin6_addr);
  return s;
}

bool in(const char* network, const sockaddr_storage& address) {
  auto n = IpNetwork::parse(network);
  EXPECT_TRUE(n) << network;
  return n && n->contains(reinterpret_cast<const sockaddr*>(&address));
}

TEST(IpNetwork, MatchesByPrefix) {
  EXPECT_TRUE(in("10.0.0.0/8", v4("10.200.1.2")));
  EXPECT_FALSE(in("10.0.0.0/8", v4("11.0.0.1")));
  EXPECT_TRUE(in("172.16.0.0/12", v4("172.31.255.255")));
  EXPECT_FALSE(in("172.16.0.0/12", v4("172.32.0.0")));
  EXPECT_TRUE(in("192.0.2.7", v4("192.0.2.7")));
  EXPECT_FALSE(in("192.0.2.7", v4("192.0.2.8")));
  EXPECT_TRUE(in("0.0.0.0/0", v4("8.8.8.8")));
  EXPECT_TRUE(in("fc00::/7", v6("fd12::1")));
  EXPECT_FALSE(in("fc00::/7", v6("fe80::1")));
  EXPECT_TRUE(in("::1/128", v6("::1")));
  // IPv4 arriving on an IPv6 socket.
  EXPECT_TRUE(in("127.0.0.0/8", v6("::ffff:127.0.0.1")));
  EXPECT_FALSE(in("::1/128", v4("127.0.0.1")));
}

TEST(IpNetwork, RejectsMalformedNetworks) {
  for (const char* bad : {"", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0/8", "10.0.0.0/8x",
                          "host.example", "10.0.0.0/-1", "/8"}) {
    EXPECT_FALSE(IpNetwork::parse(bad)) << bad;
  }
  EXPECT_EQ(IpNetwork::parse("10.1.0.0/16")->to_string(), "10.1.0.0/16");
}

}  // namespace
}  // namespace mirror::core
