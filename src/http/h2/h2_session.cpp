#include "http/h2/h2_session.h"

#include "http/h1_wire.h"
#include "http/stream_exchange.h"
#include "http/stream_request.h"
#include "http/tls/tls_sessions.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <nghttp2/nghttp2.h>

#include <array>
#include <deque>
#include <map>
#include <optional>

namespace mirror::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using Clock = std::chrono::steady_clock;

namespace {

class H2Session;

using H2Exchange = StreamExchange<H2Session, std::int32_t>;

struct H2Stream {
  H2Stream(std::int32_t stream_id, std::string remote) : id(stream_id), incoming("HTTP/2", std::move(remote)) {}
  std::int32_t id = 0;
  StreamRequest incoming;
  bool dispatched = false;
  bool head_request = false;  // HEAD: the answer has no body whatever it says
  StreamExchangeSlot<H2Session, std::int32_t> exchange;
  int status = 0;
  bool head_only = false;     // HEAD, or a status without a body
  bool body_complete = false; // every byte of the body is queued
  bool answered = false;      // HEADERS submitted
  std::deque<BodyPiece> body;
  std::size_t offset = 0;     // into body.front()
  std::size_t queued = 0;     // bytes in body, from offset on
  std::uint64_t body_bytes = 0;
};

nghttp2_nv make_nv(const std::string& name, const std::string& value) {
  return nghttp2_nv{reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
                    NGHTTP2_NV_FLAG_NONE};
}

// HTTP/2's byte stream in the server: TLS on TCP.
class TlsTransport final : public H2Transport {
 public:
  explicit TlsTransport(TlsStream stream) : stream_(std::move(stream)) {
    remote_ = remote_of(lowest().socket());
    error_code ec;
    lowest().socket().set_option(tcp::no_delay(true), ec);
    lowest().expires_never();
  }
  asio::any_io_executor executor() override { return lowest().get_executor(); }
  void read_some(asio::mutable_buffer into, Handler done) override {
    stream_.async_read_some(into, std::move(done));
  }
  void write(asio::const_buffer bytes, Handler done) override { asio::async_write(stream_, bytes, std::move(done)); }
  void shutdown_send() override {
    error_code ec;
    lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
  }
  void close() override {
    error_code ec;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
    lowest().socket().close(ec);
  }
  const std::string& remote() const override { return remote_; }

 private:
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }
  TlsStream stream_;
  std::string remote_;
};

class H2Session final : public Session, public std::enable_shared_from_this<H2Session> {
 public:
  H2Session(std::shared_ptr<const H2Context> ctx, std::unique_ptr<H2Transport> transport,
            std::unique_ptr<ConnectionSlot> slot)
      : ctx_(std::move(ctx)), transport_(std::move(transport)), slot_(std::move(slot)),
        timer_(transport_->executor()),
        linger_timer_(transport_->executor()),
        remote_(transport_->remote()) {}

  ~H2Session() override {
    if (session_ != nullptr) nghttp2_session_del(session_);
  }

  asio::any_io_executor executor() override { return transport_->executor(); }

  void start() override {
    if (!open_session()) {
      close();
      return;
    }
    last_activity_ = Clock::now();
    last_progress_ = last_activity_;
    window_start_ = last_activity_;
    arm_timer();
    do_read();
    flush();
  }

  void drain() override {
    if (closed_ || draining_) return;
    draining_ = true;
    nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(session_),
                          NGHTTP2_NO_ERROR, nullptr, 0);
    flush();
  }

  void close() override {
    if (closed_) return;
    closed_ = true;
    timer_.cancel();
    linger_timer_.cancel();
    transport_->close();
    for (auto& [id, st] : streams_) end_exchange(*st, true);
    streams_.clear();
    if (slot_) slot_->release();
  }

  // --- answers, always run on this connection's executor ---

  void respond(std::int32_t id, std::shared_ptr<H2Exchange> ex, Response&& r) {
    H2Stream* st = find(id);
    if (st == nullptr || st->answered) return;
    st->exchange.answering = std::move(ex);
    st->status = r.status;
    st->head_only = st->head_request || status_has_no_body(r.status);
    const std::size_t size = r.body_size();
    if (!st->head_only) {
      take_body(r, st->body);
      st->queued = size;
    }
    st->body_complete = true;
    submit_head(*st, r.status, r.headers, status_has_no_body(r.status) ? std::nullopt : std::optional(size));
  }

  void head(std::int32_t id, std::shared_ptr<H2Exchange> ex, int status, Headers&& headers) {
    H2Stream* st = find(id);
    if (st == nullptr || st->answered) return;
    st->exchange.answering = std::move(ex);
    st->status = status;
    st->head_only = st->head_request || status_has_no_body(status);
    submit_head(*st, status, headers, std::nullopt);
  }

  void chunk(std::int32_t id, BodyPiece piece) {
    H2Stream* st = find(id);
    if (st == nullptr || st->head_only || st->body_complete || piece.size() == 0) return;
    if (st->body.empty()) last_progress_ = Clock::now();
    st->queued += piece.size();
    st->body.push_back(std::move(piece));
    nghttp2_session_resume_data(session_, id);
    flush();
  }

  void end(std::int32_t id) {
    H2Stream* st = find(id);
    if (st == nullptr || st->body_complete) return;
    st->body_complete = true;
    nghttp2_session_resume_data(session_, id);
    flush();
  }

  // The handler let go of the exchange without answering: a bug, but the
  // client still deserves an answer.
  void abandoned(std::int32_t id) {
    H2Stream* st = find(id);
    if (st == nullptr || st->answered) return;
    core::log::error("request dropped without an answer", {{"server", ctx_->server_name}});
    respond(id, nullptr,
            json_response(500, core::Error(core::ErrorCode::kInternal, "request was not answered").to_json_string()));
  }

 private:
  H2Stream* find(std::int32_t id) {
    auto it = streams_.find(id);
    return it == streams_.end() ? nullptr : it->second.get();
  }

  void count(std::string_view reason) {
    if (ctx_->listener != nullptr) ctx_->listener->count_protocol_error(reason, remote_);
  }

  bool open_session() {
    nghttp2_session_callbacks* callbacks = nullptr;
    if (nghttp2_session_callbacks_new(&callbacks) != 0) return false;
    nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, &H2Session::on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(callbacks, &H2Session::on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &H2Session::on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &H2Session::on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &H2Session::on_stream_close);
    nghttp2_session_callbacks_set_on_begin_frame_callback(callbacks, &H2Session::on_begin_frame);
    nghttp2_session_callbacks_set_send_data_callback(callbacks, &H2Session::send_data);
    nghttp2_option* option = nullptr;
    if (nghttp2_option_new(&option) != 0) {
      nghttp2_session_callbacks_del(callbacks);
      return false;
    }
    const auto& l = ctx_->limits;
    nghttp2_option_set_max_continuations(option, static_cast<std::size_t>(std::max(1, l.max_continuations)));
    nghttp2_option_set_max_settings(option, 32);
    // Above Mirror's own count of SETTINGS and PING frames (acknowledgements
    // queued never outnumber the frames received), so that Mirror's limit,
    // which is counted and logged by name, is the one that acts.
    nghttp2_option_set_max_outbound_ack(option, static_cast<std::size_t>(std::max(1000, 2 * l.max_control_frames)));
    nghttp2_option_set_max_deflate_dynamic_table_size(option, 4096);
    // The library's own guard against rapid reset, above Mirror's count so
    // that Mirror's (which logs and counts) acts first.
    nghttp2_option_set_stream_reset_rate_limit(option, static_cast<std::uint64_t>(l.max_resets) * 2, 100);
    const int rv = nghttp2_session_server_new2(&session_, callbacks, this, option);
    nghttp2_option_del(option);
    nghttp2_session_callbacks_del(callbacks);
    if (rv != 0) return false;
    const std::array<nghttp2_settings_entry, 3> settings = {{
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, l.max_concurrent_streams},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<std::uint32_t>(l.request.header_limit)},
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
    }};
    return nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings.data(), settings.size()) == 0;
  }

  // --- reading ---

  void do_read() {
    if (closed_) return;
    transport_->read_some(asio::buffer(read_buffer_), [self = shared_from_this()](error_code ec, std::size_t n) {
      self->on_read(ec, n);
    });
  }

  void on_read(error_code ec, std::size_t n) {
    if (closed_) return;
    if (ec) {
      close();
      return;
    }
    if (closing_) {
      // GOAWAY is queued or sent: what the client still sends is read and
      // dropped, so that closing the socket does not reset the connection
      // (a reset can destroy the GOAWAY before the client reads it).
      do_read();
      return;
    }
    last_activity_ = Clock::now();
    const auto rv = nghttp2_session_mem_recv(session_, read_buffer_.data(), n);
    if (rv < 0 && closing_) {
      // One of Mirror's own limits stopped the input and queued GOAWAY.
      flush();
      do_read();
      return;
    }
    if (rv < 0) {
      count(rv == NGHTTP2_ERR_FLOODED ? "h2_flood" : rv == NGHTTP2_ERR_BAD_CLIENT_MAGIC ? "h2_preface" : "h2_protocol");
      if (rv != NGHTTP2_ERR_BAD_CLIENT_MAGIC) {
        nghttp2_session_terminate_session(session_, rv == NGHTTP2_ERR_FLOODED ? NGHTTP2_ENHANCE_YOUR_CALM
                                                                               : NGHTTP2_PROTOCOL_ERROR);
        closing_ = true;
        flush();
        do_read();
      } else {
        close();
      }
      return;
    }
    flush();
    do_read();
  }

  // Everything is written, GOAWAY last: the sending side is shut and the
  // socket closes a moment later, or when the client closes first.
  void linger() {
    if (lingering_ || closed_) return;
    lingering_ = true;
    closing_ = true;
    transport_->shutdown_send();
    linger_timer_.expires_after(std::chrono::seconds(1));
    linger_timer_.async_wait([self = shared_from_this()](error_code) { self->close(); });
  }

  // --- writing ---

  void flush() {
    if (closed_ || writing_) return;
    out_.clear();
    while (out_.size() < 256 * 1024) {
      const std::uint8_t* data = nullptr;
      const auto n = nghttp2_session_mem_send(session_, &data);
      if (n < 0) {
        close();
        return;
      }
      if (n == 0) break;
      out_.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    }
    if (out_.empty()) {
      const bool done = !nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_);
      if (done || closing_ || (draining_ && streams_.empty())) linger();
      return;
    }
    writing_ = true;
    transport_->write(asio::buffer(out_), [self = shared_from_this()](error_code ec, std::size_t) {
      self->writing_ = false;
      if (ec) {
        self->close();
        return;
      }
      self->last_progress_ = Clock::now();
      self->flush();
    });
  }

  void submit_head(H2Stream& st, int status, const Headers& headers, std::optional<std::size_t> content_length) {
    st.answered = true;
    const auto fields = response_fields(status, headers, content_length);
    std::vector<nghttp2_nv> nva;
    nva.reserve(fields.size());
    for (const auto& [name, value] : fields) nva.push_back(make_nv(name, value));
    nghttp2_data_provider provider{};
    provider.read_callback = &H2Session::read_body;
    const bool body = !st.head_only;
    if (!st.body.empty()) last_progress_ = Clock::now();
    if (nghttp2_submit_response(session_, st.id, nva.data(), nva.size(), body ? &provider : nullptr) != 0) {
      nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, st.id, NGHTTP2_INTERNAL_ERROR);
    }
    if (!body) st.body_complete = true;
    flush();
  }


  // How much of the body the next DATA frame carries. The bytes are not
  // copied into nghttp2's buffer (NO_COPY): send_data writes them straight
  // into the connection's output after the frame header.
  static ssize_t read_body(nghttp2_session*, std::int32_t id, std::uint8_t*, std::size_t length,
                           std::uint32_t* flags, nghttp2_data_source*, void* user) {
    auto* self = static_cast<H2Session*>(user);
    H2Stream* st = self->find(id);
    if (st == nullptr) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    const std::size_t n = std::min(length, st->queued);
    if (n == 0 && !st->body_complete) return NGHTTP2_ERR_DEFERRED;
    *flags |= NGHTTP2_DATA_FLAG_NO_COPY;
    if (st->body_complete && n == st->queued) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }

  static int send_data(nghttp2_session*, nghttp2_frame* frame, const std::uint8_t* framehd, std::size_t length,
                       nghttp2_data_source*, void* user) {
    auto* self = static_cast<H2Session*>(user);
    H2Stream* st = self->find(frame->hd.stream_id);
    if (st == nullptr || length > st->queued) return NGHTTP2_ERR_CALLBACK_FAILURE;
    self->out_.append(reinterpret_cast<const char*>(framehd), 9);
    std::size_t left = length;
    while (left > 0) {
      const BodyPiece& front = st->body.front();
      const std::size_t take = std::min(left, front.size() - st->offset);
      self->out_.append(reinterpret_cast<const char*>(front.data() + st->offset), take);
      left -= take;
      st->offset += take;
      if (st->offset == front.size()) {
        st->body.pop_front();
        st->offset = 0;
      }
    }
    st->queued -= length;
    st->body_bytes += length;
    return 0;
  }

  // --- nghttp2 callbacks (on this connection's thread, inside mem_recv) ---

  static int on_begin_frame(nghttp2_session*, const nghttp2_frame_hd* hd, void* user) {
    auto* self = static_cast<H2Session*>(user);
    switch (hd->type) {
      case NGHTTP2_SETTINGS:
      case NGHTTP2_PING:
      case NGHTTP2_PRIORITY:
        if ((hd->flags & NGHTTP2_FLAG_ACK) == 0 && !self->note_control_frame()) {
          return NGHTTP2_ERR_CALLBACK_FAILURE;
        }
        break;
      default:
        break;
    }
    return 0;
  }

  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    auto* self = static_cast<H2Session*>(user);
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    auto st = std::make_unique<H2Stream>(frame->hd.stream_id, self->remote_);
    self->streams_[st->id] = std::move(st);
    return 0;
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name, std::size_t namelen,
                       const std::uint8_t* value, std::size_t valuelen, std::uint8_t, void* user) {
    auto* self = static_cast<H2Session*>(user);
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    H2Stream* st = self->find(frame->hd.stream_id);
    if (st == nullptr) return 0;
    st->incoming.add_field(std::string_view(reinterpret_cast<const char*>(name), namelen),
                           std::string_view(reinterpret_cast<const char*>(value), valuelen), self->ctx_->limits.request);
    return 0;
  }

  static int on_data_chunk(nghttp2_session*, std::uint8_t, std::int32_t id, const std::uint8_t* data, std::size_t len,
                           void* user) {
    auto* self = static_cast<H2Session*>(user);
    if (H2Stream* st = self->find(id)) st->incoming.add_body(data, len, self->ctx_->limits.request);
    return 0;
  }

  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    auto* self = static_cast<H2Session*>(user);
    const bool ends_request = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0 &&
                              (frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA);
    if (frame->hd.type == NGHTTP2_RST_STREAM && !self->note_reset(frame->hd.stream_id)) {
      return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    if (ends_request) {
      if (H2Stream* st = self->find(frame->hd.stream_id)) self->dispatch(*st);
    }
    return 0;
  }

  static int on_stream_close(nghttp2_session*, std::int32_t id, std::uint32_t error, void* user) {
    auto* self = static_cast<H2Session*>(user);
    auto it = self->streams_.find(id);
    if (it == self->streams_.end()) return 0;
    H2Stream& st = *it->second;
    const bool complete = st.answered && st.body_complete && st.body.empty() && error == NGHTTP2_NO_ERROR;
    self->end_exchange(st, !complete);
    self->streams_.erase(it);
    return 0;
  }

  // A client RST_STREAM for a stream whose answer was not finished: counted
  // towards the rapid-reset limit.
  bool note_reset(std::int32_t id) {
    H2Stream* st = find(id);
    if (st == nullptr || (st->answered && st->body_complete)) return true;
    roll_window();
    return ++resets_ <= ctx_->limits.max_resets || calm_down("h2_rapid_reset");
  }

  bool note_control_frame() {
    roll_window();
    return ++control_frames_ <= ctx_->limits.max_control_frames || calm_down("h2_control_flood");
  }

  // A limit passed: counted, GOAWAY ENHANCE_YOUR_CALM queued, input ignored
  // from here on. False, for the callback to stop nghttp2.
  bool calm_down(std::string_view reason) {
    count(reason);
    nghttp2_session_terminate_session(session_, NGHTTP2_ENHANCE_YOUR_CALM);
    closing_ = true;
    return false;
  }

  void roll_window() {
    const auto now = Clock::now();
    if (now - window_start_ < ctx_->limits.abuse_window) return;
    window_start_ = now;
    resets_ = 0;
    control_frames_ = 0;
  }

  void dispatch(H2Stream& st) {
    if (st.dispatched) return;
    st.dispatched = true;
    st.head_request = st.incoming.request().method == "HEAD";
    if (const int rejected = st.incoming.complete(); rejected != 0) {
      count(rejection_reason(rejected));
      respond(st.id, nullptr, rejection_response(rejected));
      return;
    }
    st.exchange.start(std::move(st.incoming.request()), shared_from_this(), st.id, executor(), ctx_->pipeline);
  }

  void end_exchange(H2Stream& st, bool aborted) { st.exchange.end(st.status, st.body_bytes, aborted); }

  // --- time ---

  void arm_timer() {
    timer_.expires_after(std::chrono::seconds(1));
    timer_.async_wait([weak = weak_from_this()](error_code ec) {
      if (ec) return;
      if (auto self = weak.lock()) self->on_timer();
    });
  }

  void on_timer() {
    if (closed_) return;
    const auto now = Clock::now();
    bool waiting_output = writing_;
    for (const auto& [id, st] : streams_) waiting_output = waiting_output || !st->body.empty();
    if (waiting_output && now - last_progress_ > ctx_->limits.write_timeout) {
      count("h2_stalled");
      close();
      return;
    }
    if (streams_.empty() && now - last_activity_ > ctx_->limits.idle_timeout && !closing_) {
      nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);
      closing_ = true;
      flush();
    }
    arm_timer();
  }

  std::shared_ptr<const H2Context> ctx_;
  std::unique_ptr<H2Transport> transport_;
  std::unique_ptr<ConnectionSlot> slot_;
  asio::steady_timer timer_;
  asio::steady_timer linger_timer_;
  nghttp2_session* session_ = nullptr;
  std::string remote_;
  std::array<std::uint8_t, 16 * 1024> read_buffer_{};
  std::string out_;
  std::map<std::int32_t, std::unique_ptr<H2Stream>> streams_;

  Clock::time_point last_activity_{};
  Clock::time_point last_progress_{};
  Clock::time_point window_start_{};
  int resets_ = 0;
  int control_frames_ = 0;
  bool writing_ = false;
  bool draining_ = false;
  bool closing_ = false;  // GOAWAY queued: close once it is written
  bool lingering_ = false;
  bool closed_ = false;
};

}  // namespace

std::shared_ptr<Session> make_h2_session(std::shared_ptr<const H2Context> context,
                                         std::unique_ptr<H2Transport> transport, std::unique_ptr<ConnectionSlot> slot) {
  return std::make_shared<H2Session>(std::move(context), std::move(transport), std::move(slot));
}

std::shared_ptr<Session> make_h2_session(std::shared_ptr<const H2Context> context, TlsStream stream,
                                         std::unique_ptr<ConnectionSlot> slot) {
  return make_h2_session(std::move(context), std::make_unique<TlsTransport>(std::move(stream)), std::move(slot));
}

}  // namespace mirror::http
