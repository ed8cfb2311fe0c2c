// Server-sent events (text/event-stream) to many clients at once: the
// dashboards' GET /api/v1/events. A client first gets the current state as
// one "hello" event, then every event published after it, in order; an
// event is formatted once and the same bytes are queued to every client
// without a copy.
//
// Limits: at most `max_clients` streams at once (503 JSON beyond). A client
// that stops reading is closed by its transport after server.write_timeout,
// which bounds what waits for it to a few events.
//
// Threads: thread-safe (one mutex); publish() runs on the publisher's
// thread, subscribe() on an event-loop thread, and a client's end on its
// transport's thread.
#pragma once

#include "http/exchange.h"
#include "http/router.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mirror::api {

// One event as SSE text: "event: NAME\ndata: JSON\n\n" (JSON has no newline).
std::string sse_event(std::string_view name, const nlohmann::json& data);

// Shared: a client's end reaches the hub through a weak pointer.
class EventHub : public std::enable_shared_from_this<EventHub> {
 public:
  explicit EventHub(std::size_t max_clients = 2000);

  // Answers `ex` with an event stream that begins with the current hello.
  void subscribe(const http::ExchangePtr& ex);

  // Queues `events` (sse_event() texts) to every client and makes `hello`
  // (when given) the state that a client subscribing from now on begins with.
  void publish(const std::vector<std::string>& events, std::optional<std::string> hello);

  // Ends every stream (shutdown); later subscribers get 503.
  void close();

  std::size_t clients() const;
  std::uint64_t events_sent() const;

 private:
  void remove(std::uint64_t id);

  const std::size_t max_clients_;
  mutable std::mutex mutex_;
  bool closed_ = false;
  std::string hello_;
  std::uint64_t next_id_ = 1;
  std::uint64_t events_sent_ = 0;
  std::map<std::uint64_t, http::ExchangePtr> clients_;
};

// GET `path` (/api/v1/events on the admin server, /streams/events on the
// delivery port) answers with `hub`'s event stream.
void register_event_route(http::Router& router, std::string_view path, std::shared_ptr<EventHub> hub);

}  // namespace mirror::api
