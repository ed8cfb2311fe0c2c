#include "http/h3/h3_session.h"

#include "core/logging.h"
#include "http/h1_wire.h"
#include "http/stream_exchange.h"

#include <deque>

namespace mirror::http {

namespace {

nghttp3_nv make_nv(const std::string& name, const std::string& value) {
  return nghttp3_nv{reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(),
                    value.size(), NGHTTP3_NV_FLAG_NONE};
}

// A request stream of the client's (bidirectional, client-initiated).
bool client_request_stream(std::int64_t id) { return (id & 0x3) == 0; }

H3Session& of(void* user) { return *static_cast<H3Session*>(user); }

}  // namespace

struct H3Session::Stream {
  Stream(std::int64_t stream_id, std::string remote)
      : id(stream_id), incoming("HTTP/3", std::move(remote)) {}
  std::int64_t id;
  StreamRequest incoming;
  bool dispatched = false;
  bool head_request = false;
  bool reset_counted = false;
  StreamExchangeSlot<H3Session, std::int64_t> exchange;
  int status = 0;
  bool head_only = false;
  bool body_complete = false;
  bool answered = false;
  std::deque<BodyPiece> body;      // not given to nghttp3 yet
  std::deque<BodyPiece> inflight;  // given to nghttp3, kept until the client acknowledges them
  std::size_t acked_in_front = 0;  // bytes of inflight.front() acknowledged
  std::uint64_t body_bytes = 0;
};

H3Session::H3Session(std::shared_ptr<const H3Context> ctx, H3Transport& transport,
                     boost::asio::any_io_executor executor, std::string remote)
    : ctx_(std::move(ctx)),
      transport_(&transport),
      executor_(std::move(executor)),
      remote_(std::move(remote)),
      last_progress_(Clock::now()),
      window_start_(last_progress_) {}

H3Session::~H3Session() {
  if (http_ != nullptr) nghttp3_conn_del(http_);
}

bool H3Session::start() {
  if (http_ != nullptr) return true;
  if (transport_ == nullptr) return false;
  nghttp3_callbacks callbacks{};
  callbacks.acked_stream_data = &H3Session::on_acked;
  callbacks.stream_close = &H3Session::on_stream_close;
  callbacks.recv_data = &H3Session::on_recv_data;
  callbacks.deferred_consume = &H3Session::on_deferred_consume;
  callbacks.begin_headers = &H3Session::on_begin_headers;
  callbacks.recv_header = &H3Session::on_recv_header;
  callbacks.stop_sending = &H3Session::on_stop_sending;
  callbacks.end_stream = &H3Session::on_end_stream;
  callbacks.reset_stream = &H3Session::on_reset_stream;
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
  return transport_->open_uni_stream(control) &&
         nghttp3_conn_bind_control_stream(http_, control) == 0 &&
         transport_->open_uni_stream(encoder) && transport_->open_uni_stream(decoder) &&
         nghttp3_conn_bind_qpack_streams(http_, encoder, decoder) == 0;
}

void H3Session::detach() {
  if (transport_ == nullptr) return;
  transport_ = nullptr;
  auto streams = std::move(streams_);
  streams_.clear();
  for (auto& [id, st] : streams) end_exchange(*st, true);
  if (http_ != nullptr) {
    nghttp3_conn_del(http_);
    http_ = nullptr;
  }
}

H3Session::Stream* H3Session::find(std::int64_t id) {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : it->second.get();
}

void H3Session::count(std::string_view reason) {
  if (ctx_->count) ctx_->count(reason, remote_);
}

// --- input ---

std::uint64_t H3Session::read(std::int64_t id, const std::uint8_t* data, std::size_t size,
                              bool fin) {
  if (http_ == nullptr) return 0;
  const nghttp3_ssize consumed = nghttp3_conn_read_stream(http_, id, data, size, fin ? 1 : 0);
  if (consumed < 0) {
    count("h3_protocol");
    return nghttp3_err_infer_quic_app_error_code(static_cast<int>(consumed));
  }
  if (transport_ != nullptr && consumed > 0)
    transport_->consumed(id, static_cast<std::size_t>(consumed));
  return 0;
}

bool H3Session::acked(std::int64_t id, std::uint64_t bytes) {
  return http_ == nullptr || nghttp3_conn_add_ack_offset(http_, id, bytes) == 0;
}

bool H3Session::stream_closed(std::int64_t id, std::uint64_t app_error_code) {
  if (http_ == nullptr) return true;
  const int rv = nghttp3_conn_close_stream(http_, id, app_error_code);
  if (rv == NGHTTP3_ERR_STREAM_NOT_FOUND) {
    // A stream nghttp3 never saw (reset before any byte): its slot still comes back.
    if (client_request_stream(id) && transport_ != nullptr) transport_->request_stream_closed();
    return true;
  }
  return rv == 0;
}

// A client that cancels a request before its answer is complete; too many
// in a window is an attack (the HTTP/3 form of rapid reset).
bool H3Session::stream_reset(std::int64_t id) {
  Stream* st = find(id);
  if (st != nullptr && !st->reset_counted &&
      !(st->answered && st->body_complete && st->body.empty())) {
    st->reset_counted = true;
    const auto now = Clock::now();
    if (now - window_start_ >= ctx_->limits.abuse_window) {
      window_start_ = now;
      resets_ = 0;
    }
    if (++resets_ > ctx_->limits.max_resets) {
      count("h3_rapid_reset");
      return false;
    }
  }
  if (http_ != nullptr) nghttp3_conn_shutdown_stream_read(http_, id);
  return true;
}

void H3Session::set_max_client_streams(std::uint64_t max_streams) {
  if (http_ != nullptr) nghttp3_conn_set_max_client_streams_bidi(http_, max_streams);
}

bool H3Session::unblock(std::int64_t id) {
  return http_ == nullptr || nghttp3_conn_unblock_stream(http_, id) == 0;
}

// --- output ---

nghttp3_ssize H3Session::next_output(std::int64_t& id, int& fin, nghttp3_vec* vec,
                                     std::size_t count) {
  if (http_ == nullptr) return 0;
  return nghttp3_conn_writev_stream(http_, &id, &fin, vec, count);
}

bool H3Session::wrote(std::int64_t id, std::size_t bytes) {
  return http_ == nullptr || nghttp3_conn_add_write_offset(http_, id, bytes) == 0;
}

void H3Session::blocked(std::int64_t id) {
  if (http_ != nullptr) nghttp3_conn_block_stream(http_, id);
}

void H3Session::write_shut(std::int64_t id) {
  if (http_ != nullptr) nghttp3_conn_shutdown_stream_write(http_, id);
}

void H3Session::goaway() {
  if (going_away_) return;
  going_away_ = true;
  if (http_ != nullptr) nghttp3_conn_shutdown(http_);
  if (transport_ != nullptr) transport_->wake();
}

bool H3Session::waiting_on_client() const {
  for (const auto& [id, st] : streams_) {
    if (!st->body.empty() || !st->inflight.empty()) return true;
  }
  return false;
}

// --- answers ---

void H3Session::respond(std::int64_t id, std::shared_ptr<H3Exchange> ex, Response&& r) {
  Stream* st = find(id);
  if (st == nullptr || st->answered) return;
  st->exchange.answering = std::move(ex);
  st->status = r.status;
  st->head_only = st->head_request || status_has_no_body(r.status);
  const std::size_t size = r.body_size();
  if (!st->head_only) take_body(r, st->body);
  st->body_complete = true;
  submit_head(*st, r.status, r.headers,
              status_has_no_body(r.status) ? std::nullopt : std::optional(size));
}

void H3Session::head(std::int64_t id, std::shared_ptr<H3Exchange> ex, int status,
                     Headers&& headers) {
  Stream* st = find(id);
  if (st == nullptr || st->answered) return;
  st->exchange.answering = std::move(ex);
  st->status = status;
  st->head_only = st->head_request || status_has_no_body(status);
  submit_head(*st, status, headers, std::nullopt);
}

void H3Session::chunk(std::int64_t id, BodyPiece piece) {
  Stream* st = find(id);
  if (st == nullptr || st->head_only || st->body_complete || piece.size() == 0) return;
  if (st->body.empty() && st->inflight.empty()) last_progress_ = Clock::now();
  st->body.push_back(std::move(piece));
  if (http_ != nullptr) nghttp3_conn_resume_stream(http_, id);
  if (transport_ != nullptr) transport_->wake();
}

void H3Session::end(std::int64_t id) {
  Stream* st = find(id);
  if (st == nullptr || st->body_complete) return;
  st->body_complete = true;
  if (http_ != nullptr) nghttp3_conn_resume_stream(http_, id);
  if (transport_ != nullptr) transport_->wake();
}

void H3Session::abandoned(std::int64_t id) {
  Stream* st = find(id);
  if (st == nullptr || st->answered) return;
  core::log::error("request dropped without an answer", {{"server", ctx_->server_name}});
  respond(id, nullptr,
          json_response(500, core::Error(core::ErrorCode::kInternal, "request was not answered")
                                 .to_json_string()));
}

void H3Session::submit_head(Stream& st, int status, const Headers& headers,
                            std::optional<std::size_t> content_length) {
  st.answered = true;
  if (http_ == nullptr || transport_ == nullptr) return;
  const auto fields = response_fields(status, headers, content_length);
  std::vector<nghttp3_nv> nva;
  nva.reserve(fields.size());
  for (const auto& [name, value] : fields) nva.push_back(make_nv(name, value));
  nghttp3_data_reader reader{};
  reader.read_data = &H3Session::read_body;
  if (!st.body.empty()) last_progress_ = Clock::now();
  if (nghttp3_conn_submit_response(http_, st.id, nva.data(), nva.size(),
                                   st.head_only ? nullptr : &reader) != 0) {
    transport_->reset_stream(st.id, NGHTTP3_H3_INTERNAL_ERROR);
  }
  if (st.head_only) st.body_complete = true;
  transport_->wake();
}

void H3Session::dispatch(Stream& st) {
  if (st.dispatched) return;
  st.dispatched = true;
  st.head_request = st.incoming.request().method == "HEAD";
  if (const int rejected = st.incoming.complete(); rejected != 0) {
    count(rejection_reason(rejected));
    respond(st.id, nullptr, rejection_response(rejected));
    return;
  }
  st.exchange.start(std::move(st.incoming.request()), shared_from_this(), st.id, executor_,
                    ctx_->pipeline);
}

void H3Session::end_exchange(Stream& st, bool aborted) {
  st.exchange.end(st.status, st.body_bytes, aborted);
}

// --- nghttp3 callbacks (inside read, next_output, acked and stream_closed) ---

nghttp3_ssize H3Session::read_body(nghttp3_conn*, std::int64_t, nghttp3_vec* vec,
                                   std::size_t veccnt, std::uint32_t* pflags, void*,
                                   void* stream_user) {
  auto* st = static_cast<Stream*>(stream_user);
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

int H3Session::on_acked(nghttp3_conn*, std::int64_t, std::uint64_t len, void* user,
                        void* stream_user) {
  auto& self = of(user);
  auto* st = static_cast<Stream*>(stream_user);
  if (st == nullptr) return 0;
  self.last_progress_ = Clock::now();
  st->acked_in_front += static_cast<std::size_t>(len);
  while (!st->inflight.empty() && st->acked_in_front >= st->inflight.front().size()) {
    st->acked_in_front -= st->inflight.front().size();
    st->inflight.pop_front();
  }
  return 0;
}

int H3Session::on_stream_close(nghttp3_conn*, std::int64_t id, std::uint64_t app_error_code,
                               void* user, void*) {
  auto& self = of(user);
  auto it = self.streams_.find(id);
  if (it != self.streams_.end()) {
    Stream& st = *it->second;
    const bool complete = st.answered && st.body_complete && st.body.empty() &&
                          st.inflight.empty() && app_error_code == NGHTTP3_H3_NO_ERROR;
    self.end_exchange(st, !complete);
    self.streams_.erase(it);
  }
  if (client_request_stream(id) && self.transport_ != nullptr)
    self.transport_->request_stream_closed();
  return 0;
}

int H3Session::on_recv_data(nghttp3_conn*, std::int64_t id, const std::uint8_t* data,
                            std::size_t len, void* user, void* stream_user) {
  auto& self = of(user);
  if (auto* st = static_cast<Stream*>(stream_user))
    st->incoming.add_body(data, len, self.ctx_->limits.request);
  if (self.transport_ != nullptr) self.transport_->consumed(id, len);
  return 0;
}

int H3Session::on_deferred_consume(nghttp3_conn*, std::int64_t id, std::size_t consumed,
                                   void* user, void*) {
  auto& self = of(user);
  if (self.transport_ != nullptr) self.transport_->consumed(id, consumed);
  return 0;
}

int H3Session::on_begin_headers(nghttp3_conn* http, std::int64_t id, void* user, void*) {
  auto& self = of(user);
  auto st = std::make_unique<Stream>(id, self.remote_);
  nghttp3_conn_set_stream_user_data(http, id, st.get());
  self.streams_[id] = std::move(st);
  return 0;
}

int H3Session::on_recv_header(nghttp3_conn*, std::int64_t, std::int32_t, nghttp3_rcbuf* name,
                              nghttp3_rcbuf* value, std::uint8_t, void* user, void* stream_user) {
  auto& self = of(user);
  auto* st = static_cast<Stream*>(stream_user);
  if (st == nullptr) return 0;
  const nghttp3_vec n = nghttp3_rcbuf_get_buf(name);
  const nghttp3_vec v = nghttp3_rcbuf_get_buf(value);
  st->incoming.add_field(std::string_view(reinterpret_cast<const char*>(n.base), n.len),
                         std::string_view(reinterpret_cast<const char*>(v.base), v.len),
                         self.ctx_->limits.request);
  return 0;
}

int H3Session::on_end_stream(nghttp3_conn*, std::int64_t, void* user, void* stream_user) {
  auto& self = of(user);
  if (auto* st = static_cast<Stream*>(stream_user)) {
    if (self.going_away_) {
      // Arrived after GOAWAY was decided: not served, the client retries.
      if (self.transport_ != nullptr)
        self.transport_->reset_stream(st->id, NGHTTP3_H3_REQUEST_REJECTED);
      return 0;
    }
    self.dispatch(*st);
  }
  return 0;
}

int H3Session::on_stop_sending(nghttp3_conn*, std::int64_t id, std::uint64_t app_error_code,
                               void* user, void*) {
  auto& self = of(user);
  if (self.transport_ != nullptr) self.transport_->stop_reading(id, app_error_code);
  return 0;
}

int H3Session::on_reset_stream(nghttp3_conn*, std::int64_t id, std::uint64_t app_error_code,
                               void* user, void*) {
  auto& self = of(user);
  if (self.transport_ != nullptr) self.transport_->stop_writing(id, app_error_code);
  return 0;
}

}  // namespace mirror::http
