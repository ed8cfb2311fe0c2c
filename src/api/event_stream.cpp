#include "api/event_stream.h"

#include "core/errors.h"
#include "core/shared_bytes.h"
#include "http/message.h"

namespace mirror::api {

std::string sse_event(std::string_view name, const nlohmann::json& data) {
  std::string out;
  out.reserve(name.size() + 16);
  out += "event: ";
  out += name;
  out += "\ndata: ";
  // dump() escapes control characters, so the data is one line.
  out += data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  out += "\n\n";
  return out;
}

EventHub::EventHub(std::size_t max_clients) : max_clients_(max_clients) {}

void EventHub::subscribe(const http::ExchangePtr& ex) {
  std::uint64_t id = 0;
  {
    std::lock_guard lock(mutex_);
    if (closed_) {
      ex->respond_error(core::Error(core::ErrorCode::kServiceUnavailable, "the server is stopping"));
      return;
    }
    if (clients_.size() >= max_clients_) {
      ex->respond_error(core::Error(core::ErrorCode::kCapacityFull, "too many event streams open",
                                    {{"max", std::to_string(max_clients_)}}));
      return;
    }
    http::Headers headers;
    headers.set("Content-Type", "text/event-stream");
    headers.set("Cache-Control", "no-store");
    // Proxies that buffer answers (nginx) pass this one through at once.
    headers.set("X-Accel-Buffering", "no");
    ex->begin(200, std::move(headers));
    if (ex->request().method == "HEAD") {
      ex->end();
      return;
    }
    // A client that loses the connection comes back after 2 s.
    ex->write(std::string("retry: 2000\n\n") + hello_);
    id = next_id_++;
    clients_.emplace(id, ex);
  }
  // Outside the lock: a transport already gone runs the callback at once.
  ex->on_cancel([weak = weak_from_this(), id] {
    if (auto hub = weak.lock()) hub->remove(id);
  });
}

void EventHub::publish(const std::vector<std::string>& events, std::optional<std::string> hello) {
  std::string joined;
  for (const auto& e : events) joined += e;
  auto bytes = core::SharedBytes::from_string(std::move(joined));
  std::lock_guard lock(mutex_);
  if (hello) hello_ = std::move(*hello);
  if (bytes.size() == 0) return;
  for (const auto& [id, ex] : clients_) ex->write(bytes);
  events_sent_ += events.size() * clients_.size();
}

void EventHub::close() {
  std::map<std::uint64_t, http::ExchangePtr> clients;
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    clients.swap(clients_);
  }
  for (const auto& [id, ex] : clients) ex->end();
}

void EventHub::remove(std::uint64_t id) {
  http::ExchangePtr ex;
  std::lock_guard lock(mutex_);
  if (auto it = clients_.find(id); it != clients_.end()) {
    ex = std::move(it->second);
    clients_.erase(it);
  }
}

std::size_t EventHub::clients() const {
  std::lock_guard lock(mutex_);
  return clients_.size();
}

std::uint64_t EventHub::events_sent() const {
  std::lock_guard lock(mutex_);
  return events_sent_;
}

void register_event_route(http::Router& router, std::string_view path, std::shared_ptr<EventHub> hub) {
  router.get(path, [hub = std::move(hub)](const http::ExchangePtr& ex) { hub->subscribe(ex); });
}

}  // namespace mirror::api
