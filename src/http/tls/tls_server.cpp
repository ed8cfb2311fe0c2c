#include "http/tls/tls_server.h"

#include "http/tls/tls_context.h"
#include "http/tls/tls_sessions.h"

#include <openssl/ssl.h>

#include <boost/asio/ssl/stream_base.hpp>

namespace mirror::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {

struct TlsShared {
  std::shared_ptr<TlsContext> tls;
  std::shared_ptr<const H1Context> h1;
  std::shared_ptr<const H2Context> h2;
  std::chrono::nanoseconds handshake_timeout{};
  Listener* listener = nullptr;
};

// A connection until its handshake is done; then the session of the protocol
// ALPN chose takes the stream and the slot over.
class TlsHandshake final : public Session, public std::enable_shared_from_this<TlsHandshake> {
 public:
  TlsHandshake(std::shared_ptr<const TlsShared> shared, std::shared_ptr<asio::ssl::context> ctx, tcp::socket socket,
               std::unique_ptr<ConnectionSlot> slot)
      : shared_(std::move(shared)),
        ctx_(std::move(ctx)),
        stream_(beast::tcp_stream(std::move(socket)), *ctx_),
        slot_(std::move(slot)),
        remote_(remote_of(beast::get_lowest_layer(stream_).socket())) {}

  asio::any_io_executor executor() override { return beast::get_lowest_layer(stream_).get_executor(); }

  void start() override {
    beast::get_lowest_layer(stream_).expires_after(shared_->handshake_timeout);
    stream_.async_handshake(asio::ssl::stream_base::server,
                            [self = shared_from_this()](error_code ec) { self->on_handshake(ec); });
  }

  void drain() override {
    if (auto next = next_.lock()) {
      next->drain();
    } else if (!handed_over_) {
      close();
    }
  }

  void close() override {
    if (auto next = next_.lock()) {
      next->close();
      return;
    }
    if (handed_over_ || closed_) return;
    closed_ = true;
    error_code ec;
    beast::get_lowest_layer(stream_).socket().close(ec);
    if (slot_) slot_->release();
  }

 private:
  void on_handshake(error_code ec) {
    if (closed_) return;
    if (ec) {
      if (shared_->listener != nullptr) {
        shared_->listener->count_protocol_error(ec == beast::error::timeout ? "tls_handshake_timeout" : "tls_handshake",
                                                remote_);
      }
      close();
      return;
    }
    beast::get_lowest_layer(stream_).expires_never();
    const unsigned char* alpn = nullptr;
    unsigned int alpn_len = 0;
    SSL_get0_alpn_selected(stream_.native_handle(), &alpn, &alpn_len);
    const bool h2 = std::string_view(reinterpret_cast<const char*>(alpn), alpn_len) == "h2";
    handed_over_ = true;
    std::shared_ptr<Session> next = h2 ? make_h2_session(shared_->h2, std::move(stream_), std::move(slot_))
                                       : make_h1_session(shared_->h1, std::move(stream_), std::move(slot_));
    next_ = next;
    if (shared_->listener != nullptr) shared_->listener->track(next);
    next->start();
  }

  std::shared_ptr<const TlsShared> shared_;
  std::shared_ptr<asio::ssl::context> ctx_;
  TlsStream stream_;
  std::unique_ptr<ConnectionSlot> slot_;
  std::weak_ptr<Session> next_;
  std::string remote_;
  bool handed_over_ = false;
  bool closed_ = false;
};

}  // namespace

TlsServer::TlsServer(net::IoPool& pool, const Pipeline& pipeline, TlsServerOptions options,
                     std::shared_ptr<TlsContext> tls, core::MetricsRegistry& metrics)
    : tls_(std::move(tls)) {
  const std::string name = options.listener.name;
  auto h1 = std::make_shared<H1Context>(H1Context{pipeline, options.h1, nullptr, name});
  auto h2 = std::make_shared<H2Context>(H2Context{pipeline, options.h2, nullptr, name});
  auto shared = std::make_shared<TlsShared>();
  shared->tls = tls_;
  shared->h1 = h1;
  shared->h2 = h2;
  shared->handshake_timeout = options.handshake_timeout;
  options.listener.protocol = "tls";
  listener_ = std::make_shared<Listener>(
      pool, std::move(options.listener), metrics,
      [shared](tcp::socket socket, std::unique_ptr<ConnectionSlot> slot) -> std::shared_ptr<Session> {
        return std::make_shared<TlsHandshake>(shared, shared->tls->current(), std::move(socket), std::move(slot));
      });
  h1->listener = listener_.get();
  h2->listener = listener_.get();
  shared->listener = listener_.get();
}

TlsServer::~TlsServer() = default;

core::Status TlsServer::start() { return listener_->start(); }

void TlsServer::drain(core::Deadline deadline) { listener_->drain(deadline); }

void TlsServer::stop(core::Deadline deadline) { listener_->stop(deadline); }

int TlsServer::port() const { return listener_->port(); }

std::size_t TlsServer::open_connections() const { return listener_->open_connections(); }

}  // namespace mirror::http
