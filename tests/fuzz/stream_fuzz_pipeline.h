// What the HTTP/2 and HTTP/3 session fuzz targets share: a pipeline whose
// routes answer at once (/a, and POST /a echoing the body), stream a body
// in pieces (/s), hold the request until the harness answers it (/held) or
// drop it without an answer (/drop); a count of the requests a handler saw
// and that are not finished yet; and a loop runner.
#pragma once

#include "http/pipeline.h"

#include <boost/asio/io_context.hpp>

#include <cstdlib>
#include <string>
#include <vector>

namespace mirror::fuzzing {

inline void require(bool condition) {
  if (!condition) std::abort();
}

inline std::vector<http::ExchangePtr>& held() {
  static std::vector<http::ExchangePtr> requests;
  return requests;
}

// Requests seen by a handler and not finished yet.
inline int& unfinished() {
  static int count = 0;
  return count;
}

inline const http::Pipeline& pipeline() {
  static const http::Pipeline* p = [] {
    auto* pipeline = new http::Pipeline;
    pipeline->use([](const http::ExchangePtr& ex) {
      ++unfinished();
      ex->on_complete([](const http::Completion&) { --unfinished(); });
      return true;
    });
    auto& r = pipeline->router();
    r.get("/a", [](const http::ExchangePtr& ex) {
      ex->respond(http::Response(200, "text/plain", "answer"));
    });
    r.post("/a", [](const http::ExchangePtr& ex) {
      ex->respond(http::Response(200, "text/plain", ex->request().body));
    });
    r.get("/s", [](const http::ExchangePtr& ex) {
      ex->begin(200, {});
      ex->write(std::string(20000, 'x'));
      ex->write(core::SharedBytes::from_string(std::string(70000, 'y')));
      ex->end();
    });
    r.get("/held", [](const http::ExchangePtr& ex) { held().push_back(ex); });
    r.get("/drop", [](const http::ExchangePtr&) {});
    return pipeline;
  }();
  return *p;
}

// The parts held requests waited for arrive.
inline void answer_held() {
  for (auto& ex : held()) ex->respond(http::Response(200, "video/mp4", "part"));
  held().clear();
}

// Runs what is ready, as often as it takes for nothing more to be ready.
inline void settle(boost::asio::io_context& io) {
  for (int i = 0; i < 10000; ++i) {
    io.restart();
    if (io.poll() == 0) return;
  }
}

}  // namespace mirror::fuzzing
