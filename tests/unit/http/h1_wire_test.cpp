#include "http/h1_wire.h"

#include <gtest/gtest.h>

namespace mirror::http {
namespace {

TEST(H1Wire, WritesStatusLineFieldsAndLength) {
  Headers h;
  h.set("Content-Type", "application/json");
  std::string head = serialize_head(200, h, Framing::content_length(12), true);
  EXPECT_EQ(head.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  EXPECT_NE(head.find("Content-Type: application/json\r\n"), std::string::npos);
  EXPECT_NE(head.find("Content-Length: 12\r\n"), std::string::npos);
  EXPECT_NE(head.find("Connection: keep-alive\r\n"), std::string::npos);
  EXPECT_NE(head.find("Date: "), std::string::npos);
  EXPECT_TRUE(head.ends_with("\r\n\r\n"));
}

TEST(H1Wire, DropsFieldsThatWouldSplitTheResponse) {
  Headers h;
  h.set("X-Evil", "a\r\nSet-Cookie: x=1");
  h.set("X-Fine", "ok");
  std::string head = serialize_head(200, h, Framing::content_length(0), false);
  EXPECT_EQ(head.find("Set-Cookie"), std::string::npos);
  EXPECT_NE(head.find("X-Fine: ok"), std::string::npos);
  EXPECT_NE(head.find("Connection: close"), std::string::npos);
}

TEST(H1Wire, FramingFieldsBelongToTheTransport) {
  Headers h;
  h.set("Content-Length", "999");
  h.set("Transfer-Encoding", "gzip");
  std::string head = serialize_head(200, h, Framing::chunked(), true);
  EXPECT_EQ(head.find("999"), std::string::npos);
  EXPECT_NE(head.find("Transfer-Encoding: chunked\r\n"), std::string::npos);
}

TEST(H1Wire, NoContentHasNoFraming) {
  std::string head = serialize_head(204, {}, Framing::content_length(5), true);
  EXPECT_EQ(head.find("Content-Length"), std::string::npos);
  EXPECT_TRUE(status_has_no_body(304));
  EXPECT_FALSE(status_has_no_body(200));
}

TEST(H1Wire, ChunkPrefixIsHex) {
  EXPECT_EQ(chunk_prefix(255), "ff\r\n");
  EXPECT_EQ(chunk_prefix(0), "0\r\n");
}

}  // namespace
}  // namespace mirror::http
