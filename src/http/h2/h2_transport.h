// The byte stream an HTTP/2 session runs over: TLS on TCP in the server
// (tls/tls_sessions.h), bytes in memory in the fuzz target, so that the
// session's own code (limits, streams, answers) is what gets fuzzed.
//
// Threads: owned by its session and used on the session's executor only.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>
#include <functional>
#include <string>

namespace mirror::http {

class H2Transport {
 public:
  using Handler = std::function<void(boost::system::error_code, std::size_t)>;
  virtual ~H2Transport() = default;

  virtual boost::asio::any_io_executor executor() = 0;
  // Some bytes into `into`; `done` runs on the executor, never inline.
  virtual void read_some(boost::asio::mutable_buffer into, Handler done) = 0;
  // Every byte of `bytes`, which stay valid until `done`.
  virtual void write(boost::asio::const_buffer bytes, Handler done) = 0;
  // No more bytes from this side (what is read still arrives).
  virtual void shutdown_send() = 0;
  virtual void close() = 0;
  // "ip:port" of the peer, for logs and requests.
  virtual const std::string& remote() const = 0;
};

}  // namespace mirror::http
