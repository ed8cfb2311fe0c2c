#include "http/stream_request.h"

#include <gtest/gtest.h>

namespace mirror::http {
namespace {

TEST(StreamRequest, PseudoFieldsFillTheRequestLine) {
  StreamRequest s("HTTP/3", "127.0.0.1:5000");
  const StreamRequestLimits limits;
  s.add_field(":method", "GET", limits);
  s.add_field(":scheme", "https", limits);
  s.add_field(":authority", "example.org", limits);
  s.add_field(":path", "/streams/a/index.m3u8?_HLS_msn=3", limits);
  s.add_field("user-agent", "test", limits);
  ASSERT_EQ(s.complete(), 0);
  const Request& r = s.request();
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.path, "/streams/a/index.m3u8");
  EXPECT_EQ(r.query, "_HLS_msn=3");
  EXPECT_EQ(r.headers.get("host"), "example.org");
  EXPECT_EQ(r.headers.get("user-agent"), "test");
  EXPECT_FALSE(r.headers.has(":scheme"));
  EXPECT_EQ(r.protocol, "HTTP/3");
  EXPECT_TRUE(r.secure);
}

TEST(StreamRequest, HeaderBombsEndAs431WithoutKeepingTheRest) {
  StreamRequest s("HTTP/2", "peer");
  StreamRequestLimits limits;
  limits.max_header_count = 10;
  s.add_field(":method", "GET", limits);
  s.add_field(":path", "/", limits);
  for (int i = 0; i < 1000; ++i) s.add_field("x-bomb", std::string(100, 'a'), limits);
  EXPECT_EQ(s.complete(), 431);
  EXPECT_LE(s.request().headers.size(), 10u);
  EXPECT_EQ(rejection_reason(431), "header_too_large");
  EXPECT_EQ(rejection_response(431).status, 431);

  StreamRequest big("HTTP/2", "peer");
  big.add_field(":method", "GET", StreamRequestLimits{});
  big.add_field("x-big", std::string(17 * 1024, 'b'), StreamRequestLimits{});
  EXPECT_EQ(big.complete(), 431);
}

TEST(StreamRequest, MissingOrBadRequestLineIs400AndLargeBodies413) {
  StreamRequest no_path("HTTP/3", "peer");
  no_path.add_field(":method", "GET", StreamRequestLimits{});
  EXPECT_EQ(no_path.complete(), 400);
  StreamRequest bad_path("HTTP/3", "peer");
  bad_path.add_field(":method", "GET", StreamRequestLimits{});
  bad_path.add_field(":path", "no-slash", StreamRequestLimits{});
  EXPECT_EQ(bad_path.complete(), 400);
  EXPECT_EQ(rejection_reason(400), "malformed");

  StreamRequestLimits limits;
  limits.body_limit = 10;
  StreamRequest body("HTTP/3", "peer");
  body.add_field(":method", "POST", limits);
  body.add_field(":path", "/x", limits);
  const std::string bytes(11, 'x');
  body.add_body(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(), limits);
  EXPECT_EQ(body.complete(), 413);
}

TEST(StreamRequest, ResponseFieldsAreLowerCaseWithoutConnectionFields) {
  Headers h;
  h.add("Content-Type", "application/json");
  h.add("Connection", "keep-alive");
  h.add("Transfer-Encoding", "chunked");
  h.add("Content-Length", "99");
  h.add("Cache-Control", "no-store");
  const auto fields = response_fields(404, h, 12);
  ASSERT_EQ(fields.size(), 4u);
  EXPECT_EQ(fields[0], (std::pair<std::string, std::string>{":status", "404"}));
  EXPECT_EQ(fields[1].first, "content-type");
  EXPECT_EQ(fields[2].first, "cache-control");
  EXPECT_EQ(fields[3], (std::pair<std::string, std::string>{"content-length", "12"}));
  EXPECT_EQ(response_fields(200, Headers{}, std::nullopt).size(), 1u);
}

TEST(StreamRequest, TakeBodyQueuesTheStringThenTheSharedPiecesWithoutEmptyOnes) {
  Response r(200, "video/mp4", "head");
  r.shared_body.push_back(core::SharedBytes::from_string("part-1"));
  r.shared_body.push_back(core::SharedBytes::from_string(""));
  r.shared_body.push_back(core::SharedBytes::from_string("part-2"));
  std::deque<BodyPiece> pieces;
  pieces.emplace_back(std::string("earlier"));
  take_body(r, pieces);
  ASSERT_EQ(pieces.size(), 4u);
  auto text = [](const BodyPiece& p) {
    return std::string(reinterpret_cast<const char*>(p.data()), p.size());
  };
  EXPECT_EQ(text(pieces[1]), "head");
  EXPECT_EQ(text(pieces[2]), "part-1");
  EXPECT_EQ(text(pieces[3]), "part-2");
  Response empty(204, "text/plain", "");
  std::deque<BodyPiece> none;
  take_body(empty, none);
  EXPECT_TRUE(none.empty());
}

}  // namespace
}  // namespace mirror::http
