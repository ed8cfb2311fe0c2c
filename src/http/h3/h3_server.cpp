#include "http/h3/h3_server.h"

#include "core/logging.h"

#include <boost/asio/post.hpp>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include <array>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

namespace mirror::http {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kSendBuffer = 64 * 1500;  // one burst of kMaxBurst packets
constexpr int kResetsPerSecond = 100;           // stateless resets one loop sends at most

std::string key_of(const std::uint8_t* data, std::size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

std::string key_of(const ngtcp2_cid& cid) {
  return key_of(cid.data, cid.datalen);
}

ngtcp2_tstamp wall_ns() {
  return static_cast<ngtcp2_tstamp>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

}  // namespace

// What the loops share: the connection-ID directory, the counts, the metrics.
class H3Server::Shared {
 public:
  Shared(H3ServerOptions o, std::shared_ptr<const H3Context> c, core::MetricsRegistry& metrics)
      : options(std::move(o)), ctx(std::move(c)) {
    const std::string& n = options.name;
    open_gauge = &metrics.gauge("mirror_http_open_connections", "Open HTTP connections", {"server"})
                      .with({n});
    accepted =
        &metrics.counter("mirror_http_connections_total", "HTTP connections accepted", {"server"})
             .with({n});
    refused = &metrics
                   .counter("mirror_http_connections_refused_total",
                            "HTTP connections refused over server.max_connections", {"server"})
                   .with({n});
    packets = &metrics.counter("mirror_quic_stateless_packets_total",
                               "QUIC packets answered or dropped before any connection, by kind",
                               {"server", "kind"});
    forwarded = &metrics
                     .counter("mirror_quic_forwarded_datagrams_total",
                              "QUIC datagrams handed to the event loop their connection lives on",
                              {"server"})
                     .with({n});
  }

  void count_packet(std::string_view kind) {
    packets->with({options.name, std::string(kind)}).inc();
  }

  std::optional<std::size_t> owner(const std::string& key) {
    std::lock_guard lock(directory_mutex);
    auto it = directory.find(key);
    if (it == directory.end()) return std::nullopt;
    return it->second;
  }
  void claim(const std::string& key, std::size_t worker) {
    std::lock_guard lock(directory_mutex);
    directory[key] = worker;
  }
  void release(const std::string& key) {
    std::lock_guard lock(directory_mutex);
    directory.erase(key);
  }

  const H3ServerOptions options;
  const std::shared_ptr<const H3Context> ctx;
  std::atomic<bool> stopping{false};
  std::atomic<int> open{0};
  std::atomic<int> handshakes{0};
  std::vector<std::weak_ptr<Worker>> workers;

  core::Gauge* open_gauge = nullptr;
  core::Counter* accepted = nullptr;
  core::Counter* refused = nullptr;
  core::CounterFamily* packets = nullptr;
  core::Counter* forwarded = nullptr;
  core::log::KeyedLogLimiter refusal_log{std::chrono::seconds(10)};

 private:
  std::mutex directory_mutex;
  std::unordered_map<std::string, std::size_t> directory;
};

// One event loop's socket, its connections and its part of the dispatch.
class H3Server::Worker final : public QuicHost, public std::enable_shared_from_this<Worker> {
 public:
  Worker(std::shared_ptr<Shared> shared, std::size_t index, asio::io_context& io,
         std::unique_ptr<net::UdpBatchSocket> socket)
      : shared_(std::move(shared)),
        index_(index),
        io_(io),
        socket_(std::move(socket)),
        send_buffer_(kSendBuffer),
        reset_window_(Clock::now()) {}

  void start() {
    asio::post(io_, [self = shared_from_this()] { self->read(); });
  }

  asio::any_io_executor executor() { return io_.get_executor(); }

  // --- QuicHost ---

  void associate(const ngtcp2_cid& cid, const std::shared_ptr<H3Connection>& connection) override {
    const std::string key = key_of(cid);
    by_id_[key] = connection;
    keys_[connection.get()].push_back(key);
    shared_->claim(key, index_);
  }

  void dissociate(const ngtcp2_cid& cid) override {
    const std::string key = key_of(cid);
    auto it = by_id_.find(key);
    if (it == by_id_.end()) return;
    if (auto keys = keys_.find(it->second.get()); keys != keys_.end())
      std::erase(keys->second, key);
    by_id_.erase(it);
    shared_->release(key);
  }

  net::UdpBatchSocket& socket() override { return *socket_; }
  std::span<std::uint8_t> send_buffer() override { return send_buffer_; }

  void wait_writable(const std::shared_ptr<H3Connection>& connection) override {
    writable_waiters_.push_back(connection);
    if (waiting_writable_) return;
    waiting_writable_ = true;
    socket_->wait_writable([self = shared_from_this()](bool ok) {
      self->waiting_writable_ = false;
      auto waiters = std::move(self->writable_waiters_);
      self->writable_waiters_.clear();
      if (!ok) return;
      for (auto& w : waiters) {
        if (auto c = w.lock(); c && !c->is_finished()) c->on_writable();
      }
    });
  }

  void handshake_completed(H3Connection&) override {
    shared_->handshakes.fetch_sub(1, std::memory_order_relaxed);
  }

  void finished(H3Connection& connection) override {
    // Every ID it was ever reached by, retired ones included.
    if (auto keys = keys_.find(&connection); keys != keys_.end()) {
      for (const auto& key : keys->second) {
        by_id_.erase(key);
        shared_->release(key);
      }
      keys_.erase(keys);
    }
    auto it = connections_.find(&connection);
    if (it == connections_.end()) return;
    std::shared_ptr<H3Connection> keep = std::move(it->second);
    connections_.erase(it);
    if (!connection.handshake_done()) shared_->handshakes.fetch_sub(1, std::memory_order_relaxed);
    if (shared_->options.budget) shared_->options.budget->release(connection.slot_address());
    shared_->open.fetch_sub(1, std::memory_order_relaxed);
    shared_->open_gauge->dec();
    // The connection may be inside one of its own calls: it goes when that
    // call has returned.
    asio::post(io_, [keep = std::move(keep)] {});
  }

  // --- stopping ---

  void drain_all() {
    for (auto& [ptr, c] : snapshot()) c->drain();
  }

  void close_all() {
    for (auto& [ptr, c] : snapshot()) c->close_now();
    socket_->close();
  }

  std::size_t connection_count() const { return connections_.size(); }

  // A datagram that arrived on another loop's socket.
  void on_forwarded(std::shared_ptr<std::vector<std::uint8_t>> bytes, net::UdpAddress local,
                    net::UdpAddress remote) {
    net::UdpReceived d{remote, local, bytes->data(), bytes->size()};
    handle(d, true);
    flush_touched();
  }

 private:
  std::vector<std::pair<H3Connection*, std::shared_ptr<H3Connection>>> snapshot() const {
    return {connections_.begin(), connections_.end()};
  }

  void read() {
    socket_->wait_readable([self = shared_from_this()](bool ok) {
      if (ok) self->on_readable();
    });
  }

  void on_readable() {
    // A bounded number of batches per turn, so that timers and answers of
    // this loop are not starved by a flood.
    for (int round = 0; round < 4; ++round) {
      const std::size_t n = socket_->receive(batch_);
      if (n == 0) break;
      for (std::size_t i = 0; i < n; ++i) handle(batch_[i], false);
      flush_touched();
    }
    read();
  }

  // Every connection that received something in this batch writes once:
  // its acknowledgements and answers leave together.
  void flush_touched() {
    auto touched = std::move(touched_);
    touched_.clear();
    for (auto& c : touched) {
      if (!c->is_finished()) c->flush();
    }
  }

  void deliver(const std::shared_ptr<H3Connection>& connection, const net::UdpReceived& d) {
    connection->on_datagram(d);
    if (!connection->is_finished() && (touched_.empty() || touched_.back() != connection)) {
      touched_.push_back(connection);
    }
  }

  void handle(const net::UdpReceived& d, bool forwarded) {
    ngtcp2_version_cid vc{};
    const int rv = ngtcp2_pkt_decode_version_cid(&vc, d.data, d.size, kQuicCidLength);
    if (rv == NGTCP2_ERR_VERSION_NEGOTIATION) {
      send_version_negotiation(vc, d);
      return;
    }
    if (rv != 0) {
      shared_->count_packet("not_quic");
      return;
    }
    const std::string key = key_of(vc.dcid, vc.dcidlen);
    if (auto it = by_id_.find(key); it != by_id_.end()) {
      auto connection = it->second;
      deliver(connection, d);
      return;
    }
    if (!forwarded) {
      if (auto owner = shared_->owner(key); owner && *owner != index_) {
        forward(*owner, d);
        return;
      }
    }
    const bool long_header = (d.data[0] & 0x80) != 0;
    if (!long_header) {
      send_stateless_reset(vc, d);
      return;
    }
    accept_new(d);
  }

  void forward(std::size_t owner, const net::UdpReceived& d) {
    auto worker = owner < shared_->workers.size() ? shared_->workers[owner].lock() : nullptr;
    if (!worker) return;
    shared_->forwarded->inc();
    auto bytes = std::make_shared<std::vector<std::uint8_t>>(d.data, d.data + d.size);
    asio::post(worker->executor(), [worker, bytes, local = d.local, remote = d.remote] {
      worker->on_forwarded(bytes, local, remote);
    });
  }

  void accept_new(const net::UdpReceived& d) {
    ngtcp2_pkt_hd hd{};
    if (ngtcp2_accept(&hd, d.data, d.size) != 0) {
      shared_->count_packet("unexpected_long_header");
      return;
    }
    const H3ServerOptions& o = shared_->options;
    if (shared_->stopping.load(std::memory_order_acquire)) {
      refuse(hd, d, "stopping");
      return;
    }
    ngtcp2_cid original_dcid{};
    bool retried = false;
    bool token_validated = false;
    if (hd.token.len > 0) {
      const auto now = wall_ns();
      const auto& secret = shared_->ctx->secret;
      if (hd.token.base[0] == NGTCP2_CRYPTO_TOKEN_MAGIC_RETRY) {
        if (ngtcp2_crypto_verify_retry_token(&original_dcid, hd.token.base, hd.token.len,
                                             secret.data(), secret.size(), hd.version,
                                             d.remote.sockaddr_ptr(), d.remote.size, &hd.dcid,
                                             10 * NGTCP2_SECONDS, now) != 0) {
          shared_->ctx->count("quic_bad_token", d.remote.to_string());
          send_stateless_close(hd, d, NGTCP2_INVALID_TOKEN);
          return;
        }
        retried = true;
      } else if (hd.token.base[0] == NGTCP2_CRYPTO_TOKEN_MAGIC_REGULAR &&
                 ngtcp2_crypto_verify_regular_token(
                     hd.token.base, hd.token.len, secret.data(), secret.size(),
                     d.remote.sockaddr_ptr(), d.remote.size, 3600 * NGTCP2_SECONDS, now) == 0) {
        token_validated = true;
      }
    }
    const bool want_retry =
        o.retry == H3ServerOptions::Retry::kAlways ||
        (o.retry == H3ServerOptions::Retry::kAuto &&
         shared_->handshakes.load(std::memory_order_relaxed) >= o.retry_above_handshakes);
    if (want_retry && !retried && !token_validated) {
      send_retry(hd, d);
      return;
    }
    std::string address = d.remote.ip();
    ConnectionBudget::Verdict verdict = ConnectionBudget::Verdict::kAccepted;
    if (o.budget) {
      verdict = o.budget->acquire(address);
    } else if (shared_->open.load(std::memory_order_relaxed) >= o.max_connections) {
      verdict = ConnectionBudget::Verdict::kServerFull;
    }
    if (verdict != ConnectionBudget::Verdict::kAccepted) {
      const bool per_address = verdict == ConnectionBudget::Verdict::kAddressFull;
      shared_->refused->inc();
      shared_->refusal_log.log(
          per_address ? "address" : "server", core::log::Level::kWarn, "http connection refused",
          {{"server", o.name},
           {"limit", per_address ? "server.max_connections_per_ip" : "server.max_connections"},
           {"remote", address}});
      send_stateless_close(hd, d, NGTCP2_CONNECTION_REFUSED);
      return;
    }
    auto connection = make_h3_connection(shared_->ctx, *this, executor(), address);
    connections_[connection.get()] = connection;
    shared_->open.fetch_add(1, std::memory_order_relaxed);
    shared_->handshakes.fetch_add(1, std::memory_order_relaxed);
    shared_->open_gauge->inc();
    shared_->accepted->inc();
    if (auto st = connection->accept(hd, retried ? &original_dcid : nullptr, token_validated,
                                     d.local, d.remote);
        !st) {
      core::log::warn("http/3 connection setup failed",
                      {{"server", o.name}, {"error", st.error().message}});
      finished(*connection);
      return;
    }
    deliver(connection, d);
  }

  void refuse(const ngtcp2_pkt_hd& hd, const net::UdpReceived& d, std::string_view why) {
    shared_->count_packet(why);
    send_stateless_close(hd, d, NGTCP2_CONNECTION_REFUSED);
  }

  void send_raw(const net::UdpReceived& d, const std::uint8_t* data, std::size_t size) {
    const net::UdpMessage m{&d.local, &d.remote, data, size, size};
    socket_->send(std::span<const net::UdpMessage>(&m, 1));
  }

  void send_version_negotiation(const ngtcp2_version_cid& vc, const net::UdpReceived& d) {
    // Only to datagrams as large as an Initial must be, so that Mirror never
    // answers more bytes than it got.
    if (d.size < NGTCP2_MAX_UDP_PAYLOAD_SIZE) {
      shared_->count_packet("not_quic");
      return;
    }
    std::array<std::uint8_t, 1> unused{};
    gnutls_rnd(GNUTLS_RND_NONCE, unused.data(), unused.size());
    // A reserved version (0x?a?a?a?a) beside v1 keeps clients' negotiation honest.
    const std::array<std::uint32_t, 2> versions{0x1a2a3a4au, NGTCP2_PROTO_VER_V1};
    std::array<std::uint8_t, 256> out{};
    const auto n =
        ngtcp2_pkt_write_version_negotiation(out.data(), out.size(), unused[0], vc.scid, vc.scidlen,
                                             vc.dcid, vc.dcidlen, versions.data(), versions.size());
    if (n <= 0) return;
    shared_->count_packet("version_negotiation");
    send_raw(d, out.data(), static_cast<std::size_t>(n));
  }

  void send_retry(const ngtcp2_pkt_hd& hd, const net::UdpReceived& d) {
    ngtcp2_cid scid{};
    scid.datalen = kQuicCidLength;
    gnutls_rnd(GNUTLS_RND_RANDOM, scid.data, scid.datalen);
    std::array<std::uint8_t, NGTCP2_CRYPTO_MAX_RETRY_TOKENLEN> token{};
    const auto& secret = shared_->ctx->secret;
    const auto token_len = ngtcp2_crypto_generate_retry_token(
        token.data(), secret.data(), secret.size(), hd.version, d.remote.sockaddr_ptr(),
        d.remote.size, &scid, &hd.dcid, wall_ns());
    if (token_len < 0) return;
    std::array<std::uint8_t, NGTCP2_MAX_UDP_PAYLOAD_SIZE> out{};
    const auto n = ngtcp2_crypto_write_retry(out.data(), std::min(out.size(), d.size * 3),
                                             hd.version, &hd.scid, &scid, &hd.dcid, token.data(),
                                             static_cast<std::size_t>(token_len));
    if (n <= 0) return;
    shared_->count_packet("retry");
    send_raw(d, out.data(), static_cast<std::size_t>(n));
  }

  void send_stateless_close(const ngtcp2_pkt_hd& hd, const net::UdpReceived& d,
                            std::uint64_t code) {
    std::array<std::uint8_t, NGTCP2_MAX_UDP_PAYLOAD_SIZE> out{};
    const auto n = ngtcp2_crypto_write_connection_close(out.data(), out.size(), hd.version,
                                                        &hd.scid, &hd.dcid, code, nullptr, 0);
    if (n <= 0) return;
    shared_->count_packet(code == NGTCP2_INVALID_TOKEN ? "invalid_token_close" : "refused");
    send_raw(d, out.data(), static_cast<std::size_t>(n));
  }

  // A short-header packet for a connection this server does not know (it
  // closed, or the process restarted): a stateless reset lets the client
  // give up at once instead of at its idle timeout. Always smaller than the
  // packet that caused it (no loops between two servers), and rate-limited.
  void send_stateless_reset(const ngtcp2_version_cid& vc, const net::UdpReceived& d) {
    constexpr std::size_t kMinimum = 41;
    if (d.size <= kMinimum || vc.dcidlen != kQuicCidLength) {
      shared_->count_packet("unknown_connection");
      return;
    }
    const auto now = Clock::now();
    if (now - reset_window_ >= std::chrono::seconds(1)) {
      reset_window_ = now;
      resets_ = 0;
    }
    if (++resets_ > kResetsPerSecond) {
      shared_->count_packet("unknown_connection");
      return;
    }
    ngtcp2_cid cid{};
    ngtcp2_cid_init(&cid, vc.dcid, vc.dcidlen);
    std::array<std::uint8_t, NGTCP2_STATELESS_RESET_TOKENLEN> token{};
    if (!make_reset_token(*shared_->ctx, cid, token.data())) return;
    const std::size_t size = std::min<std::size_t>(d.size - 1, NGTCP2_MAX_UDP_PAYLOAD_SIZE);
    std::array<std::uint8_t, NGTCP2_MAX_UDP_PAYLOAD_SIZE> random{};
    const std::size_t random_len = size - NGTCP2_STATELESS_RESET_TOKENLEN;
    gnutls_rnd(GNUTLS_RND_NONCE, random.data(), random_len);
    std::array<std::uint8_t, NGTCP2_MAX_UDP_PAYLOAD_SIZE> out{};
    const auto n = ngtcp2_pkt_write_stateless_reset(out.data(), out.size(), token.data(),
                                                    random.data(), random_len);
    if (n <= 0) return;
    shared_->count_packet("stateless_reset");
    send_raw(d, out.data(), static_cast<std::size_t>(n));
  }

  std::shared_ptr<Shared> shared_;
  std::size_t index_;
  asio::io_context& io_;
  std::unique_ptr<net::UdpBatchSocket> socket_;
  std::vector<std::uint8_t> send_buffer_;
  std::array<net::UdpReceived, net::UdpBatchSocket::kBatch> batch_{};
  std::unordered_map<std::string, std::shared_ptr<H3Connection>> by_id_;
  std::unordered_map<H3Connection*, std::shared_ptr<H3Connection>> connections_;
  std::unordered_map<H3Connection*, std::vector<std::string>> keys_;
  std::vector<std::shared_ptr<H3Connection>> touched_;
  std::vector<std::weak_ptr<H3Connection>> writable_waiters_;
  bool waiting_writable_ = false;
  Clock::time_point reset_window_;
  int resets_ = 0;
};

H3Server::H3Server(net::IoPool& pool, const Pipeline& pipeline, H3ServerOptions options,
                   std::shared_ptr<QuicTlsContext> tls, core::MetricsRegistry& metrics)
    : pool_(pool), tls_(std::move(tls)) {
  auto ctx = std::make_shared<H3Context>(
      H3Context{pipeline, options.quic, {}, tls_, options.name, nullptr});
  gnutls_rnd(GNUTLS_RND_KEY, ctx->secret.data(), ctx->secret.size());
  auto* errors = &metrics.counter("mirror_http_protocol_errors_total",
                                  "HTTP requests rejected before reaching a handler, by reason",
                                  {"server", "reason"});
  auto log = std::make_shared<core::log::KeyedLogLimiter>(std::chrono::seconds(10));
  ctx->count = [errors, log, name = options.name](std::string_view reason,
                                                  const std::string& remote) {
    errors->with({name, std::string(reason)}).inc();
    log->log(std::string(reason), core::log::Level::kInfo, "rejected http request",
             {{"server", name}, {"reason", reason}, {"remote", remote}});
  };
  shared_ = std::make_shared<Shared>(std::move(options), std::move(ctx), metrics);
}

H3Server::~H3Server() {
  stop(Clock::now());
}

core::Status H3Server::start() {
  const auto& o = shared_->options;
  int port = o.port;
  if (port != 0) {
    // SO_REUSEPORT would let the sockets share the port with another
    // program of the same user, each taking part of the other's datagrams:
    // a socket without it finds such a program first.
    auto probe = net::UdpBatchSocket::open(pool_.context(0), o.bind_address, port, false);
    if (!probe) {
      return core::Error(core::ErrorCode::kServiceUnavailable,
                         o.name + " server cannot listen on udp port " + std::to_string(port) +
                             ": " + probe.error().message,
                         {{"port", port}, {"protocol", "udp"}});
    }
  }
  std::vector<std::shared_ptr<Worker>> workers;
  for (std::size_t i = 0; i < pool_.size(); ++i) {
    auto socket = net::UdpBatchSocket::open(pool_.context(i), o.bind_address, port, true);
    if (!socket) {
      return core::Error(core::ErrorCode::kServiceUnavailable,
                         o.name + " server cannot listen on udp port " + std::to_string(port) +
                             ": " + socket.error().message,
                         {{"port", port}, {"protocol", "udp"}});
    }
    port = (*socket)->port();
    workers.push_back(std::make_shared<Worker>(shared_, i, pool_.context(i), std::move(*socket)));
  }
  port_ = port;
  workers_ = std::move(workers);
  for (const auto& w : workers_) shared_->workers.push_back(w);
  for (const auto& w : workers_) w->start();
  started_ = true;
  core::log::info("http server listening", {{"server", o.name},
                                            {"address", o.bind_address},
                                            {"port", port_},
                                            {"protocol", "quic"},
                                            {"sockets", static_cast<int>(workers_.size())}});
  return core::Ok{};
}

std::size_t H3Server::open_connections() const {
  return static_cast<std::size_t>(std::max(0, shared_->open.load(std::memory_order_relaxed)));
}

void H3Server::drain(core::Deadline) {
  if (!started_ || shared_->stopping.exchange(true)) return;
  for (const auto& w : workers_) asio::post(w->executor(), [w] { w->drain_all(); });
}

void H3Server::stop(core::Deadline deadline) {
  if (!started_) return;
  drain(deadline);
  while (open_connections() > 0 && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::vector<std::future<void>> closed;
  for (const auto& w : workers_) {
    auto done = std::make_shared<std::promise<void>>();
    closed.push_back(done->get_future());
    asio::post(w->executor(), [w, done] {
      w->close_all();
      done->set_value();
    });
  }
  // A loop that no longer runs (the pool stopped first) cannot close its
  // sockets; they close with the server.
  for (auto& f : closed)
    f.wait_until(std::max(deadline, Clock::now() + std::chrono::milliseconds(200)));
  started_ = false;
}

}  // namespace mirror::http
