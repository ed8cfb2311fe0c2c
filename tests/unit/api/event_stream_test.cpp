#include "api/event_stream.h"

#include "recording_exchange.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

namespace mirror::api {
namespace {

using testing::RecordingExchange;

std::shared_ptr<RecordingExchange> client(std::string method = "GET") {
  http::Request r;
  r.method = std::move(method);
  r.path = "/api/v1/events";
  return std::make_shared<RecordingExchange>(std::move(r));
}

TEST(EventStream, OneEventIsOneLineOfJson) {
  EXPECT_EQ(sse_event("stream.ended", {{"name", "a\nb"}}), "event: stream.ended\ndata: {\"name\":\"a\\nb\"}\n\n");
  // Invalid UTF-8 in a name from the wire cannot break the frame.
  const auto e = sse_event("x", {{"name", std::string("\xff\n", 2)}});
  EXPECT_EQ(e.find('\n'), e.find("\ndata: "));
}

TEST(EventStream, ClientsGetTheStateThenEveryLaterEvent) {
  auto hub = std::make_shared<EventHub>(10);
  hub->publish({}, sse_event("hello", {{"streams", 0}}));
  auto a = client();
  hub->subscribe(a);
  EXPECT_EQ(a->head_status, 200);
  EXPECT_EQ(a->head.get("Content-Type"), "text/event-stream");
  EXPECT_EQ(a->streamed, "retry: 2000\n\nevent: hello\ndata: {\"streams\":0}\n\n");
  hub->publish({sse_event("stream.added", {{"name", "cam"}})}, sse_event("hello", {{"streams", 1}}));
  auto b = client();
  hub->subscribe(b);
  EXPECT_NE(a->streamed.find("event: stream.added"), std::string::npos);
  EXPECT_EQ(b->streamed.find("event: stream.added"), std::string::npos);
  EXPECT_NE(b->streamed.find("{\"streams\":1}"), std::string::npos);
  EXPECT_EQ(hub->clients(), 2u);
  EXPECT_EQ(hub->events_sent(), 1u);
  // Events without a new state leave the hello as it was.
  hub->publish({sse_event("levels", {{"x", 1}})}, std::nullopt);
  auto c = client();
  hub->subscribe(c);
  EXPECT_NE(c->streamed.find("{\"streams\":1}"), std::string::npos);
  EXPECT_EQ(c->streamed.find("levels"), std::string::npos);
  EXPECT_NE(b->streamed.find("event: levels"), std::string::npos);
  c->leave();

  a->leave();
  EXPECT_EQ(hub->clients(), 1u);
  hub->close();
  EXPECT_TRUE(b->ended);
  auto late = client();
  hub->subscribe(late);
  EXPECT_EQ(late->response.status, 503);
}

TEST(EventStream, ClientsBeyondTheLimitAreRefused) {
  auto hub = std::make_shared<EventHub>(2);
  auto a = client(), b = client(), c = client();
  hub->subscribe(a);
  hub->subscribe(b);
  hub->subscribe(c);
  EXPECT_EQ(c->response.status, 503);
  EXPECT_EQ(nlohmann::json::parse(c->response.body).value("code", ""), "CAPACITY_FULL");
  auto head = client("HEAD");
  b->leave();
  hub->subscribe(head);
  EXPECT_EQ(head->head_status, 200);
  EXPECT_TRUE(head->ended);
  EXPECT_EQ(hub->clients(), 1u);
}

TEST(EventStream, AClientGoneBeforeTheHubIsHarmless) {
  auto a = client();
  {
    auto hub = std::make_shared<EventHub>(2);
    hub->subscribe(a);
  }
  a->leave();  // the hub is gone: nothing to remove it from
  SUCCEED();
}

}  // namespace
}  // namespace mirror::api
