// The stream admin API of the real binary: list, inspect, declare by SDP,
// end, and its answers to bad requests.
#include "mirror_fixture.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace mirror::testing {
namespace {

const char* kSdp =
    "v=0\r\n"
    "o=- 0 0 IN IP4 127.0.0.1\r\n"
    "s=cam\r\n"
    "c=IN IP4 127.0.0.1\r\n"
    "t=0 0\r\n"
    "m=video PORT RTP/AVP 96\r\n"
    "a=rtpmap:96 H264/90000\r\n"
    "a=fmtp:96 packetization-mode=1; sprop-parameter-sets=Z0LAHtkDxWhAAAADAEAAAAwDxYuS,aMuMsg==\r\n";

std::string sdp_with_port(int port) {
  std::string s = kSdp;
  s.replace(s.find("PORT"), 4, std::to_string(port));
  return s;
}

class StreamApi : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    instance_ = new MirrorInstance();
    ASSERT_TRUE(instance_->wait_ready()) << instance_->process().stderr_text();
  }
  static void TearDownTestSuite() {
    delete instance_;
    instance_ = nullptr;
  }
  int port() const { return instance_->ports().admin; }
  HttpReply post(const std::string& body, const std::string& type = "application/json") {
    return http_request(port(), "POST", "/api/v1/streams", {{"Content-Type", type}}, body);
  }
  static MirrorInstance* instance_;
};

MirrorInstance* StreamApi::instance_ = nullptr;

TEST_F(StreamApi, ListIsEmptyAtFirst) {
  auto r = http_get(port(), "/api/v1/streams");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(nlohmann::json::parse(r.body)["streams"].is_array());
}

TEST_F(StreamApi, UnknownStreamIsNotFoundJson) {
  auto r = http_get(port(), "/api/v1/streams/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(nlohmann::json::parse(r.body)["code"], "NOT_FOUND");
  EXPECT_EQ(http_request(port(), "DELETE", "/api/v1/streams/nope").status, 404);
  EXPECT_EQ(http_get(port(), "/api/v1/streams/bad%20name").status, 404);
}

TEST_F(StreamApi, DeclareInspectAndEndAnSdpStream) {
  const int media_port = free_tcp_udp_port() & ~1;
  auto r = post(nlohmann::json{{"name", "declared1"}, {"sdp", sdp_with_port(media_port)}}.dump());
  ASSERT_EQ(r.status, 201) << r.body;
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["ports"][0], media_port);
  auto one = http_get(port(), "/api/v1/streams/declared1");
  ASSERT_EQ(one.status, 200);
  auto d = nlohmann::json::parse(one.body);
  EXPECT_EQ(d["state"], "connecting");
  EXPECT_EQ(d["protocol"], "rtp");
  // A second declaration of the same name is a conflict.
  EXPECT_EQ(post(nlohmann::json{{"name", "declared1"}, {"sdp", sdp_with_port(media_port + 2)}}.dump())
                .status,
            409);
  EXPECT_EQ(http_request(port(), "DELETE", "/api/v1/streams/declared1").status, 200);
  EXPECT_EQ(http_get(port(), "/api/v1/streams/declared1").status, 404);
}

TEST_F(StreamApi, BadBodiesAreRejectedWithJson) {
  EXPECT_EQ(post("{not json").status, 400);
  EXPECT_EQ(post("[1,2]").status, 400);
  EXPECT_EQ(post("{}").status, 400);
  EXPECT_EQ(post(R"({"name": "x y", "sdp": "v=0"})").status, 400);
  EXPECT_EQ(post(R"({"name": "ok"})").status, 400);
  EXPECT_EQ(post(R"({"name": "ok", "sdp": 5})").status, 400);
  EXPECT_EQ(post(R"({"name": "ok", "ssrc": "zz"})").status, 400);
  EXPECT_EQ(post(R"({"name": "ok", "ssrc": 99999999999})").status, 400);
  EXPECT_EQ(post(R"({"name": "x"})", "text/plain").status, 400);
  auto malformed = post(nlohmann::json{{"name", "bad-sdp"}, {"sdp", "v=0\r\nm=video x RTP/AVP 96\r\n"}}.dump());
  EXPECT_EQ(malformed.status, 400);
  auto j = nlohmann::json::parse(malformed.body);
  EXPECT_EQ(j["code"], "INVALID_INPUT");
  EXPECT_FALSE(j["message"].get<std::string>().empty());
}

TEST_F(StreamApi, SsrcCanBeNamed) {
  EXPECT_EQ(post(R"({"name": "studio", "ssrc": "0x1234abcd"})").status, 201);
  EXPECT_EQ(post(R"({"name": "studio2", "ssrc": 305419896})").status, 201);
}

}  // namespace
}  // namespace mirror::testing
