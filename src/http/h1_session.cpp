#include "http/h1_session.h"

#include "http/tls/tls_sessions.h"

#include "http/h1_wire.h"
#include "http/target.h"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include <deque>
#include <optional>
#include <vector>

namespace mirror::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {

template <typename Stream>
class H1Session;

// The exchange of one HTTP/1.1 request; forwards answers to its connection.
template <typename Stream>
class H1Exchange final : public Exchange {
 public:
  H1Exchange(Request request, std::shared_ptr<H1Session<Stream>> session, asio::any_io_executor executor)
      : Exchange(std::move(request)), session_(std::move(session)), executor_(std::move(executor)) {}
  ~H1Exchange() override;

  void transport_finished(int status, std::uint64_t bytes, bool aborted) {
    finish(status, bytes, aborted);
  }
  void transport_cancelled() { cancel(); }
  std::shared_ptr<H1Exchange<Stream>> self();

 protected:
  void send_response(Response&& response) override;
  void send_head(int status, Headers&& headers) override;
  void send_chunk(std::string&& chunk) override;
  void send_shared_chunk(core::SharedBytes&& chunk) override;
  void send_end() override;

 private:
  std::shared_ptr<H1Session<Stream>> session_;
  asio::any_io_executor executor_;
};

template <typename Stream>
class H1Session final : public Session, public std::enable_shared_from_this<H1Session<Stream>> {
  using Exchange = H1Exchange<Stream>;

 public:
  H1Session(std::shared_ptr<const H1Context> ctx, Stream stream, std::unique_ptr<ConnectionSlot> slot)
      : ctx_(std::move(ctx)), stream_(std::move(stream)), slot_(std::move(slot)) {
    remote_ = remote_of(lowest().socket());
    error_code ec;
    lowest().socket().set_option(tcp::no_delay(true), ec);
  }

  ~H1Session() override { release_slot(); }

  asio::any_io_executor executor() override { return lowest().get_executor(); }

  void start() override { read_request(); }

  // Server stopping: an idle connection closes now; a busy one after its answer.
  void drain() override {
    draining_ = true;
    if (reading_ && !parser_->got_some()) close();
  }

  void close() override {
    if (closed_) return;
    closed_ = true;
    error_code ec;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
    lowest().socket().close(ec);
    std::shared_ptr<Exchange> ex = answering_ ? std::move(answering_) : pending_.lock();
    pending_.reset();
    if (ex) {
      ex->transport_cancelled();
      ex->transport_finished(status_, body_bytes_, true);
    }
    release_slot();
  }

  // --- answers, always run on this connection's executor ---

  void write_response(std::shared_ptr<Exchange> ex, Response&& r) {
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

  void write_head(std::shared_ptr<Exchange> ex, int status, Headers&& headers) {
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
    core::log::error("request dropped without an answer", {{"server", ctx_->server_name}});
    Response r = json_response(
        500, core::Error(core::ErrorCode::kInternal, "request was not answered").to_json_string());
    keep_alive_ = false;
    write_response(nullptr, std::move(r));
  }

 private:
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

  void release_slot() {
    if (slot_) slot_->release();
  }

  void count_protocol_error(std::string_view kind) {
    if (ctx_->listener != nullptr) ctx_->listener->count_protocol_error(kind, remote_);
  }

  void read_request() {
    if (closed_) return;
    if (draining_) {
      close();
      return;
    }
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(ctx_->limits.header_limit));
    parser_->body_limit(ctx_->limits.body_limit);
    // One deadline for the whole request: a client trickling bytes (or an idle
    // keep-alive connection) is closed when it passes.
    lowest().expires_after(ctx_->limits.read_timeout);
    reading_ = true;
    beast::http::async_read(stream_, buffer_, *parser_,
                            [self = this->shared_from_this()](error_code ec, std::size_t) {
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
          count_protocol_error("timeout");
        }
        close();
      } else if (ec == he::header_limit) {
        count_protocol_error("header_too_large");
        reject(431, "request header too large");
      } else if (ec == he::body_limit) {
        count_protocol_error("body_too_large");
        reject(413, "request body too large");
      } else if (ec.category() == beast::http::make_error_code(he::bad_method).category()) {
        count_protocol_error("malformed");
        reject(400, "malformed request");
      } else {
        close();
      }
      return;
    }

    auto& msg = parser_->get();
    std::size_t field_count = 0;
    for (auto it = msg.begin(); it != msg.end(); ++it) ++field_count;
    if (field_count > ctx_->limits.max_header_count) {
      count_protocol_error("too_many_headers");
      reject(431, "too many request header fields");
      return;
    }
    if (msg.version() != 11 && msg.version() != 10) {
      count_protocol_error("version");
      reject(505, "only HTTP/1.0 and HTTP/1.1 are spoken here");
      return;
    }

    Request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    req.protocol = msg.version() == 11 ? "HTTP/1.1" : "HTTP/1.0";
    req.secure = std::is_same_v<Stream, TlsStream>;
    req.remote_address = remote_;
    req.received_at = std::chrono::steady_clock::now();
    for (const auto& f : msg) req.headers.add(f.name_string(), f.value());
    req.body = std::move(msg.body());
    keep_alive_ = msg.keep_alive();
    head_request_ = req.method == "HEAD";

    auto target = parse_target(req.target);
    if (!target) {
      count_protocol_error("bad_target");
      reject(400, target.error().message);
      return;
    }
    req.path = std::move(target->path);
    req.query = std::move(target->query);

    // No deadline while the handler works: a held request may wait as long as
    // its handler decides. Writes get their own deadline.
    lowest().expires_never();
    status_ = 0;
    body_bytes_ = 0;
    response_complete_ = false;
    head_only_stream_ = false;
    auto ex = std::make_shared<Exchange>(std::move(req), this->shared_from_this(), executor());
    pending_ = ex;
    ctx_->pipeline.dispatch(ex);
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
    lowest().expires_after(ctx_->limits.write_timeout);
    asio::async_write(stream_, buffers_, [self = this->shared_from_this()](error_code ec, std::size_t) {
      self->on_write(ec);
    });
  }

  void on_write(error_code ec) {
    writing_ = false;
    lowest().expires_never();
    if (ec) {
      if (ec == beast::error::timeout) count_protocol_error("write_timeout");
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
      lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
      close();
    }
  }

  std::shared_ptr<const H1Context> ctx_;
  Stream stream_;
  std::unique_ptr<ConnectionSlot> slot_;
  beast::flat_buffer buffer_;
  std::optional<beast::http::request_parser<beast::http::string_body>> parser_;
  std::string remote_;

  // The request a handler holds but has not answered yet: the handler owns it.
  std::weak_ptr<Exchange> pending_;
  // The request being answered: owned here until its last byte is written.
  std::shared_ptr<Exchange> answering_;
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
};

template <typename Stream>
H1Exchange<Stream>::~H1Exchange() {
  if (!answered()) {
    asio::post(executor_, [s = std::move(session_)] { s->abandoned(); });
  }
}

template <typename Stream>
std::shared_ptr<H1Exchange<Stream>> H1Exchange<Stream>::self() {
  return std::static_pointer_cast<H1Exchange<Stream>>(shared_from_this());
}

template <typename Stream>
void H1Exchange<Stream>::send_response(Response&& response) {
  asio::post(executor_, [s = session_, ex = self(), r = std::move(response)]() mutable {
    s->write_response(std::move(ex), std::move(r));
  });
}

template <typename Stream>
void H1Exchange<Stream>::send_head(int status, Headers&& headers) {
  asio::post(executor_, [s = session_, ex = self(), status, h = std::move(headers)]() mutable {
    s->write_head(std::move(ex), status, std::move(h));
  });
}

template <typename Stream>
void H1Exchange<Stream>::send_chunk(std::string&& chunk) {
  asio::post(executor_, [s = session_, c = std::move(chunk)]() mutable {
    s->write_chunk(std::move(c));
  });
}

template <typename Stream>
void H1Exchange<Stream>::send_shared_chunk(core::SharedBytes&& chunk) {
  asio::post(executor_, [s = session_, c = std::move(chunk)]() mutable {
    s->write_shared_chunk(std::move(c));
  });
}

template <typename Stream>
void H1Exchange<Stream>::send_end() {
  asio::post(executor_, [s = session_] { s->write_end(); });
}

}  // namespace

std::shared_ptr<Session> make_h1_session(std::shared_ptr<const H1Context> context, tcp::socket socket,
                                         std::unique_ptr<ConnectionSlot> slot) {
  return std::make_shared<H1Session<beast::tcp_stream>>(std::move(context), beast::tcp_stream(std::move(socket)),
                                                        std::move(slot));
}

std::shared_ptr<Session> make_h1_session(std::shared_ptr<const H1Context> context, TlsStream stream,
                                         std::unique_ptr<ConnectionSlot> slot) {
  return std::make_shared<H1Session<TlsStream>>(std::move(context), std::move(stream), std::move(slot));
}

}  // namespace mirror::http
