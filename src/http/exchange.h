// One request and its answer. A handler receives a shared Exchange and answers
// it once, now or later, from any thread: with a whole Response, or streamed as
// a head, chunks and an end. Holding an Exchange holds no thread; a parked
// request is just a pointer kept by whoever will answer it.
//
// Transports (HTTP/1.1 today) derive from Exchange and implement the send_*
// hooks, which must hand the work to the connection's own executor.
#pragma once

#include "core/errors.h"
#include "http/message.h"

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace mirror::http {

struct Completion {
  int status = 0;
  std::uint64_t body_bytes = 0;
  std::chrono::steady_clock::duration elapsed{};
  bool aborted = false;  // the transport closed before the answer was fully sent
};

class Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  explicit Exchange(Request request) : request_(std::move(request)) {}
  virtual ~Exchange();
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;

  const Request& request() const { return request_; }
  Request& request() { return request_; }

  // Fields added to whichever response this exchange sends (request id, CORS,
  // Alt-Svc). Set them during dispatch, before anyone answers.
  Headers& response_headers() { return response_headers_; }

  // The route pattern that matched ("/api/v1/streams/{name}"), for metrics.
  const std::string& route() const { return route_; }
  void set_route(std::string route) { route_ = std::move(route); }

  // Answers in one piece. Thread-safe; only the first answer counts.
  void respond(Response response);
  void respond_error(const core::Error& error);

  // Streams an answer whose length is not known yet (chunked in HTTP/1.1).
  // begin() once, write() any number of times, end() once. Thread-safe.
  void begin(int status, Headers headers);
  void write(std::string chunk);
  // A chunk of shared bytes, queued without a copy.
  void write(core::SharedBytes chunk);
  void end();

  bool answered() const { return state_.load(std::memory_order_acquire) != State::kPending; }
  // True once the transport has gone (client left or server stopping).
  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }

  // Runs once if the transport goes away before the answer is complete (on the
  // transport's thread). Lets holders of parked requests drop them early.
  void on_cancel(std::function<void()> callback);
  // Runs once when the answer has been written or abandoned.
  void on_complete(std::function<void(const Completion&)> callback);

 protected:
  virtual void send_response(Response&& response) = 0;
  virtual void send_head(int status, Headers&& headers) = 0;
  virtual void send_chunk(std::string&& chunk) = 0;
  virtual void send_end() = 0;
  // Transports that can queue shared bytes override this; the default copies.
  virtual void send_shared_chunk(core::SharedBytes&& chunk) { send_chunk(std::string(chunk.view())); }

  // For transports: the answer is on the wire (or never will be).
  void finish(int status, std::uint64_t body_bytes, bool aborted);
  // For transports: the peer is gone.
  void cancel();

 private:
  enum class State { kPending, kStreaming, kDone };
  void merge_default_headers(Headers& headers) const;

  Request request_;
  Headers response_headers_;
  std::string route_;
  std::atomic<State> state_{State::kPending};
  std::atomic<bool> cancelled_{false};
  std::atomic<bool> finished_{false};

  std::mutex callbacks_mutex_;
  std::vector<std::function<void()>> cancel_callbacks_;
  std::vector<std::function<void(const Completion&)>> complete_callbacks_;
};

using ExchangePtr = std::shared_ptr<Exchange>;

}  // namespace mirror::http
