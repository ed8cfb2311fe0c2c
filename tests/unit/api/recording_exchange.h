// An Exchange that keeps what a handler or filter answered: a whole
// response, or a streamed head, chunks and end.
#pragma once

#include "http/exchange.h"

#include <string>

namespace mirror::api::testing {

class RecordingExchange final : public http::Exchange {
 public:
  explicit RecordingExchange(http::Request r) : Exchange(std::move(r)) {}
  http::Response response;
  int head_status = 0;
  http::Headers head;
  std::string streamed;
  bool ended = false;

  // The transport goes away (the client left).
  void leave() { cancel(); }

 protected:
  void send_response(http::Response&& r) override { response = std::move(r); }
  void send_head(int status, http::Headers&& h) override {
    head_status = status;
    head = std::move(h);
  }
  void send_chunk(std::string&& chunk) override { streamed += chunk; }
  void send_end() override { ended = true; }
};

}  // namespace mirror::api::testing
