// The exchange of one request stream of a multiplexed transport (HTTP/2,
// HTTP/3): every answer is posted to the connection's executor and handed
// to the connection with the stream's id. `Connection` provides
//   respond(id, self, Response&&), head(id, self, status, Headers&&),
//   chunk(id, BodyPiece), end(id), abandoned(id). StreamExchangeSlot is
// what the session keeps of a stream's exchange.
// Included by the transports' own source files only.
//
// Threads: answers come from any thread; the connection sees them on its
// executor.
#pragma once

#include "http/exchange.h"
#include "http/pipeline.h"
#include "http/stream_request.h"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>

#include <memory>

namespace mirror::http {

template <typename Connection, typename StreamId>
class StreamExchange final : public Exchange {
 public:
  StreamExchange(Request request, std::shared_ptr<Connection> connection, StreamId stream_id,
                 boost::asio::any_io_executor executor)
      : Exchange(std::move(request)),
        connection_(std::move(connection)),
        stream_id_(stream_id),
        executor_(std::move(executor)) {}

  // A handler let go without answering: the connection answers 500.
  ~StreamExchange() override {
    if (!answered()) {
      boost::asio::post(executor_,
                        [c = std::move(connection_), id = stream_id_] { c->abandoned(id); });
    }
  }

  void transport_finished(int status, std::uint64_t bytes, bool aborted) {
    finish(status, bytes, aborted);
  }
  void transport_cancelled() { cancel(); }

 protected:
  void send_response(Response&& response) override {
    boost::asio::post(executor_, [c = connection_, ex = self(), id = stream_id_,
                                  r = std::move(response)]() mutable {
      c->respond(id, std::move(ex), std::move(r));
    });
  }
  void send_head(int status, Headers&& headers) override {
    boost::asio::post(executor_, [c = connection_, ex = self(), id = stream_id_, status,
                                  h = std::move(headers)]() mutable {
      c->head(id, std::move(ex), status, std::move(h));
    });
  }
  void send_chunk(std::string&& chunk) override { post_piece(BodyPiece(std::move(chunk))); }
  void send_shared_chunk(core::SharedBytes&& chunk) override {
    post_piece(BodyPiece(std::move(chunk)));
  }
  void send_end() override {
    boost::asio::post(executor_, [c = connection_, id = stream_id_] { c->end(id); });
  }

 private:
  std::shared_ptr<StreamExchange> self() {
    return std::static_pointer_cast<StreamExchange>(shared_from_this());
  }
  void post_piece(BodyPiece piece) {
    boost::asio::post(executor_, [c = connection_, id = stream_id_,
                                  p = std::move(piece)]() mutable { c->chunk(id, std::move(p)); });
  }

  std::shared_ptr<Connection> connection_;
  StreamId stream_id_;
  boost::asio::any_io_executor executor_;
};

// What a multiplexed session keeps of one stream's exchange.
template <typename Connection, typename StreamId>
struct StreamExchangeSlot {
  using Exchange = StreamExchange<Connection, StreamId>;

  // A complete request goes to the pipeline as the stream's exchange.
  void start(Request&& request, std::shared_ptr<Connection> connection, StreamId id,
             boost::asio::any_io_executor executor, const Pipeline& pipeline) {
    auto ex = std::make_shared<Exchange>(std::move(request), std::move(connection), id,
                                         std::move(executor));
    pending = ex;
    pipeline.dispatch(ex);
  }

  // The stream is over: its exchange (the one answering, else the one a
  // handler still holds) learns how it ended.
  void end(int status, std::uint64_t body_bytes, bool aborted) {
    std::shared_ptr<Exchange> ex = answering ? std::move(answering) : pending.lock();
    pending.reset();
    if (!ex) return;
    if (aborted) ex->transport_cancelled();
    ex->transport_finished(status, body_bytes, aborted);
  }

  // The request a handler holds but has not answered yet: the handler owns it.
  std::weak_ptr<Exchange> pending;
  // The request being answered: owned here until the stream closes.
  std::shared_ptr<Exchange> answering;
};

}  // namespace mirror::http
