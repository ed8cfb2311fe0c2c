#include "http/signing.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace mirror::http {
namespace {

std::string encode(std::string_view text) {
  return base64url_encode({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
}

TEST(Signing, Base64UrlIsUnpaddedAndUrlSafe) {
  // RFC 4648 §10 vectors, without padding.
  EXPECT_EQ(encode(""), "");
  EXPECT_EQ(encode("f"), "Zg");
  EXPECT_EQ(encode("fo"), "Zm8");
  EXPECT_EQ(encode("foo"), "Zm9v");
  EXPECT_EQ(encode("foob"), "Zm9vYg");
  EXPECT_EQ(encode("fooba"), "Zm9vYmE");
  EXPECT_EQ(encode("foobar"), "Zm9vYmFy");
  const std::vector<std::uint8_t> high{0xfb, 0xff, 0xbf};
  EXPECT_EQ(base64url_encode(high), "-_-_");
}

TEST(Signing, HmacSha256MatchesRfc4231) {
  // RFC 4231 test case 2: 5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843.
  const std::vector<std::uint8_t> mac{0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24,
                                      0x26, 0x08, 0x95, 0x75, 0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27,
                                      0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43};
  EXPECT_EQ(sign("Jefe", "what do ya want for nothing?"), base64url_encode(mac));
  EXPECT_EQ(sign("Jefe", "what do ya want for nothing?").size(), 43u);
  EXPECT_NE(sign("Jefe", "what do ya want for nothing!"), sign("Jefe", "what do ya want for nothing?"));
}

TEST(Signing, RandomTokensDiffer) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) seen.insert(random_token(16));
  EXPECT_EQ(seen.size(), 100u);
  EXPECT_EQ(random_token(32).size(), 43u);
}

TEST(Signing, ConstantTimeCompare) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
  EXPECT_FALSE(constant_time_equal("", "a"));
  EXPECT_TRUE(constant_time_equal("", ""));
}

}  // namespace
}  // namespace mirror::http
