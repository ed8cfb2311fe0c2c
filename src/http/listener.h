// A TCP listener for one HTTP transport: accepts connections on the IoPool,
// keeps them within the connection budget (a short 503 and a close beyond
// it), hands each to a session made by the transport (HTTP/1.1 on a plain
// socket, TLS then HTTP/2 or HTTP/1.1), and drains or closes the sessions
// when the server stops. Counts connections and protocol errors per server.
//
// Threads: start() and stop() from the owning service's thread; the accept
// loop runs on the IoPool; each session lives on the io_context it was
// accepted on and is only touched there (drain and close are posted to it).
#pragma once

#include "core/errors.h"
#include "core/logging.h"
#include "core/metrics.h"
#include "core/service.h"
#include "http/connection_budget.h"
#include "net/io_pool.h"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>

namespace mirror::http {

struct ListenerOptions {
  std::string name = "http";  // label in logs and metrics ("admin", "delivery")
  std::string protocol = "tcp";  // label in logs: "tcp", "tls"
  std::string bind_address = "0.0.0.0";
  int port = 0;  // 0 picks a free port (tests)
  int max_connections = 10000;
  // Shared with the server's other listeners: server.max_connections in all,
  // server.max_connections_per_ip per client address. Null: max_connections
  // for this listener alone.
  std::shared_ptr<ConnectionBudget> budget;
};

class Listener;

// "ip:port" of a connection's peer, or "unknown", for logs and requests.
std::string remote_of(const boost::asio::ip::tcp::socket& socket);

// A connection's place in the budget and in the open-connections gauge; given
// back when released or destroyed.
class ConnectionSlot {
 public:
  ConnectionSlot(std::shared_ptr<Listener> listener, std::string address);
  ~ConnectionSlot() { release(); }
  ConnectionSlot(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(const ConnectionSlot&) = delete;

  void release();
  const std::string& address() const { return address_; }  // IP, no port

 private:
  std::shared_ptr<Listener> listener_;
  std::string address_;
};

// What a transport's connection offers the listener.
class Session {
 public:
  virtual ~Session() = default;
  virtual boost::asio::any_io_executor executor() = 0;
  virtual void start() = 0;
  // Server stopping: finish what is in flight, take nothing new.
  virtual void drain() = 0;
  // Now, whatever is in flight.
  virtual void close() = 0;
};

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  using SessionFactory = std::function<std::shared_ptr<Session>(
      boost::asio::ip::tcp::socket socket, std::unique_ptr<ConnectionSlot> slot)>;

  Listener(net::IoPool& pool, ListenerOptions options, core::MetricsRegistry& metrics, SessionFactory factory);
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // Binds and listens; a port in use is an error naming the port and "tcp".
  core::Status start();
  // Stops accepting and asks every session to finish what is in flight;
  // returns at once (a server with several listeners drains them together).
  void drain(core::Deadline deadline);
  // drain(), then waits for the sessions, closing those still busy at
  // `deadline`.
  void stop(core::Deadline deadline);

  int port() const { return bound_port_; }
  std::size_t open_connections() const;
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }
  const ListenerOptions& options() const { return options_; }

  // A request or connection refused before any handler saw it, by reason
  // ("malformed", "timeout", "rapid_reset"...): counted and logged
  // (rate-limited per reason).
  void count_protocol_error(std::string_view kind, const std::string& remote);

  // Sessions that replace the one the factory made (after a TLS handshake)
  // are tracked too, so that stop() reaches them.
  void track(const std::shared_ptr<Session>& session);

 private:
  friend class ConnectionSlot;
  void accept_next();
  void on_accepted(boost::asio::ip::tcp::socket socket);
  void give_back(const std::string& address);
  template <typename Fn>
  void for_each_session(Fn fn);

  net::IoPool& pool_;
  ListenerOptions options_;
  SessionFactory factory_;
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> stopped_{false};
  std::atomic<int> open_{0};
  int bound_port_ = 0;

  std::mutex sessions_mutex_;
  std::list<std::weak_ptr<Session>> sessions_;

  core::Gauge* open_gauge_ = nullptr;
  core::Counter* accepted_ = nullptr;
  core::Counter* refused_ = nullptr;
  core::CounterFamily* protocol_errors_ = nullptr;
  core::log::LogLimiter accept_errors_{std::chrono::seconds(5)};
  core::log::KeyedLogLimiter protocol_log_{std::chrono::seconds(10)};
  core::log::KeyedLogLimiter refusal_log_{std::chrono::seconds(10)};
};

}  // namespace mirror::http
