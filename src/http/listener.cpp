#include "http/listener.h"

#include "http/h1_wire.h"
#include "http/message.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <future>
#include <thread>
#include <vector>

namespace mirror::http {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

std::string remote_of(const tcp::socket& socket) {
  error_code ec;
  const auto ep = socket.remote_endpoint(ec);
  return ec ? "unknown" : ep.address().to_string() + ":" + std::to_string(ep.port());
}

ConnectionSlot::ConnectionSlot(std::shared_ptr<Listener> listener, std::string address)
    : listener_(std::move(listener)), address_(std::move(address)) {}

void ConnectionSlot::release() {
  if (!listener_) return;
  listener_->give_back(address_);
  listener_.reset();
}

namespace {

// Over the connection limit: a short 503 and a close, without reading
// anything. Plain HTTP/1.1 even on a TLS port: the client gets a handshake
// error there, which is as good as a refusal, and no TLS work is spent.
void refuse(tcp::socket socket, bool per_address) {
  auto sock = std::make_shared<tcp::socket>(std::move(socket));
  Headers h;
  h.set("Content-Type", "application/json");
  h.set("Retry-After", "1");
  auto body = std::make_shared<std::string>(
      core::Error(core::ErrorCode::kCapacityFull,
                  per_address ? "too many connections from this address" : "too many connections")
          .to_json_string());
  auto bytes = std::make_shared<std::string>(
      serialize_head(503, h, Framing::content_length(body->size()), false) + *body);
  // The reply fits the socket buffer of a fresh connection, so this completes
  // at once; the socket is closed either way.
  asio::async_write(*sock, asio::buffer(*bytes), [sock, bytes](error_code, std::size_t) {
    error_code ec;
    sock->shutdown(tcp::socket::shutdown_send, ec);
    sock->close(ec);
  });
}

}  // namespace

Listener::Listener(net::IoPool& pool, ListenerOptions options, core::MetricsRegistry& metrics,
                   SessionFactory factory)
    : pool_(pool), options_(std::move(options)), factory_(std::move(factory)) {
  const std::string& n = options_.name;
  open_gauge_ = &metrics.gauge("mirror_http_open_connections", "Open HTTP connections", {"server"}).with({n});
  accepted_ = &metrics.counter("mirror_http_connections_total", "HTTP connections accepted", {"server"}).with({n});
  refused_ = &metrics
                  .counter("mirror_http_connections_refused_total",
                           "HTTP connections refused over server.max_connections", {"server"})
                  .with({n});
  protocol_errors_ = &metrics.counter("mirror_http_protocol_errors_total",
                                      "HTTP requests rejected before reaching a handler, by reason",
                                      {"server", "reason"});
}

void Listener::count_protocol_error(std::string_view kind, const std::string& remote) {
  protocol_errors_->with({options_.name, std::string(kind)}).inc();
  protocol_log_.log(std::string(kind), core::log::Level::kInfo, "rejected http request",
                    {{"server", options_.name}, {"reason", kind}, {"remote", remote}});
}

void Listener::give_back(const std::string& address) {
  if (options_.budget) options_.budget->release(address);
  open_.fetch_sub(1, std::memory_order_relaxed);
  open_gauge_->dec();
}

std::size_t Listener::open_connections() const {
  return static_cast<std::size_t>(std::max(0, open_.load()));
}

void Listener::track(const std::shared_ptr<Session>& session) {
  std::lock_guard lock(sessions_mutex_);
  // Forget sessions that are gone while we are here, keeping the list short.
  std::erase_if(sessions_, [](const auto& w) { return w.expired(); });
  sessions_.push_back(session);
}

void Listener::accept_next() {
  if (stopping()) return;
  auto& ctx = pool_.next();
  acceptor_->async_accept(ctx, [self = shared_from_this()](error_code ec, tcp::socket socket) {
    if (self->stopping()) return;
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      self->accept_errors_.log(core::log::Level::kWarn, "accept failed",
                               {{"server", self->options_.name}, {"error", ec.message()}});
      // Out of descriptors or similar: pause briefly instead of spinning.
      auto timer = std::make_shared<asio::steady_timer>(self->acceptor_->get_executor(),
                                                        std::chrono::milliseconds(50));
      timer->async_wait([self, timer](error_code) { self->accept_next(); });
      return;
    }
    self->on_accepted(std::move(socket));
    self->accept_next();
  });
}

void Listener::on_accepted(tcp::socket socket) {
  error_code peer_ec;
  const auto peer = socket.remote_endpoint(peer_ec);
  std::string address = peer_ec ? std::string("unknown") : peer.address().to_string();
  ConnectionBudget::Verdict verdict = ConnectionBudget::Verdict::kAccepted;
  if (options_.budget) {
    verdict = options_.budget->acquire(address);
  } else if (open_.load(std::memory_order_relaxed) >= options_.max_connections) {
    verdict = ConnectionBudget::Verdict::kServerFull;
  }
  if (verdict != ConnectionBudget::Verdict::kAccepted) {
    const bool per_address = verdict == ConnectionBudget::Verdict::kAddressFull;
    refused_->inc();
    refusal_log_.log(per_address ? "address" : "server", core::log::Level::kWarn, "http connection refused",
                     {{"server", options_.name},
                      {"limit", per_address ? "server.max_connections_per_ip" : "server.max_connections"},
                      {"remote", address}});
    refuse(std::move(socket), per_address);
    return;
  }
  open_.fetch_add(1, std::memory_order_relaxed);
  open_gauge_->inc();
  accepted_->inc();
  auto slot = std::make_unique<ConnectionSlot>(shared_from_this(), std::move(address));
  auto session = factory_(std::move(socket), std::move(slot));
  if (!session) return;
  track(session);
  asio::post(session->executor(), [session] { session->start(); });
}

core::Status Listener::start() {
  error_code ec;
  auto address = asio::ip::make_address(options_.bind_address, ec);
  if (ec) return core::Error(core::ErrorCode::kInvalidInput, "invalid bind address " + options_.bind_address);
  tcp::endpoint ep(address, static_cast<unsigned short>(options_.port));
  auto acceptor = std::make_unique<tcp::acceptor>(pool_.next());
  acceptor->open(ep.protocol(), ec);
  if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor->bind(ep, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return core::Error(core::ErrorCode::kServiceUnavailable,
                       options_.name + " server cannot listen on tcp port " + std::to_string(options_.port) +
                           ": " + ec.message(),
                       {{"port", options_.port}, {"protocol", "tcp"}});
  }
  bound_port_ = acceptor->local_endpoint().port();
  acceptor_ = std::move(acceptor);
  accept_next();
  core::log::info("http server listening", {{"server", options_.name},
                                            {"address", options_.bind_address},
                                            {"port", bound_port_},
                                            {"protocol", options_.protocol}});
  return core::Ok{};
}

template <typename Fn>
void Listener::for_each_session(Fn fn) {
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard lock(sessions_mutex_);
    for (auto& w : sessions_) {
      if (auto p = w.lock()) live.push_back(std::move(p));
    }
  }
  for (auto& p : live) asio::post(p->executor(), [p, fn] { fn(*p); });
}

void Listener::drain(core::Deadline deadline) {
  if (stopping_.exchange(true)) return;
  if (acceptor_) {
    // The wait may end (at the deadline) before the close has run: the
    // posted work owns what it touches.
    auto closed = std::make_shared<std::promise<void>>();
    auto done = closed->get_future();
    asio::post(acceptor_->get_executor(), [self = shared_from_this(), closed] {
      error_code ec;
      self->acceptor_->close(ec);
      closed->set_value();
    });
    done.wait_until(deadline);
  }
  for_each_session([](Session& session) { session.drain(); });
}

void Listener::stop(core::Deadline deadline) {
  drain(deadline);
  if (stopped_.exchange(true)) return;
  while (open_.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (open_.load() > 0) {
    core::log::warn("closing connections still busy at the shutdown deadline",
                    {{"server", options_.name}, {"connections", open_.load()}});
    for_each_session([](Session& session) { session.close(); });
    auto grace = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
    while (open_.load() > 0 && std::chrono::steady_clock::now() < grace) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
}

}  // namespace mirror::http
