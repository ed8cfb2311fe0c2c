#include "http/router.h"

#include "http/middleware.h"
#include "http/pipeline.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace mirror::http {
namespace {

// Records what a handler answered, in place of a network transport.
class RecordingExchange final : public Exchange {
 public:
  explicit RecordingExchange(Request r) : Exchange(std::move(r)) {}
  Response response;
  int head_status = 0;
  std::string chunks;
  bool ended = false;

 protected:
  void send_response(Response&& r) override { response = std::move(r); }
  void send_head(int status, Headers&&) override { head_status = status; }
  void send_chunk(std::string&& c) override { chunks += c; }
  void send_end() override { ended = true; }
};

std::shared_ptr<RecordingExchange> make(std::string method, std::string path) {
  Request r;
  r.method = std::move(method);
  r.path = std::move(path);
  return std::make_shared<RecordingExchange>(std::move(r));
}

Handler answer(std::string body) {
  return [body](const ExchangePtr& ex) { ex->respond(Response(200, "text/plain", body)); };
}

TEST(Router, MatchesLiteralRoutes) {
  Router r;
  r.get("/health", answer("ok"));
  auto ex = make("GET", "/health");
  r.dispatch(ex);
  EXPECT_EQ(ex->response.status, 200);
  EXPECT_EQ(ex->response.body, "ok");
  EXPECT_EQ(ex->route(), "/health");
}

TEST(Router, FillsPathParameters) {
  Router r;
  std::string seen;
  r.get("/api/v1/streams/{name}", [&](const ExchangePtr& ex) {
    seen = std::string(ex->request().path_param("name"));
    ex->respond(Response());
  });
  auto ex = make("GET", "/api/v1/streams/cam-1");
  r.dispatch(ex);
  EXPECT_EQ(seen, "cam-1");
  EXPECT_EQ(ex->route(), "/api/v1/streams/{name}");
}

TEST(Router, RestParameterTakesRemainingSegments) {
  Router r;
  std::string seen;
  r.get("/streams/{name}/{file...}", [&](const ExchangePtr& ex) {
    seen = std::string(ex->request().path_param("file"));
    ex->respond(Response());
  });
  r.dispatch(make("GET", "/streams/cam1/video/seg-1.m4s"));
  EXPECT_EQ(seen, "video/seg-1.m4s");
}

TEST(Router, UnknownPathIsNotFoundJson) {
  Router r;
  r.get("/health", answer("ok"));
  auto ex = make("GET", "/nope");
  r.dispatch(ex);
  EXPECT_EQ(ex->response.status, 404);
  auto j = nlohmann::json::parse(ex->response.body);
  EXPECT_EQ(j["code"], "NOT_FOUND");
  EXPECT_TRUE(j.contains("message"));
  EXPECT_TRUE(j.contains("details"));
}

TEST(Router, WrongMethodIsMethodNotAllowedWithAllow) {
  Router r;
  r.get("/api/v1/streams", answer("list"));
  r.post("/api/v1/streams", answer("made"));
  auto ex = make("DELETE", "/api/v1/streams");
  r.dispatch(ex);
  EXPECT_EQ(ex->response.status, 405);
  EXPECT_EQ(ex->response.headers.get("Allow").value_or(""), "GET, HEAD, POST");
}

TEST(Router, HeadIsServedByGetRoute) {
  Router r;
  r.get("/health", answer("ok"));
  auto ex = make("HEAD", "/health");
  r.dispatch(ex);
  EXPECT_EQ(ex->response.status, 200);
}

TEST(Router, SegmentCountMustMatch) {
  Router r;
  r.get("/a/{b}", answer("x"));
  auto ex = make("GET", "/a/b/c");
  r.dispatch(ex);
  EXPECT_EQ(ex->response.status, 404);
}

TEST(Exchange, OnlyTheFirstAnswerCounts) {
  auto ex = make("GET", "/");
  ex->respond(Response(200, "text/plain", "first"));
  ex->respond(Response(500, "text/plain", "second"));
  ex->begin(201, {});
  EXPECT_EQ(ex->response.body, "first");
  EXPECT_EQ(ex->head_status, 0);
}

TEST(Exchange, DefaultHeadersAreMergedWithoutOverriding) {
  auto ex = make("GET", "/");
  ex->response_headers().set("X-Request-Id", "abc");
  ex->response_headers().set("Cache-Control", "no-store");
  Response r(200, "text/plain", "x");
  r.headers.set("Cache-Control", "max-age=60");
  ex->respond(std::move(r));
  EXPECT_EQ(ex->response.headers.get("X-Request-Id").value_or(""), "abc");
  EXPECT_EQ(ex->response.headers.get("Cache-Control").value_or(""), "max-age=60");
}

TEST(Exchange, StreamsChunksBetweenBeginAndEnd) {
  auto ex = make("GET", "/");
  ex->write("ignored before begin");
  ex->begin(200, {});
  ex->write("a");
  ex->write("");
  ex->write("bc");
  ex->end();
  ex->write("ignored after end");
  EXPECT_EQ(ex->head_status, 200);
  EXPECT_EQ(ex->chunks, "abc");
  EXPECT_TRUE(ex->ended);
}

TEST(Pipeline, FilterCanAnswerAndStopTheChain) {
  Pipeline p;
  bool reached = false;
  p.use([](const ExchangePtr& ex) {
    ex->respond(Response(204, "text/plain", ""));
    return false;
  });
  p.router().get("/", [&](const ExchangePtr&) { reached = true; });
  auto ex = make("GET", "/");
  p.dispatch(ex);
  EXPECT_FALSE(reached);
  EXPECT_EQ(ex->response.status, 204);
}

TEST(Pipeline, HandlerExceptionBecomesInternalError) {
  Pipeline p;
  p.router().get("/", [](const ExchangePtr&) { throw std::runtime_error("boom"); });
  auto ex = make("GET", "/");
  p.dispatch(ex);
  EXPECT_EQ(ex->response.status, 500);
  EXPECT_EQ(nlohmann::json::parse(ex->response.body)["code"], "INTERNAL_ERROR");
}

// Alt-Svc names HTTP/3 on answers to TLS requests over TCP only: not to
// plain HTTP, not to HTTP/3 itself, and not while HTTP/3 is not serving.
TEST(Pipeline, AltSvcOnlyOnAnswersOverTlsOnTcp) {
  int h3_port = 8443;
  Pipeline p;
  p.use(alt_svc_filter([&] { return h3_port; }));
  p.router().get("/x", answer("ok"));
  auto over = [&](const std::string& protocol, bool secure) {
    auto ex = make("GET", "/x");
    ex->request().protocol = protocol;
    ex->request().secure = secure;
    p.dispatch(ex);
    return std::string(ex->response.headers.get("Alt-Svc").value_or(""));
  };
  EXPECT_EQ(over("HTTP/2", true), "h3=\":8443\"; ma=86400");
  EXPECT_EQ(over("HTTP/1.1", true), "h3=\":8443\"; ma=86400");
  EXPECT_EQ(over("HTTP/1.1", false), "");
  EXPECT_EQ(over("HTTP/3", true), "");
  h3_port = 0;
  EXPECT_EQ(over("HTTP/2", true), "");
}

}  // namespace
}  // namespace mirror::http
