#include "http/h1_server.h"

namespace mirror::http {

H1Server::H1Server(net::IoPool& pool, const Pipeline& pipeline, H1ServerOptions options,
                   core::MetricsRegistry& metrics)
    : options_(std::move(options)) {
  ListenerOptions l;
  l.name = options_.name;
  l.bind_address = options_.bind_address;
  l.port = options_.port;
  l.max_connections = options_.max_connections;
  l.budget = options_.budget;
  // The context reaches the listener it is made for; the listener keeps the
  // context in its factory.
  auto context = std::make_shared<H1Context>(H1Context{pipeline, h1_limits(options_), nullptr, options_.name});
  listener_ = std::make_shared<Listener>(
      pool, std::move(l), metrics,
      [context](boost::asio::ip::tcp::socket socket, std::unique_ptr<ConnectionSlot> slot) {
        return make_h1_session(context, std::move(socket), std::move(slot));
      });
  context->listener = listener_.get();
}

H1Server::~H1Server() = default;

core::Status H1Server::start() { return listener_->start(); }

void H1Server::drain(core::Deadline deadline) { listener_->drain(deadline); }

void H1Server::stop(core::Deadline deadline) { listener_->stop(deadline); }

int H1Server::port() const { return listener_->port(); }

std::size_t H1Server::open_connections() const { return listener_->open_connections(); }

H1Limits h1_limits(const H1ServerOptions& options) {
  H1Limits limits;
  limits.read_timeout = options.read_timeout;
  limits.write_timeout = options.write_timeout;
  limits.header_limit = options.header_limit;
  limits.max_header_count = options.max_header_count;
  limits.body_limit = options.body_limit;
  return limits;
}

}  // namespace mirror::http
