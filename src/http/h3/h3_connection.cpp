#include "http/h3/h3_connection.h"

#include "core/logging.h"
#include "http/h1_wire.h"
#include "http/stream_exchange.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <nghttp3/nghttp3.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <map>
#include <optional>

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

nghttp3_nv make_nv(const std::string& name, const std::string& value) {
  return nghttp3_nv{reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(),
                    value.size(), NGHTTP3_NV_FLAG_NONE};
}

class QuicConnection;

using H3Exchange = StreamExchange<QuicConnection, std::int64_t>;

struct H3Stream {
  H3Stream(std::int64_t stream_id, std::string remote)
      : id(stream_id), incoming("HTTP/3", std::move(remote)) {}
  std::int64_t id;
  StreamRequest incoming;
  bool dispatched = false;
  bool head_request = false;
  bool reset_counted = false;
  // The request a handler holds but has not answered yet: the handler owns it.
  std::weak_ptr<H3Exchange> pending;
  // The request being answered: owned here until the stream closes.
  std::shared_ptr<H3Exchange> answering;
  int status = 0;
  bool head_only = false;
  bool body_complete = false;
  bool answered = false;
  std::deque<BodyPiece> body;      // not given to nghttp3 yet
  std::deque<BodyPiece> inflight;  // given to nghttp3, kept until the client acknowledges them
  std::size_t acked_in_front = 0;  // bytes of inflight.front() acknowledged
  std::uint64_t body_bytes = 0;
};

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
    if (http_ != nullptr) nghttp3_conn_del(http_);
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
    last_progress_ = Clock::now();
    window_start_ = last_progress_;
    next_housekeeping_ = last_progress_ + kHousekeeping;
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
    if (http_ == nullptr) {
      close_now();
      return;
    }
    // GOAWAY: no new request; those in flight finish, then the connection closes.
    nghttp3_conn_shutdown(http_);
    maybe_end_drain();
    schedule_flush();
  }

  void close_now() override {
    if (state_ == State::kOpen) {
      if (last_error_.error_code == 0 && http_ != nullptr) {
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

  // --- answers, always run on this connection's executor ---

  void respond(std::int64_t id, std::shared_ptr<H3Exchange> ex, Response&& r) {
    H3Stream* st = find(id);
    if (st == nullptr || st->answered) return;
    st->answering = std::move(ex);
    st->status = r.status;
    st->head_only = st->head_request || status_has_no_body(r.status);
    const std::size_t size = r.body_size();
    if (!st->head_only) {
      if (!r.body.empty()) st->body.emplace_back(std::move(r.body));
      for (auto& piece : r.shared_body) {
        if (!piece.empty()) st->body.emplace_back(std::move(piece));
      }
    }
    st->body_complete = true;
    submit_head(*st, r.status, r.headers,
                status_has_no_body(r.status) ? std::nullopt : std::optional(size));
  }

  void head(std::int64_t id, std::shared_ptr<H3Exchange> ex, int status, Headers&& headers) {
    H3Stream* st = find(id);
    if (st == nullptr || st->answered) return;
    st->answering = std::move(ex);
    st->status = status;
    st->head_only = st->head_request || status_has_no_body(status);
    submit_head(*st, status, headers, std::nullopt);
  }

  void chunk(std::int64_t id, BodyPiece piece) {
    H3Stream* st = find(id);
    if (st == nullptr || st->head_only || st->body_complete || piece.size() == 0) return;
    if (st->body.empty() && st->inflight.empty()) last_progress_ = Clock::now();
    st->body.push_back(std::move(piece));
    if (http_ != nullptr) nghttp3_conn_resume_stream(http_, id);
    schedule_flush();
  }

  void end(std::int64_t id) {
    H3Stream* st = find(id);
    if (st == nullptr || st->body_complete) return;
    st->body_complete = true;
    if (http_ != nullptr) nghttp3_conn_resume_stream(http_, id);
    schedule_flush();
  }

  void abandoned(std::int64_t id) {
    H3Stream* st = find(id);
    if (st == nullptr || st->answered) return;
    core::log::error("request dropped without an answer", {{"server", ctx_->server_name}});
    respond(
        id, nullptr,
        json_response(
            500,
            core::Error(core::ErrorCode::kInternal, "request was not answered").to_json_string()));
  }

 private:
  enum class State { kOpen, kClosing, kDraining, kFinished };

  H3Stream* find(std::int64_t id) {
    auto it = streams_.find(id);
    return it == streams_.end() ? nullptr : it->second.get();
  }

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
    if (http_ != nullptr) return true;
    if (ngtcp2_conn_get_max_local_streams_uni(conn_) < 3) return false;
    nghttp3_callbacks callbacks{};
    callbacks.acked_stream_data = &QuicConnection::on_http_acked;
    callbacks.stream_close = &QuicConnection::on_http_stream_close;
    callbacks.recv_data = &QuicConnection::on_http_recv_data;
    callbacks.deferred_consume = &QuicConnection::on_http_deferred_consume;
    callbacks.begin_headers = &QuicConnection::on_http_begin_headers;
    callbacks.recv_header = &QuicConnection::on_http_recv_header;
    callbacks.stop_sending = &QuicConnection::on_http_stop_sending;
    callbacks.end_stream = &QuicConnection::on_http_end_stream;
    callbacks.reset_stream = &QuicConnection::on_http_reset_stream;
    nghttp3_settings settings;
    nghttp3_settings_default(&settings);
    settings.qpack_max_dtable_capacity = 4096;
    settings.qpack_blocked_streams = 100;
    settings.max_field_section_size = ctx_->limits.request.header_limit;
    if (nghttp3_conn_server_new(&http_, &callbacks, &settings, nghttp3_mem_default(), this) != 0) {
      http_ = nullptr;
      return false;
    }
    nghttp3_conn_set_max_client_streams_bidi(http_, ctx_->limits.max_streams_bidi);
    std::int64_t control = -1;
    std::int64_t encoder = -1;
    std::int64_t decoder = -1;
    return ngtcp2_conn_open_uni_stream(conn_, &control, nullptr) == 0 &&
           nghttp3_conn_bind_control_stream(http_, control) == 0 &&
           ngtcp2_conn_open_uni_stream(conn_, &encoder, nullptr) == 0 &&
           ngtcp2_conn_open_uni_stream(conn_, &decoder, nullptr) == 0 &&
           nghttp3_conn_bind_qpack_streams(http_, encoder, decoder) == 0;
  }

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
      if (http_ != nullptr && ngtcp2_conn_get_max_data_left(conn_) > 0) {
        count = nghttp3_conn_writev_stream(http_, &stream_id, &fin, vec.data(), vec.size());
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
          nghttp3_conn_block_stream(http_, stream_id);
          continue;
        }
        if (n == NGTCP2_ERR_STREAM_SHUT_WR) {
          nghttp3_conn_shutdown_stream_write(http_, stream_id);
          continue;
        }
        if (n == NGTCP2_ERR_WRITE_MORE) {
          if (nghttp3_conn_add_write_offset(http_, stream_id,
                                            static_cast<std::size_t>(written_data)) != 0) {
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
      if (written_data >= 0 && nghttp3_conn_add_write_offset(
                                   http_, stream_id, static_cast<std::size_t>(written_data)) != 0) {
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
    for (auto& [id, st] : streams_) end_exchange(*st, true);
    streams_.clear();
    host_.finished(*this);
  }

  void maybe_end_drain() {
    if (!draining_ || !streams_.empty() || state_ != State::kOpen) return;
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
    bool waiting = !pending_.empty();
    for (const auto& [id, st] : streams_)
      waiting = waiting || !st->body.empty() || !st->inflight.empty();
    if (waiting && now - last_progress_ > ctx_->limits.write_timeout) {
      count("h3_stalled");
      close_now();
      return false;
    }
    return true;
  }

  // --- requests ---

  void submit_head(H3Stream& st, int status, const Headers& headers,
                   std::optional<std::size_t> content_length) {
    st.answered = true;
    if (http_ == nullptr) return;
    const auto fields = response_fields(status, headers, content_length);
    std::vector<nghttp3_nv> nva;
    nva.reserve(fields.size());
    for (const auto& [name, value] : fields) nva.push_back(make_nv(name, value));
    nghttp3_data_reader reader{};
    reader.read_data = &QuicConnection::read_body;
    if (!st.body.empty()) last_progress_ = Clock::now();
    if (nghttp3_conn_submit_response(http_, st.id, nva.data(), nva.size(),
                                     st.head_only ? nullptr : &reader) != 0) {
      ngtcp2_conn_shutdown_stream(conn_, st.id, NGHTTP3_H3_INTERNAL_ERROR);
    }
    if (st.head_only) st.body_complete = true;
    schedule_flush();
  }

  void dispatch(H3Stream& st) {
    if (st.dispatched) return;
    st.dispatched = true;
    st.head_request = st.incoming.request().method == "HEAD";
    if (const int rejected = st.incoming.complete(); rejected != 0) {
      count(rejection_reason(rejected));
      respond(st.id, nullptr, rejection_response(rejected));
      return;
    }
    auto ex = std::make_shared<H3Exchange>(std::move(st.incoming.request()), shared_from_this(),
                                           st.id, executor_);
    st.pending = ex;
    ctx_->pipeline.dispatch(ex);
  }

  void end_exchange(H3Stream& st, bool aborted) {
    std::shared_ptr<H3Exchange> ex = st.answering ? std::move(st.answering) : st.pending.lock();
    st.pending.reset();
    if (!ex) return;
    if (aborted) ex->transport_cancelled();
    ex->transport_finished(st.status, st.body_bytes, aborted);
  }

  // A client that cancels a request before its answer is complete; too many
  // in a window is an attack (the HTTP/3 form of rapid reset).
  bool note_reset(std::int64_t id) {
    H3Stream* st = find(id);
    if (st == nullptr || st->reset_counted ||
        (st->answered && st->body_complete && st->body.empty()))
      return true;
    st->reset_counted = true;
    const auto now = Clock::now();
    if (now - window_start_ >= ctx_->limits.abuse_window) {
      window_start_ = now;
      resets_ = 0;
    }
    if (++resets_ <= ctx_->limits.max_resets) return true;
    count("h3_rapid_reset");
    ngtcp2_connection_close_error_set_application_error(&last_error_, NGHTTP3_H3_EXCESSIVE_LOAD,
                                                        nullptr, 0);
    return false;
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

  static int on_recv_stream_data(ngtcp2_conn* conn, std::uint32_t flags, std::int64_t stream_id,
                                 std::uint64_t, const std::uint8_t* data, std::size_t len,
                                 void* user, void*) {
    auto& self = of(user);
    if (self.http_ == nullptr) return 0;
    const nghttp3_ssize consumed = nghttp3_conn_read_stream(
        self.http_, stream_id, data, len, (flags & NGTCP2_STREAM_DATA_FLAG_FIN) != 0);
    if (consumed < 0) {
      self.count("h3_protocol");
      ngtcp2_connection_close_error_set_application_error(
          &self.last_error_, nghttp3_err_infer_quic_app_error_code(static_cast<int>(consumed)),
          nullptr, 0);
      return NGTCP2_ERR_CALLBACK_FAILURE;
    }
    ngtcp2_conn_extend_max_stream_offset(conn, stream_id, static_cast<std::uint64_t>(consumed));
    ngtcp2_conn_extend_max_offset(conn, static_cast<std::uint64_t>(consumed));
    return 0;
  }

  static int on_acked_stream_data_offset(ngtcp2_conn*, std::int64_t stream_id, std::uint64_t,
                                         std::uint64_t len, void* user, void*) {
    auto& self = of(user);
    if (self.http_ == nullptr) return 0;
    return nghttp3_conn_add_ack_offset(self.http_, stream_id, len) == 0
               ? 0
               : NGTCP2_ERR_CALLBACK_FAILURE;
  }

  static int on_stream_close(ngtcp2_conn* conn, std::uint32_t flags, std::int64_t stream_id,
                             std::uint64_t app_error_code, void* user, void*) {
    auto& self = of(user);
    if ((flags & NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET) == 0)
      app_error_code = NGHTTP3_H3_NO_ERROR;
    if (self.http_ == nullptr) return 0;
    const int rv = nghttp3_conn_close_stream(self.http_, stream_id, app_error_code);
    if (rv == NGHTTP3_ERR_STREAM_NOT_FOUND) {
      if (ngtcp2_is_bidi_stream(stream_id)) ngtcp2_conn_extend_max_streams_bidi(conn, 1);
      return 0;
    }
    return rv == 0 ? 0 : NGTCP2_ERR_CALLBACK_FAILURE;
  }

  static int on_stream_reset(ngtcp2_conn*, std::int64_t stream_id, std::uint64_t, std::uint64_t,
                             void* user, void*) {
    auto& self = of(user);
    if (!self.note_reset(stream_id)) return NGTCP2_ERR_CALLBACK_FAILURE;
    if (self.http_ != nullptr) nghttp3_conn_shutdown_stream_read(self.http_, stream_id);
    return 0;
  }

  static int on_stream_stop_sending(ngtcp2_conn*, std::int64_t stream_id, std::uint64_t, void* user,
                                    void*) {
    auto& self = of(user);
    if (!self.note_reset(stream_id)) return NGTCP2_ERR_CALLBACK_FAILURE;
    if (self.http_ != nullptr) nghttp3_conn_shutdown_stream_read(self.http_, stream_id);
    return 0;
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
    if (self.http_ != nullptr) nghttp3_conn_set_max_client_streams_bidi(self.http_, max_streams);
    return 0;
  }

  static int on_extend_max_stream_data(ngtcp2_conn*, std::int64_t stream_id, std::uint64_t,
                                       void* user, void*) {
    auto& self = of(user);
    if (self.http_ != nullptr && nghttp3_conn_unblock_stream(self.http_, stream_id) != 0) {
      return NGTCP2_ERR_CALLBACK_FAILURE;
    }
    return 0;
  }

  // --- nghttp3 callbacks ---

  static nghttp3_ssize read_body(nghttp3_conn*, std::int64_t, nghttp3_vec* vec, std::size_t veccnt,
                                 std::uint32_t* pflags, void*, void* stream_user) {
    auto* st = static_cast<H3Stream*>(stream_user);
    if (st == nullptr) return NGHTTP3_ERR_CALLBACK_FAILURE;
    std::size_t n = 0;
    while (n < veccnt && !st->body.empty()) {
      st->inflight.push_back(std::move(st->body.front()));
      st->body.pop_front();
      const BodyPiece& piece = st->inflight.back();
      vec[n].base = const_cast<std::uint8_t*>(piece.data());
      vec[n].len = piece.size();
      st->body_bytes += piece.size();
      ++n;
    }
    if (st->body.empty() && st->body_complete) {
      *pflags |= NGHTTP3_DATA_FLAG_EOF;
    } else if (n == 0) {
      return NGHTTP3_ERR_WOULDBLOCK;
    }
    return static_cast<nghttp3_ssize>(n);
  }

  static int on_http_acked(nghttp3_conn*, std::int64_t, std::uint64_t len, void* user,
                           void* stream_user) {
    auto& self = of(user);
    auto* st = static_cast<H3Stream*>(stream_user);
    if (st == nullptr) return 0;
    self.last_progress_ = Clock::now();
    st->acked_in_front += static_cast<std::size_t>(len);
    while (!st->inflight.empty() && st->acked_in_front >= st->inflight.front().size()) {
      st->acked_in_front -= st->inflight.front().size();
      st->inflight.pop_front();
    }
    return 0;
  }

  static int on_http_stream_close(nghttp3_conn*, std::int64_t stream_id,
                                  std::uint64_t app_error_code, void* user, void*) {
    auto& self = of(user);
    auto it = self.streams_.find(stream_id);
    if (it != self.streams_.end()) {
      H3Stream& st = *it->second;
      const bool complete = st.answered && st.body_complete && st.body.empty() &&
                            st.inflight.empty() && app_error_code == NGHTTP3_H3_NO_ERROR;
      self.end_exchange(st, !complete);
      self.streams_.erase(it);
    }
    if (ngtcp2_is_bidi_stream(stream_id) && !ngtcp2_conn_is_local_stream(self.conn_, stream_id)) {
      ngtcp2_conn_extend_max_streams_bidi(self.conn_, 1);
    }
    self.maybe_end_drain();
    return 0;
  }

  static int on_http_recv_data(nghttp3_conn*, std::int64_t stream_id, const std::uint8_t* data,
                               std::size_t len, void* user, void* stream_user) {
    auto& self = of(user);
    if (auto* st = static_cast<H3Stream*>(stream_user))
      st->incoming.add_body(data, len, self.ctx_->limits.request);
    ngtcp2_conn_extend_max_stream_offset(self.conn_, stream_id, len);
    ngtcp2_conn_extend_max_offset(self.conn_, len);
    return 0;
  }

  static int on_http_deferred_consume(nghttp3_conn*, std::int64_t stream_id, std::size_t consumed,
                                      void* user, void*) {
    auto& self = of(user);
    ngtcp2_conn_extend_max_stream_offset(self.conn_, stream_id, consumed);
    ngtcp2_conn_extend_max_offset(self.conn_, consumed);
    return 0;
  }

  static int on_http_begin_headers(nghttp3_conn* http, std::int64_t stream_id, void* user, void*) {
    auto& self = of(user);
    auto st = std::make_unique<H3Stream>(stream_id, self.remote_text_);
    nghttp3_conn_set_stream_user_data(http, stream_id, st.get());
    self.streams_[stream_id] = std::move(st);
    return 0;
  }

  static int on_http_recv_header(nghttp3_conn*, std::int64_t, std::int32_t, nghttp3_rcbuf* name,
                                 nghttp3_rcbuf* value, std::uint8_t, void* user,
                                 void* stream_user) {
    auto& self = of(user);
    auto* st = static_cast<H3Stream*>(stream_user);
    if (st == nullptr) return 0;
    const nghttp3_vec n = nghttp3_rcbuf_get_buf(name);
    const nghttp3_vec v = nghttp3_rcbuf_get_buf(value);
    st->incoming.add_field(std::string_view(reinterpret_cast<const char*>(n.base), n.len),
                           std::string_view(reinterpret_cast<const char*>(v.base), v.len),
                           self.ctx_->limits.request);
    return 0;
  }

  static int on_http_end_stream(nghttp3_conn*, std::int64_t, void* user, void* stream_user) {
    auto& self = of(user);
    if (auto* st = static_cast<H3Stream*>(stream_user)) {
      if (self.draining_) {
        // Arrived after GOAWAY was decided: not served, the client retries.
        ngtcp2_conn_shutdown_stream(self.conn_, st->id, NGHTTP3_H3_REQUEST_REJECTED);
        return 0;
      }
      self.dispatch(*st);
    }
    return 0;
  }

  static int on_http_stop_sending(nghttp3_conn*, std::int64_t stream_id,
                                  std::uint64_t app_error_code, void* user, void*) {
    auto& self = of(user);
    return ngtcp2_conn_shutdown_stream_read(self.conn_, stream_id, app_error_code) == 0
               ? 0
               : NGHTTP3_ERR_CALLBACK_FAILURE;
  }

  static int on_http_reset_stream(nghttp3_conn*, std::int64_t stream_id,
                                  std::uint64_t app_error_code, void* user, void*) {
    auto& self = of(user);
    return ngtcp2_conn_shutdown_stream_write(self.conn_, stream_id, app_error_code) == 0
               ? 0
               : NGHTTP3_ERR_CALLBACK_FAILURE;
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
  nghttp3_conn* http_ = nullptr;
  ngtcp2_cid scid_{};
  ngtcp2_connection_close_error last_error_{};
  net::UdpAddress local_;
  net::UdpAddress remote_;
  std::map<std::int64_t, std::unique_ptr<H3Stream>> streams_;

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
  Clock::time_point last_progress_{};
  Clock::time_point window_start_{};
  int resets_ = 0;
};

}  // namespace

std::shared_ptr<H3Connection> make_h3_connection(std::shared_ptr<const H3Context> ctx,
                                                 QuicHost& host, asio::any_io_executor executor,
                                                 std::string slot_address) {
  return std::make_shared<QuicConnection>(std::move(ctx), host, std::move(executor),
                                          std::move(slot_address));
}

}  // namespace mirror::http
