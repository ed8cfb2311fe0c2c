// The HTTP/1.1 transport on a real loopback socket, in process.
#include "http/h1_server.h"

#include "http/middleware.h"
#include "support/http_client.h"
#include "support/process.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sys/socket.h>

#include <future>
#include <thread>

namespace mirror::http {
namespace {

using testing::RawConnection;
using namespace std::chrono_literals;

class H1ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    core::log::init({core::log::Level::kError, false, nullptr});
    pipeline_.use(request_id_filter());
    pipeline_.use(route_metrics_filter(metrics_, "test"));
    pipeline_.use(cors_filter());
    auto& r = pipeline_.router();
    r.get("/hello", [](const ExchangePtr& ex) {
      ex->respond(Response(200, "text/plain", "hello"));
    });
    r.post("/echo", [](const ExchangePtr& ex) {
      ex->respond(Response(200, "text/plain", ex->request().body));
    });
    r.get("/held", [this](const ExchangePtr& ex) {
      std::lock_guard lock(held_mutex_);
      held_.push_back(ex);
    });
    r.get("/stream", [](const ExchangePtr& ex) {
      // Answer from another thread, in pieces.
      std::thread([ex] {
        ex->begin(200, {});
        for (int i = 0; i < 5; ++i) ex->write(std::string(1000, static_cast<char>('a' + i)));
        ex->end();
      }).detach();
    });
    r.get("/dropped", [](const ExchangePtr&) {});
  }

  void start(H1ServerOptions opts = {}) {
    opts.name = "test";
    opts.bind_address = "127.0.0.1";
    opts.port = 0;
    server_ = std::make_unique<H1Server>(pool_, pipeline_, opts, metrics_);
    pool_.start();
    ASSERT_TRUE(server_->start());
    port_ = server_->port();
  }

  void TearDown() override {
    if (server_) server_->stop(std::chrono::steady_clock::now() + 2s);
    {
      std::lock_guard lock(held_mutex_);
      held_.clear();
    }
    pool_.stop();
  }

  std::size_t held_count() {
    std::lock_guard lock(held_mutex_);
    return held_.size();
  }

  net::IoPool pool_{2};
  core::MetricsRegistry metrics_;
  Pipeline pipeline_;
  std::unique_ptr<H1Server> server_;
  int port_ = 0;
  std::mutex held_mutex_;
  std::vector<ExchangePtr> held_;
};

TEST_F(H1ServerTest, AnswersAndKeepsTheConnectionAlive) {
  start();
  RawConnection c(port_);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = c.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "hello");
    EXPECT_EQ(r->header("connection"), "keep-alive");
    EXPECT_FALSE(r->header("x-request-id").empty());
    EXPECT_EQ(r->header("access-control-allow-origin"), "*");
  }
}

TEST_F(H1ServerTest, AnswersPipelinedRequestsInOrder) {
  start();
  RawConnection c(port_);
  ASSERT_TRUE(c.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo HTTP/1.1\r\nHost: x\r\n"
                     "Content-Length: 3\r\n\r\nabc"));
  EXPECT_EQ(c.read_reply()->body, "hello");
  EXPECT_EQ(c.read_reply()->body, "abc");
}

TEST_F(H1ServerTest, HeadGetsHeadersWithoutBody) {
  start();
  RawConnection c(port_);
  ASSERT_TRUE(c.send("HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  // The HEAD reply carries Content-Length 5 but no body, so the next reply
  // must parse right after it.
  std::string all;
  auto deadline = std::chrono::steady_clock::now() + 5s;
  char buf[4096];
  while (all.find("hello") == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    ssize_t n = recv(c.fd(), buf, sizeof buf, 0);
    if (n <= 0) break;
    all.append(buf, static_cast<std::size_t>(n));
  }
  auto first_end = all.find("\r\n\r\n");
  ASSERT_NE(first_end, std::string::npos);
  EXPECT_NE(all.substr(0, first_end).find("Content-Length: 5"), std::string::npos);
  EXPECT_EQ(all.compare(first_end + 4, 8, "HTTP/1.1"), 0);
}

TEST_F(H1ServerTest, HeldRequestIsAnsweredLaterFromAnotherThread) {
  start();
  auto fut = std::async(std::launch::async, [this] {
    RawConnection c(port_);
    c.send("GET /held HTTP/1.1\r\nHost: x\r\n\r\n");
    return c.read_reply(5s);
  });
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (held_count() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_EQ(held_count(), 1u);
  // Nothing arrives while it is held.
  EXPECT_EQ(fut.wait_for(100ms), std::future_status::timeout);
  std::thread([this] {
    std::lock_guard lock(held_mutex_);
    held_[0]->respond(Response(200, "text/plain", "later"));
  }).join();
  auto r = fut.get();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "later");
}

TEST_F(H1ServerTest, ManyHeldRequestsHoldNoThreads) {
  start();
  constexpr int kClients = 200;
  std::vector<std::unique_ptr<RawConnection>> conns;
  for (int i = 0; i < kClients; ++i) {
    conns.push_back(std::make_unique<RawConnection>(port_));
    conns.back()->send("GET /held HTTP/1.1\r\nHost: x\r\n\r\n");
  }
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (held_count() < kClients && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_EQ(held_count(), static_cast<std::size_t>(kClients));
  // Two event-loop threads hold 200 requests and still serve others.
  auto r = testing::http_get(port_, "/hello");
  EXPECT_EQ(r.status, 200);
  {
    std::lock_guard lock(held_mutex_);
    for (auto& ex : held_) ex->respond(Response(200, "text/plain", "released"));
  }
  for (auto& c : conns) {
    auto reply = c->read_reply(5s);
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->body, "released");
  }
}

TEST_F(H1ServerTest, StreamsChunkedBody) {
  start();
  RawConnection c(port_);
  c.send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
  auto r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("transfer-encoding"), "chunked");
  ASSERT_EQ(r->body.size(), 5000u);
  EXPECT_EQ(r->body[0], 'a');
  EXPECT_EQ(r->body[4999], 'e');
  // The connection stays usable after a chunked answer.
  c.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(c.read_reply()->body, "hello");
}

TEST_F(H1ServerTest, RequestDroppedByHandlerGetsInternalError) {
  start();
  auto r = testing::http_get(port_, "/dropped");
  EXPECT_EQ(r.status, 500);
}

TEST_F(H1ServerTest, GarbageRequestLineIsBadRequestAndClosed) {
  start();
  RawConnection c(port_);
  c.send("\x01\x02 garbage \xff\r\n\r\n");
  auto r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(nlohmann::json::parse(r->body)["code"], "INVALID_INPUT");
  EXPECT_TRUE(c.wait_closed(2s));
}

TEST_F(H1ServerTest, PathTraversalIsBadRequest) {
  start();
  EXPECT_EQ(testing::http_get(port_, "/streams/../../etc/passwd").status, 400);
}

TEST_F(H1ServerTest, OversizedHeaderIsRejected) {
  start();
  RawConnection c(port_);
  c.send("GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(64 * 1024, 'a') + "\r\n\r\n");
  auto r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
}

TEST_F(H1ServerTest, TooManyHeaderFieldsAreRejected) {
  H1ServerOptions o;
  o.header_limit = 1024 * 1024;  // let the count rule, not the size rule, fire
  start(o);
  std::string req = "GET /hello HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 10000; ++i) req += "X-" + std::to_string(i) + ": 1\r\n";
  req += "\r\n";
  RawConnection c(port_);
  c.send(req);
  auto r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
}

TEST_F(H1ServerTest, OversizedBodyIsRejected) {
  H1ServerOptions o;
  o.body_limit = 1024;
  start(o);
  RawConnection c(port_);
  c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" +
         std::string(100000, 'x'));
  auto r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
}

TEST_F(H1ServerTest, SlowClientIsCutOffWithoutDelayingOthers) {
  H1ServerOptions o;
  o.read_timeout = 1s;
  start(o);
  RawConnection slow(port_);
  slow.send("GET /hel");
  // Others are served while the slow one dawdles.
  EXPECT_EQ(testing::http_get(port_, "/hello").status, 200);
  // Keep trickling; the whole request is due within the read timeout.
  for (int i = 0; i < 10 && slow.send("l"); ++i) std::this_thread::sleep_for(200ms);
  EXPECT_TRUE(slow.wait_closed(3s));
  // Counted by the session's read handler, which may run after the close.
  EXPECT_TRUE(testing::eventually([&] { return metrics_.render().find("reason=\"timeout\"") != std::string::npos; },
                                  5s));
}

TEST_F(H1ServerTest, IdleKeepAliveConnectionIsClosed) {
  H1ServerOptions o;
  o.read_timeout = 500ms;
  start(o);
  RawConnection c(port_);
  c.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(c.read_reply());
  EXPECT_TRUE(c.wait_closed(3s));
}

TEST_F(H1ServerTest, ConnectionsBeyondTheLimitAreRefusedCleanly) {
  H1ServerOptions o;
  o.max_connections = 3;
  start(o);
  std::vector<std::unique_ptr<RawConnection>> open;
  for (int i = 0; i < 3; ++i) {
    open.push_back(std::make_unique<RawConnection>(port_));
    open.back()->send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(open.back()->read_reply());
  }
  RawConnection extra(port_);
  auto r = extra.read_reply(3s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(nlohmann::json::parse(r->body)["code"], "CAPACITY_FULL");
  EXPECT_TRUE(extra.wait_closed(2s));
  // The connections already open keep working.
  open[0]->send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(open[0]->read_reply()->status, 200);
  EXPECT_NE(metrics_.render().find("mirror_http_connections_refused_total{server=\"test\"} 1"),
            std::string::npos);
}

TEST_F(H1ServerTest, CorsPreflightIsAnswered) {
  start();
  auto r = testing::http_request(port_, "OPTIONS", "/hello",
                                 {{"Origin", "http://player"}, {"Access-Control-Request-Method", "GET"}});
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.header("access-control-allow-origin"), "*");
  EXPECT_NE(r.header("access-control-allow-methods").find("GET"), std::string::npos);
}

TEST_F(H1ServerTest, ClientRequestIdIsEchoedWhenSane) {
  start();
  EXPECT_EQ(testing::http_request(port_, "GET", "/hello", {{"X-Request-Id", "abc-123"}})
                .header("x-request-id"),
            "abc-123");
  EXPECT_NE(testing::http_request(port_, "GET", "/hello", {{"X-Request-Id", "bad id!"}})
                .header("x-request-id"),
            "bad id!");
}

TEST_F(H1ServerTest, PortInUseNamesPortAndProtocol) {
  start();
  H1ServerOptions o;
  o.bind_address = "127.0.0.1";
  o.port = port_;
  H1Server second(pool_, pipeline_, o, metrics_);
  auto st = second.start();
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find(std::to_string(port_)), std::string::npos);
  EXPECT_NE(st.error().message.find("tcp"), std::string::npos);
}

TEST_F(H1ServerTest, StopClosesIdleConnectionsAndFinishesBusyOnes) {
  start();
  RawConnection idle(port_);
  idle.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(idle.read_reply());
  RawConnection busy(port_);
  busy.send("GET /held HTTP/1.1\r\nHost: x\r\n\r\n");
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (held_count() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_EQ(held_count(), 1u);
  // The answer goes once the stop has reached the connections (the idle one
  // is closed then), so it must carry `Connection: close`.
  std::atomic<bool> idle_closed{false};
  std::thread answer([&] {
    idle_closed = idle.wait_closed(3s);
    std::lock_guard lock(held_mutex_);
    held_[0]->respond(Response(200, "text/plain", "finished"));
  });
  server_->stop(std::chrono::steady_clock::now() + 5s);
  answer.join();
  EXPECT_TRUE(idle_closed);
  auto r = busy.read_reply(1s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "finished");
  EXPECT_EQ(r->header("connection"), "close");
  EXPECT_EQ(server_->open_connections(), 0u);
}

}  // namespace
}  // namespace mirror::http
