// libFuzzer target for what an HTTP/2 client sends: Mirror's HTTP/2 session
// (its nghttp2 options and limits, request assembly, rejections, held and
// streamed answers, GOAWAY) over bytes in memory instead of TLS. The input
// follows the client preface and an empty SETTINGS frame, and arrives in
// pieces whose sizes the input's first byte chooses. Routes answer at once
// (/a), stream a body in pieces (/s), hold the request until the input is
// used up (/held) or drop it without an answer (/drop). Checks, besides the
// sanitizers: the session never writes after it was closed, and every
// request a handler saw is finished by the end.
#include "http/h2/h2_session.h"
#include "stream_fuzz_pipeline.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <cstring>
#include <string>
#include <vector>

namespace {

using namespace mirror;
namespace asio = boost::asio;

using fuzzing::require;

class MemoryTransport final : public http::H2Transport {
 public:
  MemoryTransport(asio::io_context& io, std::string input, std::size_t piece)
      : io_(io), input_(std::move(input)), piece_(piece) {}

  asio::any_io_executor executor() override { return io_.get_executor(); }

  void read_some(asio::mutable_buffer into, Handler done) override {
    require(!pending_read_);
    if (closed_ || at_ >= input_.size()) {
      // Nothing more from the client for now: the read waits for close().
      pending_read_ = std::move(done);
      if (closed_) fail_pending();
      return;
    }
    const std::size_t n = std::min({into.size(), piece_, input_.size() - at_});
    std::memcpy(into.data(), input_.data() + at_, n);
    at_ += n;
    asio::post(io_, [done = std::move(done), n] { done({}, n); });
  }

  void write(asio::const_buffer bytes, Handler done) override {
    require(!closed_);
    written_ += bytes.size();
    asio::post(io_, [done = std::move(done), n = bytes.size()] { done({}, n); });
  }

  void shutdown_send() override {}
  void close() override {
    closed_ = true;
    fail_pending();
  }
  const std::string& remote() const override { return remote_; }

 private:
  void fail_pending() {
    if (!pending_read_) return;
    asio::post(io_, [done = std::move(pending_read_)] { done(asio::error::operation_aborted, 0); });
    pending_read_ = nullptr;
  }

  asio::io_context& io_;
  std::string input_;
  std::size_t piece_;
  std::size_t at_ = 0;
  std::size_t written_ = 0;
  bool closed_ = false;
  Handler pending_read_;
  std::string remote_ = "127.0.0.1:40000";
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static const std::string preface =
      std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") + std::string("\0\0\0\4\0\0\0\0\0", 9);
  std::string input = preface;
  input.append(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::size_t piece = 1 + data[0] * 37u;

  auto ctx = std::make_shared<http::H2Context>(
      http::H2Context{fuzzing::pipeline(), http::H2Limits{}, nullptr, "fuzz"});
  {
    asio::io_context io;
    auto session = http::make_h2_session(
        ctx, std::make_unique<MemoryTransport>(io, std::move(input), piece), nullptr);
    asio::post(io, [session] { session->start(); });
    fuzzing::settle(io);
    // The parts held requests waited for arrive, then the server stops.
    fuzzing::answer_held();
    fuzzing::settle(io);
    asio::post(io, [session] { session->drain(); });
    fuzzing::settle(io);
    asio::post(io, [session] { session->close(); });
    fuzzing::settle(io);
  }
  require(fuzzing::unfinished() == 0);
  return 0;
}
