#include "http/h1_server.h"

#include "http/h1_wire.h"
#include "http/target.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include <deque>
#include <future>
#include <list>
#include <mutex>
#include <thread>

namespace mirror::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

class H1Session;

struct H1Server::Shared {
  net::IoPool& pool;
  const Pipeline& pipeline;
  H1ServerOptions options;

  std::unique_ptr<tcp::acceptor> acceptor;
  std::atomic<bool> stopping{false};
  std::atomic<int> open{0};
  int bound_port = 0;

  std::mutex sessions_mutex;
  std::list<std::weak_ptr<H1Session>> sessions;

  core::Gauge* open_gauge = nullptr;
  core::Counter* accepted = nullptr;
  core::Counter* refused = nullptr;
  core::CounterFamily* protocol_errors = nullptr;
  core::log::LogLimiter accept_errors{std::chrono::seconds(5)};
  core::log::KeyedLogLimiter protocol_log{std::chrono::seconds(10)};
  core::log::KeyedLogLimiter refusal_log{std::chrono::seconds(10)};

  Shared(net::IoPool& p, const Pipeline& pl, H1ServerOptions o)
      : pool(p), pipeline(pl), options(std::move(o)) {}

  void count_protocol_error(std::string_view kind, const std::string& remote) {
    protocol_errors->with({options.name, std::string(kind)}).inc();
    protocol_log.log(std::string(kind), core::log::Level::kInfo, "rejected http request",
                     {{"server", options.name}, {"reason", kind}, {"remote", remote}});
  }
};

namespace {

// The exchange of one HTTP/1.1 request; forwards answers to its connection.
class H1Exchange final : public Exchange {
 public:
  H1Exchange(Request request, std::shared_ptr<H1Session> session, asio::any_io_executor executor)
      : Exchange(std::move(request)), session_(std::move(session)), executor_(std::move(executor)) {}
  ~H1Exchange() override;

  void transport_finished(int status, std::uint64_t bytes, bool aborted) {
    finish(status, bytes, aborted);
  }
  void transport_cancelled() { cancel(); }
  std::shared_ptr<H1Exchange> self();

 protected:
  void send_response(Response&& response) override;
  void send_head(int status, Headers&& headers) override;
  void send_chunk(std::string&& chunk) override;
  void send_shared_chunk(core::SharedBytes&& chunk) override;
  void send_end() override;

 private:
  std::shared_ptr<H1Session> session_;
  asio::any_io_executor executor_;
};

}  // namespace

class H1Session : public std::enable_shared_from_this<H1Session> {
 public:
  H1Session(std::shared_ptr<H1Server::Shared> shared, tcp::socket socket, std::string address)
      : shared_(std::move(shared)), stream_(std::move(socket)), address_(std::move(address)) {
    error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    remote_ = ec ? "unknown" : ep.address().to_string() + ":" + std::to_string(ep.port());
    stream_.socket().set_option(tcp::no_delay(true), ec);
  }

  ~H1Session() { release_slot(); }

  asio::any_io_executor executor() { return stream_.get_executor(); }

  void start() { read_request(); }

  // Server stopping: an idle connection closes now; a busy one after its answer.
  void drain() {
    draining_ = true;
    if (reading_ && !parser_->got_some()) close();
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
    std::shared_ptr<H1Exchange> ex = answering_ ? std::move(answering_) : pending_.lock();
    pending_.reset();
    if (ex) {
      ex->transport_cancelled();
      ex->transport_finished(status_, body_bytes_, true);
    }
    release_slot();
  }

  // --- answers, always run on this connection's executor ---

  void write_response(std::shared_ptr<H1Exchange> ex, Response&& r) {
    if (closed_) return;
    answering_ = std::move(ex);
    status_ = r.status;
    const bool bodyless = status_has_no_body(r.status);
    keep_alive_ = keep_alive_ && !draining_;
    const std::size_t body_size = r.body_size();
    out_.emplace_back(serialize_head(r.status, r.headers,
                                     bodyless ? Framing::none() : Framing::content_length(body_size),
                                     keep_alive_));
    if (!head_request_ && !bodyless && body_size > 0) {
      body_bytes_ = body_size;
      if (!r.body.empty()) out_.emplace_back(std::move(r.body));
      for (auto& piece : r.shared_body) {
        if (!piece.empty()) out_.emplace_back(std::move(piece));
      }
    }
    response_complete_ = true;
    do_write();
  }

  void write_head(std::shared_ptr<H1Exchange> ex, int status, Headers&& headers) {
    if (closed_) return;
    answering_ = std::move(ex);
    status_ = status;
    keep_alive_ = keep_alive_ && !draining_;
    if (head_request_ || status_has_no_body(status)) {
      // Nothing of a body will follow; the head is the whole answer.
      out_.emplace_back(serialize_head(status, headers, Framing::none(), keep_alive_));
      head_only_stream_ = true;
    } else {
      out_.emplace_back(serialize_head(status, headers, Framing::chunked(), keep_alive_));
    }
    do_write();
  }

  void write_chunk(std::string&& chunk) {
    if (closed_ || head_only_stream_) return;
    body_bytes_ += chunk.size();
    out_.emplace_back(chunk_prefix(chunk.size()));
    chunk.append("\r\n");
    out_.emplace_back(std::move(chunk));
    do_write();
  }

  void write_shared_chunk(core::SharedBytes&& chunk) {
    if (closed_ || head_only_stream_) return;
    body_bytes_ += chunk.size();
    out_.emplace_back(chunk_prefix(chunk.size()));
    out_.emplace_back(std::move(chunk));
    out_.emplace_back(std::string("\r\n"));
    do_write();
  }

  void write_end() {
    if (closed_) return;
    if (!head_only_stream_) out_.emplace_back(std::string("0\r\n\r\n"));
    response_complete_ = true;
    do_write();
  }

  // The handler let go of the exchange without answering: a bug, but the
  // client still deserves an answer.
  void abandoned() {
    if (closed_ || response_complete_ || status_ != 0) return;
    core::log::error("request dropped without an answer", {{"server", shared_->options.name}});
    Response r = json_response(
        500, core::Error(core::ErrorCode::kInternal, "request was not answered").to_json_string());
    keep_alive_ = false;
    write_response(nullptr, std::move(r));
  }

 private:
  void release_slot() {
    if (slot_released_) return;
    slot_released_ = true;
    if (shared_->options.budget) shared_->options.budget->release(address_);
    shared_->open.fetch_sub(1, std::memory_order_relaxed);
    shared_->open_gauge->dec();
  }

  void read_request() {
    if (closed_) return;
    if (draining_) {
      close();
      return;
    }
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(shared_->options.header_limit));
    parser_->body_limit(shared_->options.body_limit);
    // One deadline for the whole request: a client trickling bytes (or an idle
    // keep-alive connection) is closed when it passes.
    stream_.expires_after(shared_->options.read_timeout);
    reading_ = true;
    beast::http::async_read(stream_, buffer_, *parser_,
                            [self = shared_from_this()](error_code ec, std::size_t) {
                              self->on_read(ec);
                            });
  }

  void on_read(error_code ec) {
    reading_ = false;
    if (closed_) return;
    using he = beast::http::error;
    if (ec) {
      if (ec == he::end_of_stream || ec == asio::error::eof ||
          ec == asio::error::connection_reset || ec == asio::error::operation_aborted) {
        close();
      } else if (ec == beast::error::timeout) {
        // The stream has closed the socket already; nothing more can be said.
        // A partial request is a slow (or malicious) client; no bytes at all
        // is just an idle keep-alive connection.
        if (parser_->got_some() || buffer_.size() > 0) {
          shared_->count_protocol_error("timeout", remote_);
        }
        close();
      } else if (ec == he::header_limit) {
        shared_->count_protocol_error("header_too_large", remote_);
        reject(431, "request header too large");
      } else if (ec == he::body_limit) {
        shared_->count_protocol_error("body_too_large", remote_);
        reject(413, "request body too large");
      } else if (ec.category() == beast::http::make_error_code(he::bad_method).category()) {
        shared_->count_protocol_error("malformed", remote_);
        reject(400, "malformed request");
      } else {
        close();
      }
      return;
    }

    auto& msg = parser_->get();
    std::size_t field_count = 0;
    for (auto it = msg.begin(); it != msg.end(); ++it) ++field_count;
    if (field_count > shared_->options.max_header_count) {
      shared_->count_protocol_error("too_many_headers", remote_);
      reject(431, "too many request header fields");
      return;
    }
    if (msg.version() != 11 && msg.version() != 10) {
      shared_->count_protocol_error("version", remote_);
      reject(505, "only HTTP/1.0 and HTTP/1.1 are spoken here");
      return;
    }

    Request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    req.protocol = msg.version() == 11 ? "HTTP/1.1" : "HTTP/1.0";
    req.remote_address = remote_;
    req.received_at = std::chrono::steady_clock::now();
    for (const auto& f : msg) req.headers.add(f.name_string(), f.value());
    req.body = std::move(msg.body());
    keep_alive_ = msg.keep_alive();
    head_request_ = req.method == "HEAD";

    auto target = parse_target(req.target);
    if (!target) {
      shared_->count_protocol_error("bad_target", remote_);
      reject(400, target.error().message);
      return;
    }
    req.path = std::move(target->path);
    req.query = std::move(target->query);

    // No deadline while the handler works: a held request may wait as long as
    // its handler decides. Writes get their own deadline.
    stream_.expires_never();
    status_ = 0;
    body_bytes_ = 0;
    response_complete_ = false;
    head_only_stream_ = false;
    auto ex = std::make_shared<H1Exchange>(std::move(req), shared_from_this(), executor());
    pending_ = ex;
    shared_->pipeline.dispatch(ex);
  }

  // Answers a request that could not be parsed and closes the connection.
  void reject(int status, std::string_view message) {
    keep_alive_ = false;
    head_request_ = false;
    status_ = status;
    body_bytes_ = 0;
    core::ErrorCode code = status >= 500 && status != 505 ? core::ErrorCode::kInternal
                                                          : core::ErrorCode::kInvalidInput;
    Response r = json_response(status, core::Error(code, std::string(message)).to_json_string());
    write_response(nullptr, std::move(r));
  }

  void do_write() {
    if (writing_ || closed_ || out_.empty()) {
      if (!writing_ && !closed_ && out_.empty() && response_complete_) response_done();
      return;
    }
    writing_ = true;
    in_flight_.clear();
    while (!out_.empty()) {
      in_flight_.push_back(std::move(out_.front()));
      out_.pop_front();
    }
    buffers_.clear();
    for (const auto& piece : in_flight_) buffers_.emplace_back(piece.data(), piece.size());
    stream_.expires_after(shared_->options.write_timeout);
    asio::async_write(stream_, buffers_, [self = shared_from_this()](error_code ec, std::size_t) {
      self->on_write(ec);
    });
  }

  void on_write(error_code ec) {
    writing_ = false;
    stream_.expires_never();
    if (ec) {
      if (ec == beast::error::timeout) shared_->count_protocol_error("write_timeout", remote_);
      close();
      return;
    }
    if (!out_.empty()) {
      do_write();
    } else if (response_complete_) {
      response_done();
    }
  }

  void response_done() {
    if (answering_) answering_->transport_finished(status_, body_bytes_, false);
    answering_.reset();
    pending_.reset();
    response_complete_ = false;
    status_ = 0;
    if (keep_alive_ && !draining_) {
      read_request();
    } else {
      error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
      close();
    }
  }

  std::shared_ptr<H1Server::Shared> shared_;
  beast::tcp_stream stream_;
  std::string address_;  // the client's IP address: its slot in the connection budget
  beast::flat_buffer buffer_;
  std::optional<beast::http::request_parser<beast::http::string_body>> parser_;
  std::string remote_;

  // The request a handler holds but has not answered yet: the handler owns it.
  std::weak_ptr<H1Exchange> pending_;
  // The request being answered: owned here until its last byte is written.
  std::shared_ptr<H1Exchange> answering_;
  // Bytes queued for the socket: owned strings (heads, chunk framing, small
  // bodies) or shared bytes (media), written in one gather.
  struct OutPiece {
    explicit OutPiece(std::string s) : owned(std::move(s)) {}
    explicit OutPiece(core::SharedBytes b) : shared(std::move(b)) {}
    const void* data() const { return shared.empty() ? static_cast<const void*>(owned.data()) : shared.data(); }
    std::size_t size() const { return shared.empty() ? owned.size() : shared.size(); }
    std::string owned;
    core::SharedBytes shared;
  };
  std::deque<OutPiece> out_;
  std::vector<OutPiece> in_flight_;
  std::vector<asio::const_buffer> buffers_;

  int status_ = 0;
  std::uint64_t body_bytes_ = 0;
  bool reading_ = false;
  bool writing_ = false;
  bool keep_alive_ = true;
  bool head_request_ = false;
  bool head_only_stream_ = false;
  bool response_complete_ = false;
  bool draining_ = false;
  bool closed_ = false;
  bool slot_released_ = false;
};

H1Exchange::~H1Exchange() {
  if (!answered()) {
    asio::post(executor_, [s = std::move(session_)] { s->abandoned(); });
  }
}

std::shared_ptr<H1Exchange> H1Exchange::self() {
  return std::static_pointer_cast<H1Exchange>(shared_from_this());
}

void H1Exchange::send_response(Response&& response) {
  asio::post(executor_, [s = session_, ex = self(), r = std::move(response)]() mutable {
    s->write_response(std::move(ex), std::move(r));
  });
}

void H1Exchange::send_head(int status, Headers&& headers) {
  asio::post(executor_, [s = session_, ex = self(), status, h = std::move(headers)]() mutable {
    s->write_head(std::move(ex), status, std::move(h));
  });
}

void H1Exchange::send_chunk(std::string&& chunk) {
  asio::post(executor_, [s = session_, c = std::move(chunk)]() mutable {
    s->write_chunk(std::move(c));
  });
}

void H1Exchange::send_shared_chunk(core::SharedBytes&& chunk) {
  asio::post(executor_, [s = session_, c = std::move(chunk)]() mutable {
    s->write_shared_chunk(std::move(c));
  });
}

void H1Exchange::send_end() {
  asio::post(executor_, [s = session_] { s->write_end(); });
}

namespace {

// Over the connection limit: a short 503 and a close, without reading anything.
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

void accept_next(const std::shared_ptr<H1Server::Shared>& shared) {
  if (shared->stopping.load()) return;
  auto& ctx = shared->pool.next();
  shared->acceptor->async_accept(ctx, [shared](error_code ec, tcp::socket socket) {
    if (shared->stopping.load()) return;
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      shared->accept_errors.log(core::log::Level::kWarn, "accept failed",
                                {{"server", shared->options.name}, {"error", ec.message()}});
      // Out of descriptors or similar: pause briefly instead of spinning.
      auto timer = std::make_shared<asio::steady_timer>(shared->acceptor->get_executor(),
                                                        std::chrono::milliseconds(50));
      timer->async_wait([shared, timer](error_code) { accept_next(shared); });
      return;
    }
    error_code peer_ec;
    const auto peer = socket.remote_endpoint(peer_ec);
    std::string address = peer_ec ? std::string("unknown") : peer.address().to_string();
    ConnectionBudget::Verdict verdict = ConnectionBudget::Verdict::kAccepted;
    if (shared->options.budget) {
      verdict = shared->options.budget->acquire(address);
    } else if (shared->open.load(std::memory_order_relaxed) >= shared->options.max_connections) {
      verdict = ConnectionBudget::Verdict::kServerFull;
    }
    if (verdict != ConnectionBudget::Verdict::kAccepted) {
      const bool per_address = verdict == ConnectionBudget::Verdict::kAddressFull;
      shared->refused->inc();
      shared->refusal_log.log(per_address ? "address" : "server", core::log::Level::kWarn,
                              "http connection refused",
                              {{"server", shared->options.name},
                               {"limit", per_address ? "server.max_connections_per_ip"
                                                     : "server.max_connections"},
                               {"remote", address}});
      refuse(std::move(socket), per_address);
    } else {
      shared->open.fetch_add(1, std::memory_order_relaxed);
      shared->open_gauge->inc();
      shared->accepted->inc();
      auto session = std::make_shared<H1Session>(shared, std::move(socket), std::move(address));
      {
        std::lock_guard lock(shared->sessions_mutex);
        // Forget sessions that are gone while we are here, keeping the list short.
        std::erase_if(shared->sessions, [](const auto& w) { return w.expired(); });
        shared->sessions.push_back(session);
      }
      asio::post(session->executor(), [session] { session->start(); });
    }
    accept_next(shared);
  });
}

}  // namespace

H1Server::H1Server(net::IoPool& pool, const Pipeline& pipeline, H1ServerOptions options,
                   core::MetricsRegistry& metrics)
    : shared_(std::make_shared<Shared>(pool, pipeline, std::move(options))) {
  const std::string& n = shared_->options.name;
  shared_->open_gauge =
      &metrics.gauge("mirror_http_open_connections", "Open HTTP connections", {"server"}).with({n});
  shared_->accepted = &metrics
                           .counter("mirror_http_connections_total",
                                    "HTTP connections accepted", {"server"})
                           .with({n});
  shared_->refused = &metrics
                          .counter("mirror_http_connections_refused_total",
                                   "HTTP connections refused over server.max_connections",
                                   {"server"})
                          .with({n});
  shared_->protocol_errors = &metrics.counter(
      "mirror_http_protocol_errors_total",
      "HTTP requests rejected before reaching a handler, by reason", {"server", "reason"});
}

H1Server::~H1Server() = default;

core::Status H1Server::start() {
  auto& s = *shared_;
  error_code ec;
  auto address = asio::ip::make_address(s.options.bind_address, ec);
  if (ec) {
    return core::Error(core::ErrorCode::kInvalidInput,
                       "invalid bind address " + s.options.bind_address);
  }
  tcp::endpoint ep(address, static_cast<unsigned short>(s.options.port));
  auto acceptor = std::make_unique<tcp::acceptor>(s.pool.next());
  acceptor->open(ep.protocol(), ec);
  if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor->bind(ep, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return core::Error(core::ErrorCode::kServiceUnavailable,
                       s.options.name + " server cannot listen on tcp port " +
                           std::to_string(s.options.port) + ": " + ec.message(),
                       {{"port", s.options.port}, {"protocol", "tcp"}});
  }
  s.bound_port = acceptor->local_endpoint().port();
  s.acceptor = std::move(acceptor);
  accept_next(shared_);
  core::log::info("http server listening", {{"server", s.options.name},
                                            {"address", s.options.bind_address},
                                            {"port", s.bound_port},
                                            {"protocol", "tcp"}});
  return core::Ok{};
}

void H1Server::stop(core::Deadline deadline) {
  auto& s = *shared_;
  if (s.stopping.exchange(true)) return;
  if (s.acceptor) {
    std::promise<void> closed;
    asio::post(s.acceptor->get_executor(), [&] {
      error_code ec;
      s.acceptor->close(ec);
      closed.set_value();
    });
    closed.get_future().wait_until(deadline);
  }
  auto for_each_session = [&](auto fn) {
    std::vector<std::shared_ptr<H1Session>> live;
    {
      std::lock_guard lock(s.sessions_mutex);
      for (auto& w : s.sessions) {
        if (auto p = w.lock()) live.push_back(std::move(p));
      }
    }
    for (auto& p : live) asio::post(p->executor(), [p, fn] { fn(*p); });
  };
  for_each_session([](H1Session& session) { session.drain(); });
  while (s.open.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (s.open.load() > 0) {
    core::log::warn("closing connections still busy at the shutdown deadline",
                    {{"server", s.options.name}, {"connections", s.open.load()}});
    for_each_session([](H1Session& session) { session.close(); });
    auto grace = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
    while (s.open.load() > 0 && std::chrono::steady_clock::now() < grace) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
}

int H1Server::port() const { return shared_->bound_port; }

std::size_t H1Server::open_connections() const {
  return static_cast<std::size_t>(std::max(0, shared_->open.load()));
}

}  // namespace mirror::http
