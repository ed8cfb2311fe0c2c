// libFuzzer target for what an HTTP/3 client sends on its streams: Mirror's
// HTTP/3 session (nghttp3 with its settings, QPACK, request assembly and
// limits, rejections, held and streamed answers, cancellations, GOAWAY)
// over stream bytes in memory instead of QUIC. The client's control stream
// opens with an empty SETTINGS frame; then the input is a list of records
// [op][length][bytes]:
//   op 0xff          GOAWAY from the server;
//   op & 3 == 0, 1   the bytes arrive on a stream (1: with FIN);
//   op & 3 == 2      the client cancels the stream (reset, then closed);
//   op & 3 == 3      the server writes what it has, and the client
//                    acknowledges all of it;
// the stream is (op >> 2) % 12: 0-7 request streams 0, 4, ... 28; 8 the
// control stream, 9 and 10 the QPACK encoder and decoder streams (6, 10),
// 11 another unidirectional stream (14). Routes as in fuzz_h2_session.
// Checks, besides the sanitizers: the session writes only on its own
// streams and on request streams the client opened, writes nothing once
// detached, and every request a handler saw is finished by the end.
#include "http/h3/h3_session.h"
#include "stream_fuzz_pipeline.h"

#include <boost/asio/io_context.hpp>

#include <array>
#include <map>
#include <set>

namespace {

using namespace mirror;
namespace asio = boost::asio;
using fuzzing::require;

constexpr std::array<std::int64_t, 12> kStreams = {0, 4, 8, 12, 16, 20, 24, 28, 2, 6, 10, 14};

class MemoryQuic final : public http::H3Transport {
 public:
  bool open_uni_stream(std::int64_t& id) override {
    id = 3 + 4 * next_uni_++;
    own.insert(id);
    return true;
  }
  void consumed(std::int64_t, std::size_t bytes) override { credit += bytes; }
  void reset_stream(std::int64_t id, std::uint64_t code) override { resets[id] = code; }
  void stop_reading(std::int64_t, std::uint64_t) override {}
  void stop_writing(std::int64_t id, std::uint64_t) override { write_shut.insert(id); }
  void request_stream_closed() override { ++requests_closed; }
  void wake() override {}

  std::set<std::int64_t> own;
  std::map<std::int64_t, std::uint64_t> resets;  // by the server, not yet closed
  std::set<std::int64_t> write_shut;
  std::uint64_t credit = 0;
  int requests_closed = 0;

 private:
  std::int64_t next_uni_ = 0;
};

// One connection's worth of QUIC stream state, as far as the session sees it.
struct Streams {
  std::set<std::int64_t> client_fin;
  std::set<std::int64_t> server_fin;
  std::set<std::int64_t> closed;
};

// The server writes all it has (at most a bound of rounds); the client
// acknowledges it at once. False when the connection must close.
bool pump(http::H3Session& session, MemoryQuic& quic, Streams& streams) {
  for (int round = 0; round < 2000; ++round) {
    std::int64_t id = -1;
    int fin = 0;
    std::array<nghttp3_vec, 16> vec{};
    const nghttp3_ssize n = session.next_output(id, fin, vec.data(), vec.size());
    if (n < 0) return false;
    if (id < 0) break;
    require(quic.own.count(id) == 1 || (id % 4 == 0 && !streams.closed.count(id)));
    if (quic.write_shut.count(id)) {
      session.write_shut(id);
      continue;
    }
    std::size_t bytes = 0;
    for (nghttp3_ssize i = 0; i < n; ++i) bytes += vec[static_cast<std::size_t>(i)].len;
    if (!session.wrote(id, bytes)) return false;
    if (bytes > 0 && !session.acked(id, bytes)) return false;
    if (fin != 0) streams.server_fin.insert(id);
  }
  // Streams done both ways, or reset by the server, are gone from QUIC.
  for (const auto& [id, code] : quic.resets) {
    if (streams.closed.insert(id).second && !session.stream_closed(id, code)) return false;
  }
  quic.resets.clear();
  for (const std::int64_t id : streams.server_fin) {
    if (id % 4 == 0 && streams.client_fin.count(id) && streams.closed.insert(id).second &&
        !session.stream_closed(id, NGHTTP3_H3_NO_ERROR)) {
      return false;
    }
  }
  return true;
}

// Feeds the records; returns when they are used up or the connection must close.
void feed(http::H3Session& session, MemoryQuic& quic, Streams& streams, asio::io_context& io,
          const std::uint8_t* data, std::size_t size) {
  static const std::uint8_t settings[] = {0x00, 0x04, 0x00};
  if (session.read(2, settings, sizeof settings, false) != 0) return;
  std::size_t at = 0;
  while (at + 2 <= size) {
    const std::uint8_t op = data[at];
    const std::size_t length = std::min<std::size_t>(data[at + 1], size - at - 2);
    const std::uint8_t* bytes = data + at + 2;
    at += 2 + length;
    const std::int64_t id = kStreams[(op >> 2) % kStreams.size()];
    if (op == 0xff) {
      session.goaway();
    } else if ((op & 3) <= 1) {
      if (streams.closed.count(id) || streams.client_fin.count(id)) continue;
      const bool fin = (op & 3) == 1;
      if (fin) streams.client_fin.insert(id);
      if (session.read(id, bytes, length, fin) != 0) return;
    } else if ((op & 3) == 2) {
      if (streams.closed.count(id)) continue;
      if (!session.stream_reset(id)) return;
      streams.closed.insert(id);
      if (!session.stream_closed(id, NGHTTP3_H3_REQUEST_CANCELLED)) return;
    } else if (!pump(session, quic, streams)) {
      return;
    }
    fuzzing::settle(io);
  }
  fuzzing::settle(io);
  if (!pump(session, quic, streams)) return;
  // The parts held requests waited for arrive, then the server stops.
  fuzzing::answer_held();
  fuzzing::settle(io);
  if (!pump(session, quic, streams)) return;
  session.goaway();
  pump(session, quic, streams);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto ctx = std::make_shared<const http::H3Context>(
      http::H3Context{fuzzing::pipeline(), http::QuicLimits{}, {}, nullptr, "fuzz", nullptr});
  {
    asio::io_context io;
    MemoryQuic quic;
    Streams streams;
    auto session = std::make_shared<http::H3Session>(ctx, quic, io.get_executor(), "127.0.0.1:40000");
    require(session->start());
    feed(*session, quic, streams, io, data, size);
    session->detach();
    std::int64_t id = -1;
    int fin = 0;
    std::array<nghttp3_vec, 4> vec{};
    require(session->next_output(id, fin, vec.data(), vec.size()) == 0 && id == -1);
    fuzzing::answer_held();
    fuzzing::settle(io);
  }
  require(fuzzing::unfinished() == 0);
  return 0;
}
