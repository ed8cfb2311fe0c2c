#include "http/h3/h3_connection.h"

#include "http/h3/h3_session.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <nghttp3/nghttp3.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include <algorithm>
#include <cstring>

namespace mirror::http {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

bool make_reset_token(const H3Context& ctx, const ngtcp2_cid& cid, std::uint8_t* token) {
  return ngtcp2_crypto_generate_stateless_reset_token(token, ctx.secret.data(), ctx.secret.size(),
                                                      &cid) == 0;
}

namespace {

constexpr std::size_t kMaxBurst = 64;  // packets per flush; one GSO train when they share a path
constexpr std::uint64_t kStreamWindow = 256 * 1024;
constexpr std::uint64_t kConnectionWindow = 1024 * 1024;
constexpr auto kHousekeeping = std::chrono::seconds(1);

std::uint64_t steady_ns() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
          .count());
}

void secure_random(std::uint8_t* data, std::size_t size) {
  gnutls_rnd(GNUTLS_RND_RANDOM, data, size);
}

ngtcp2_path path_of(const net::UdpAddress& local, const net::UdpAddress& remote) {
  return ngtcp2_path{{const_cast<sockaddr*>(local.sockaddr_ptr()), local.size},
                     {const_cast<sockaddr*>(remote.sockaddr_ptr()), remote.size},
                     nullptr};
}

net::UdpAddress address_of(const ngtcp2_addr& a) {
  net::UdpAddress out;
  out.size = std::min<socklen_t>(a.addrlen, sizeof(out.storage));
  std::memcpy(&out.storage, a.addr, out.size);
  return out;
}

bool same_address(const net::UdpAddress& a, const ngtcp2_addr& b) {
  return a.size == b.addrlen && std::memcmp(&a.storage, b.addr, a.size) == 0;
}

// A train of equal-size packets to one path, sent as one message.
struct Train {
  net::UdpAddress local;
  net::UdpAddress remote;
  std::size_t offset = 0;
  std::size_t size = 0;
  std::size_t segment = 0;
  bool closed = false;  // ended by a shorter packet
};

class QuicConnection final : public H3Connection,
                             private H3Transport,
                             public std::enable_shared_from_this<QuicConnection> {
 public:
  QuicConnection(std::shared_ptr<const H3Context> ctx, QuicHost& host,
                 asio::any_io_executor executor, std::string slot_address)
      : ctx_(std::move(ctx)),
        host_(host),
        executor_(std::move(executor)),
        slot_address_(std::move(slot_address)),
        timer_(executor_) {
    conn_ref_.get_conn = [](ngtcp2_crypto_conn_ref* ref) {
      return static_cast<QuicConnection*>(ref->user_data)->conn_;
    };
    conn_ref_.user_data = this;
    ngtcp2_connection_close_error_default(&last_error_);
  }

  ~QuicConnection() override {
    if (session_) session_->detach();
    if (conn_ != nullptr) ngtcp2_conn_del(conn_);
  }

  core::Status accept(const ngtcp2_pkt_hd& hd, const ngtcp2_cid* original_dcid,
                      bool token_validated, const net::UdpAddress& local,
                      const net::UdpAddress& remote) override {
    local_ = local;
    remote_ = remote;
    remote_text_ = remote.to_string();
    scid_.datalen = kQuicCidLength;
    secure_random(scid_.data, scid_.datalen);

    ngtcp2_settings settings;
    ngtcp2_settings_default(&settings);
    settings.initial_ts = steady_ns();
    settings.cc_algo = ctx_->limits.bbr ? NGTCP2_CC_ALGO_BBR : NGTCP2_CC_ALGO_CUBIC;
    settings.max_window = 6 * kConnectionWindow;
    settings.max_stream_window = 6 * kStreamWindow;
    settings.handshake_timeout =
        static_cast<ngtcp2_duration>(ctx_->limits.handshake_timeout.count());
    if (token_validated)
      settings.token = ngtcp2_vec{const_cast<std::uint8_t*>(hd.token.base), hd.token.len};

    ngtcp2_transport_params params;
    ngtcp2_transport_params_default(&params);
    params.initial_max_stream_data_bidi_local = kStreamWindow;
    params.initial_max_stream_data_bidi_remote = kStreamWindow;
    params.initial_max_stream_data_uni = kStreamWindow;
    params.initial_max_data = kConnectionWindow;
    params.initial_max_streams_bidi = ctx_->limits.max_streams_bidi;
    params.initial_max_streams_uni = ctx_->limits.max_streams_uni;
    params.max_idle_timeout = static_cast<ngtcp2_duration>(ctx_->limits.idle_timeout.count());
    params.max_udp_payload_size = 4096;  // the receive slot of net::UdpBatchSocket
    params.active_connection_id_limit = 7;
    params.stateless_reset_token_present = 1;
    if (!make_reset_token(*ctx_, scid_, params.stateless_reset_token)) {
      return core::Error(core::ErrorCode::kInternal, "cannot derive a stateless reset token");
    }
    if (original_dcid != nullptr) {
      params.original_dcid = *original_dcid;
      params.retry_scid = hd.dcid;
      params.retry_scid_present = 1;
    } else {
      params.original_dcid = hd.dcid;
    }

    ngtcp2_callbacks callbacks{};
    callbacks.recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;
    callbacks.recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb;
    callbacks.handshake_completed = &QuicConnection::on_handshake_completed;
    callbacks.encrypt = ngtcp2_crypto_encrypt_cb;
    callbacks.decrypt = ngtcp2_crypto_decrypt_cb;
    callbacks.hp_mask = ngtcp2_crypto_hp_mask_cb;
    callbacks.recv_stream_data = &QuicConnection::on_recv_stream_data;
    callbacks.acked_stream_data_offset = &QuicConnection::on_acked_stream_data_offset;
    callbacks.stream_close = &QuicConnection::on_stream_close;
    callbacks.rand = [](std::uint8_t* dest, std::size_t len, const ngtcp2_rand_ctx*) {
      secure_random(dest, len);
    };
    callbacks.get_new_connection_id = &QuicConnection::on_new_connection_id;
    callbacks.remove_connection_id = &QuicConnection::on_remove_connection_id;
    callbacks.update_key = ngtcp2_crypto_update_key_cb;
    callbacks.stream_reset = &QuicConnection::on_stream_reset;
    callbacks.extend_max_remote_streams_bidi = &QuicConnection::on_extend_max_remote_streams_bidi;
    callbacks.extend_max_stream_data = &QuicConnection::on_extend_max_stream_data;
    callbacks.delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
    callbacks.delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
    callbacks.get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
    callbacks.stream_stop_sending = &QuicConnection::on_stream_stop_sending;
    callbacks.version_negotiation = ngtcp2_crypto_version_negotiation_cb;
    callbacks.recv_tx_key = &QuicConnection::on_recv_tx_key;

    const ngtcp2_path path = path_of(local_, remote_);
    if (const int rv = ngtcp2_conn_server_new(&conn_, &hd.scid, &scid_, &path, hd.version,
                                              &callbacks, &settings, &params, nullptr, this);
        rv != 0) {
      conn_ = nullptr;
      return core::Error(core::ErrorCode::kInternal,
                         std::string("ngtcp2_conn_server_new: ") + ngtcp2_strerror(rv));
    }
    if (auto st = tls_.init(ctx_->tls->current(), &conn_ref_); !st) return st;
    ngtcp2_conn_set_tls_native_handle(conn_, tls_.native());
    auto self = shared_from_this();
    host_.associate(scid_, self);
    host_.associate(hd.dcid, self);  // the client's first ID, for its retransmitted Initials
    accepted_at_ = Clock::now();
    next_housekeeping_ = accepted_at_ + kHousekeeping;
    return core::Ok{};
  }

  void on_datagram(const net::UdpReceived& d) override {
    if (state_ == State::kClosing) {
      // Answer the peer's packets with the close again, ever more rarely.
      ++packets_while_closing_;
      if ((packets_while_closing_ & (packets_while_closing_ - 1)) == 0) send_close_packet();
      return;
    }
    if (state_ != State::kOpen) return;
    const ngtcp2_path path = path_of(d.local, d.remote);
    ngtcp2_pkt_info pi{};
    const int rv = ngtcp2_conn_read_pkt(conn_, &path, &pi, d.data, d.size, steady_ns());
    if (rv == 0) return;
    switch (rv) {
      case NGTCP2_ERR_DRAINING:
        enter_draining();
        return;
      case NGTCP2_ERR_DROP_CONN:
        finish();
        return;
      case NGTCP2_ERR_CRYPTO:
        count("quic_handshake");
        if (last_error_.error_code == 0) {
          ngtcp2_connection_close_error_set_transport_error_tls_alert(
              &last_error_, ngtcp2_conn_get_tls_alert(conn_), nullptr, 0);
        }
        enter_closing();
        return;
      default:
        // A limit of Mirror's own has already counted itself and set the error.
        if (last_error_.error_code == 0) {
          count(handshake_done_ ? "quic_protocol" : "quic_handshake");
          ngtcp2_connection_close_error_set_transport_error_liberr(&last_error_, rv, nullptr, 0);
        }
        enter_closing();
        return;
    }
  }

  void flush() override {
    flush_scheduled_ = false;
    if (state_ != State::kOpen) return;
    if (!pending_.empty() && !send_pending()) return;
    write_packets();
    if (state_ == State::kOpen) arm_timer();
  }

  void on_writable() override {
    waiting_writable_ = false;
    flush();
  }

  void drain() override {
    if (state_ != State::kOpen || draining_) return;
    draining_ = true;
    if (!session_) {
      close_now();
      return;
    }
    // GOAWAY: no new request; those in flight finish, then the connection closes.
    session_->goaway();
    maybe_end_drain();
    schedule_flush();
  }

  void close_now() override {
    if (state_ == State::kOpen) {
      if (last_error_.error_code == 0 && session_) {
        ngtcp2_connection_close_error_set_application_error(&last_error_, NGHTTP3_H3_NO_ERROR,
                                                            nullptr, 0);
      }
      enter_closing();
    }
    finish();
  }

  bool is_finished() const override { return state_ == State::kFinished; }
  bool handshake_done() const override { return handshake_done_; }
  const std::string& slot_address() const override { return slot_address_; }

 private:
  enum class State { kOpen, kClosing, kDraining, kFinished };

  void count(std::string_view reason) {
    if (ctx_->count) ctx_->count(reason, remote_text_);
  }

  void schedule_flush() {
    if (flush_scheduled_ || state_ != State::kOpen) return;
    flush_scheduled_ = true;
    asio::post(executor_, [self = shared_from_this()] { self->flush(); });
  }

  // --- HTTP/3 over the connection, once the handshake gives 1-RTT keys ---

  bool setup_http() {
    if (session_) return true;
    if (ngtcp2_conn_get_max_local_streams_uni(conn_) < 3) return false;
    session_ = std::make_shared<H3Session>(ctx_, static_cast<H3Transport&>(*this), executor_,
                                           remote_text_);
    return session_->start();
  }

  // --- H3Transport: what the HTTP/3 session asks of QUIC ---

  bool open_uni_stream(std::int64_t& id) override {
    return ngtcp2_conn_open_uni_stream(conn_, &id, nullptr) == 0;
  }
  void consumed(std::int64_t id, std::size_t bytes) override {
    ngtcp2_conn_extend_max_stream_offset(conn_, id, bytes);
    ngtcp2_conn_extend_max_offset(conn_, bytes);
  }
  void reset_stream(std::int64_t id, std::uint64_t code) override {
    ngtcp2_conn_shutdown_stream(conn_, id, code);
  }
  void stop_reading(std::int64_t id, std::uint64_t code) override {
    ngtcp2_conn_shutdown_stream_read(conn_, id, code);
  }
  void stop_writing(std::int64_t id, std::uint64_t code) override {
    ngtcp2_conn_shutdown_stream_write(conn_, id, code);
  }
  void request_stream_closed() override {
    ngtcp2_conn_extend_max_streams_bidi(conn_, 1);
    maybe_end_drain();
  }
  void wake() override { schedule_flush(); }

  // --- writing ---

  void write_packets() {
    const auto buffer = host_.send_buffer();
    const std::size_t max_payload = ngtcp2_conn_get_max_tx_udp_payload_size(conn_);
    const std::size_t path_max = ngtcp2_conn_get_path_max_tx_udp_payload_size(conn_);
    const std::size_t quantum =
        std::max<std::size_t>(1, ngtcp2_conn_get_send_quantum(conn_) / max_payload);
    const std::size_t max_packets = std::min({kMaxBurst, quantum, buffer.size() / max_payload});
    const std::uint64_t ts = steady_ns();
    std::vector<Train> trains;  // per flush: an idle connection keeps no scratch
    std::size_t used = 0;
    std::size_t packets = 0;
    ngtcp2_path_storage ps;
    ngtcp2_path_storage_zero(&ps);
    std::array<nghttp3_vec, 16> vec{};
    while (packets < max_packets) {
      std::int64_t stream_id = -1;
      int fin = 0;
      nghttp3_ssize count = 0;
      if (session_ && ngtcp2_conn_get_max_data_left(conn_) > 0) {
        count = session_->next_output(stream_id, fin, vec.data(), vec.size());
        if (count < 0) {
          ngtcp2_connection_close_error_set_application_error(
              &last_error_, nghttp3_err_infer_quic_app_error_code(static_cast<int>(count)), nullptr,
              0);
          enter_closing();
          return;
        }
      }
      ngtcp2_ssize written_data = -1;
      std::uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE;
      if (fin != 0) flags |= NGTCP2_WRITE_STREAM_FLAG_FIN;
      ngtcp2_pkt_info pi{};
      const ngtcp2_ssize n = ngtcp2_conn_writev_stream(
          conn_, &ps.path, &pi, buffer.data() + used, max_payload, &written_data, flags, stream_id,
          reinterpret_cast<const ngtcp2_vec*>(vec.data()), static_cast<std::size_t>(count), ts);
      if (n < 0) {
        if (n == NGTCP2_ERR_STREAM_DATA_BLOCKED) {
          session_->blocked(stream_id);
          continue;
        }
        if (n == NGTCP2_ERR_STREAM_SHUT_WR) {
          session_->write_shut(stream_id);
          continue;
        }
        if (n == NGTCP2_ERR_WRITE_MORE) {
          if (!session_->wrote(stream_id, static_cast<std::size_t>(written_data))) {
            fail_internal();
            return;
          }
          continue;
        }
        ngtcp2_connection_close_error_set_transport_error_liberr(&last_error_, static_cast<int>(n),
                                                                 nullptr, 0);
        enter_closing();
        return;
      }
      if (written_data >= 0 && session_ &&
          !session_->wrote(stream_id, static_cast<std::size_t>(written_data))) {
        fail_internal();
        return;
      }
      if (n == 0) break;
      const auto size = static_cast<std::size_t>(n);
      Train* last = trains.empty() ? nullptr : &trains.back();
      if (last == nullptr || last->closed || size > last->segment ||
          !same_address(last->remote, ps.path.remote) ||
          (last->segment > path_max && size != last->segment)) {
        trains.push_back(
            Train{address_of(ps.path.local), address_of(ps.path.remote), used, size, size, false});
      } else {
        last->size += size;
        if (size < last->segment) last->closed = true;
      }
      used += size;
      ++packets;
    }
    ngtcp2_conn_update_pkt_tx_time(conn_, ts);
    if (trains.empty()) return;
    std::vector<net::UdpMessage> messages;
    messages.reserve(trains.size());
    for (const Train& t : trains) {
      messages.push_back(
          net::UdpMessage{&t.local, &t.remote, buffer.data() + t.offset, t.size, t.segment});
    }
    const std::size_t sent = host_.socket().send(messages);
    if (sent < messages.size()) keep_unsent(trains, sent, buffer.data());
  }

  // The socket was full: the trains not sent are copied out of the shared
  // buffer and go first when it drains.
  void keep_unsent(const std::vector<Train>& trains, std::size_t sent, const std::uint8_t* base) {
    for (std::size_t i = sent; i < trains.size(); ++i) {
      Train t = trains[i];
      const std::size_t at = pending_bytes_.size();
      pending_bytes_.insert(pending_bytes_.end(), base + t.offset, base + t.offset + t.size);
      t.offset = at;
      pending_.push_back(t);
    }
    if (!waiting_writable_) {
      waiting_writable_ = true;
      host_.wait_writable(shared_from_this());
    }
  }

  bool send_pending() {
    std::vector<net::UdpMessage> messages;
    for (const Train& t : pending_) {
      messages.push_back(net::UdpMessage{&t.local, &t.remote, pending_bytes_.data() + t.offset,
                                         t.size, t.segment});
    }
    const std::size_t sent = host_.socket().send(messages);
    if (sent == pending_.size()) {
      pending_.clear();
      pending_bytes_.clear();
      return true;
    }
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(sent));
    if (!waiting_writable_) {
      waiting_writable_ = true;
      host_.wait_writable(shared_from_this());
    }
    return false;
  }

  void fail_internal() {
    ngtcp2_connection_close_error_set_application_error(&last_error_, NGHTTP3_H3_INTERNAL_ERROR,
                                                        nullptr, 0);
    enter_closing();
  }

  // --- closing ---

  // Our side closes: one CONNECTION_CLOSE, then the closing period (three
  // PTOs) during which the client's packets are answered with it again.
  void enter_closing() {
    if (state_ != State::kOpen) return;
    if (conn_ == nullptr || ngtcp2_conn_is_in_draining_period(conn_)) {
      enter_draining();
      return;
    }
    close_packet_.resize(NGTCP2_MAX_UDP_PAYLOAD_SIZE);
    ngtcp2_path_storage ps;
    ngtcp2_path_storage_zero(&ps);
    ngtcp2_pkt_info pi{};
    const ngtcp2_ssize n =
        ngtcp2_conn_write_connection_close(conn_, &ps.path, &pi, close_packet_.data(),
                                           close_packet_.size(), &last_error_, steady_ns());
    if (n <= 0) {
      finish();
      return;
    }
    close_packet_.resize(static_cast<std::size_t>(n));
    close_local_ = address_of(ps.path.local);
    close_remote_ = address_of(ps.path.remote);
    state_ = State::kClosing;
    send_close_packet();
    start_close_timer();
  }

  void send_close_packet() {
    if (close_packet_.empty()) return;
    const net::UdpMessage m{&close_local_, &close_remote_, close_packet_.data(),
                            close_packet_.size(), close_packet_.size()};
    host_.socket().send(std::span<const net::UdpMessage>(&m, 1));
  }

  // The peer closed: stay silent for three PTOs, then forget.
  void enter_draining() {
    if (state_ == State::kFinished) return;
    state_ = State::kDraining;
    start_close_timer();
  }

  void start_close_timer() {
    const auto pto = conn_ != nullptr ? std::chrono::nanoseconds(ngtcp2_conn_get_pto(conn_))
                                      : std::chrono::nanoseconds(std::chrono::milliseconds(100));
    timer_.expires_after(3 * pto);
    armed_expiry_ = 0;
    timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
      if (ec) return;
      if (auto self = weak.lock()) self->finish();
    });
  }

  void finish() {
    if (state_ == State::kFinished) return;
    state_ = State::kFinished;
    timer_.cancel();
    if (session_) session_->detach();
    host_.finished(*this);
  }

  void maybe_end_drain() {
    if (!draining_ || (session_ && !session_->idle()) || state_ != State::kOpen) return;
    ngtcp2_connection_close_error_set_application_error(&last_error_, NGHTTP3_H3_NO_ERROR, nullptr,
                                                        0);
    enter_closing();
  }

  // --- time ---

  void arm_timer() {
    const std::uint64_t expiry = std::min<std::uint64_t>(
        ngtcp2_conn_get_expiry(conn_),
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                       next_housekeeping_.time_since_epoch())
                                       .count()));
    if (expiry == armed_expiry_) return;
    armed_expiry_ = expiry;
    timer_.expires_at(Clock::time_point(
        std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(expiry))));
    timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
      if (ec) return;
      if (auto self = weak.lock()) self->on_timer();
    });
  }

  void on_timer() {
    armed_expiry_ = 0;
    if (state_ != State::kOpen) return;
    const auto now = Clock::now();
    if (now >= next_housekeeping_) {
      next_housekeeping_ = now + kHousekeeping;
      if (!housekeeping(now)) return;
    }
    const int rv = ngtcp2_conn_handle_expiry(conn_, steady_ns());
    if (rv != 0) {
      if (rv == NGTCP2_ERR_HANDSHAKE_TIMEOUT) count("quic_handshake_timeout");
      if (rv == NGTCP2_ERR_IDLE_CLOSE || rv == NGTCP2_ERR_HANDSHAKE_TIMEOUT) {
        finish();
        return;
      }
      ngtcp2_connection_close_error_set_transport_error_liberr(&last_error_, rv, nullptr, 0);
      enter_closing();
      return;
    }
    flush();
  }

  // Once a second: a client that leaves answers unacknowledged too long.
  bool housekeeping(Clock::time_point now) {
    const bool waiting = !pending_.empty() || (session_ && session_->waiting_on_client());
    // Before HTTP/3 is up only the handshake's packets can wait.
    const auto progress = session_ ? session_->last_progress() : accepted_at_;
    if (waiting && now - progress > ctx_->limits.write_timeout) {
      count("h3_stalled");
      close_now();
      return false;
    }
    return true;
  }

  // --- ngtcp2 callbacks (inside read_pkt, writev_stream or handle_expiry) ---

  static QuicConnection& of(void* user) { return *static_cast<QuicConnection*>(user); }

  static int on_handshake_completed(ngtcp2_conn* conn, void* user) {
    auto& self = of(user);
    self.handshake_done_ = true;
    self.host_.handshake_completed(self);
    // An address token for the client's next visit: it then skips Retry
    // even while Mirror asks every new address for one.
    std::array<std::uint8_t, NGTCP2_CRYPTO_MAX_REGULAR_TOKENLEN> token{};
    const ngtcp2_path* path = ngtcp2_conn_get_path(conn);
    const auto t =
        static_cast<ngtcp2_tstamp>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count());
    const auto len = ngtcp2_crypto_generate_regular_token(
        token.data(), self.ctx_->secret.data(), self.ctx_->secret.size(), path->remote.addr,
        path->remote.addrlen, t);
    if (len > 0) ngtcp2_conn_submit_new_token(conn, token.data(), static_cast<std::size_t>(len));
    return 0;
  }

  static int on_recv_tx_key(ngtcp2_conn*, ngtcp2_crypto_level level, void* user) {
    if (level != NGTCP2_CRYPTO_LEVEL_APPLICATION) return 0;
    return of(user).setup_http() ? 0 : NGTCP2_ERR_CALLBACK_FAILURE;
  }

  static int on_recv_stream_data(ngtcp2_conn*, std::uint32_t flags, std::int64_t stream_id,
                                 std::uint64_t, const std::uint8_t* data, std::size_t len,
                                 void* user, void*) {
    auto& self = of(user);
    if (!self.session_) return 0;
    const std::uint64_t error = self.session_->read(stream_id, data, len,
                                                    (flags & NGTCP2_STREAM_DATA_FLAG_FIN) != 0);
    if (error != 0) {
      ngtcp2_connection_close_error_set_application_error(&self.last_error_, error, nullptr, 0);
      return NGTCP2_ERR_CALLBACK_FAILURE;
    }
    return 0;
  }

  static int on_acked_stream_data_offset(ngtcp2_conn*, std::int64_t stream_id, std::uint64_t,
                                         std::uint64_t len, void* user, void*) {
    auto& self = of(user);
    if (!self.session_) return 0;
    return self.session_->acked(stream_id, len) ? 0 : NGTCP2_ERR_CALLBACK_FAILURE;
  }

  static int on_stream_close(ngtcp2_conn*, std::uint32_t flags, std::int64_t stream_id,
                             std::uint64_t app_error_code, void* user, void*) {
    auto& self = of(user);
    if ((flags & NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET) == 0)
      app_error_code = NGHTTP3_H3_NO_ERROR;
    if (!self.session_) return 0;
    return self.session_->stream_closed(stream_id, app_error_code) ? 0
                                                                   : NGTCP2_ERR_CALLBACK_FAILURE;
  }

  // The client reset a request, or asked us to stop sending its answer.
  bool on_cancelled(std::int64_t stream_id) {
    if (!session_ || session_->stream_reset(stream_id)) return true;
    ngtcp2_connection_close_error_set_application_error(&last_error_, NGHTTP3_H3_EXCESSIVE_LOAD,
                                                        nullptr, 0);
    return false;
  }

  static int on_stream_reset(ngtcp2_conn*, std::int64_t stream_id, std::uint64_t, std::uint64_t,
                             void* user, void*) {
    return of(user).on_cancelled(stream_id) ? 0 : NGTCP2_ERR_CALLBACK_FAILURE;
  }

  static int on_stream_stop_sending(ngtcp2_conn*, std::int64_t stream_id, std::uint64_t, void* user,
                                    void*) {
    return of(user).on_cancelled(stream_id) ? 0 : NGTCP2_ERR_CALLBACK_FAILURE;
  }

  static int on_new_connection_id(ngtcp2_conn*, ngtcp2_cid* cid, std::uint8_t* token,
                                  std::size_t cidlen, void* user) {
    auto& self = of(user);
    secure_random(cid->data, cidlen);
    cid->datalen = cidlen;
    if (!make_reset_token(*self.ctx_, *cid, token)) return NGTCP2_ERR_CALLBACK_FAILURE;
    self.host_.associate(*cid, self.shared_from_this());
    return 0;
  }

  static int on_remove_connection_id(ngtcp2_conn*, const ngtcp2_cid* cid, void* user) {
    of(user).host_.dissociate(*cid);
    return 0;
  }

  static int on_extend_max_remote_streams_bidi(ngtcp2_conn*, std::uint64_t max_streams,
                                               void* user) {
    auto& self = of(user);
    if (self.session_) self.session_->set_max_client_streams(max_streams);
    return 0;
  }

  static int on_extend_max_stream_data(ngtcp2_conn*, std::int64_t stream_id, std::uint64_t,
                                       void* user, void*) {
    auto& self = of(user);
    return !self.session_ || self.session_->unblock(stream_id) ? 0 : NGTCP2_ERR_CALLBACK_FAILURE;
  }

  std::shared_ptr<const H3Context> ctx_;
  QuicHost& host_;
  asio::any_io_executor executor_;
  std::string slot_address_;
  std::string remote_text_;
  asio::steady_timer timer_;
  ngtcp2_crypto_conn_ref conn_ref_{};
  QuicTlsSession tls_;
  ngtcp2_conn* conn_ = nullptr;
  std::shared_ptr<H3Session> session_;  // once 1-RTT keys exist
  ngtcp2_cid scid_{};
  ngtcp2_connection_close_error last_error_{};
  net::UdpAddress local_;
  net::UdpAddress remote_;

  // Output the socket would not take yet.
  std::vector<Train> pending_;
  std::vector<std::uint8_t> pending_bytes_;
  bool waiting_writable_ = false;

  std::vector<std::uint8_t> close_packet_;
  net::UdpAddress close_local_;
  net::UdpAddress close_remote_;
  std::uint64_t packets_while_closing_ = 0;

  State state_ = State::kOpen;
  bool handshake_done_ = false;
  bool draining_ = false;
  bool flush_scheduled_ = false;
  std::uint64_t armed_expiry_ = 0;
  Clock::time_point next_housekeeping_{};
  Clock::time_point accepted_at_{};
};

}  // namespace

std::shared_ptr<H3Connection> make_h3_connection(std::shared_ptr<const H3Context> ctx,
                                                 QuicHost& host, asio::any_io_executor executor,
                                                 std::string slot_address) {
  return std::make_shared<QuicConnection>(std::move(ctx), host, std::move(executor),
                                          std::move(slot_address));
}

}  // namespace mirror::http
