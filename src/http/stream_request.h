// What the multiplexed transports (HTTP/2 and HTTP/3) share for one request
// stream: assembling the request from header fields under limits (HPACK and
// QPACK bombs end as a 431, never as memory), completing it into a routable
// Request or a rejection, the response's field list, and the answer bytes
// queued for the library's DATA frames.
//
// Threads: owned by the connection that carries the stream.
#pragma once

#include "core/shared_bytes.h"
#include "http/message.h"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mirror::http {

struct StreamRequestLimits {
  std::size_t header_limit = 16 * 1024;  // bytes of the header list (name + value + 32 per field)
  std::size_t max_header_count = 100;
  std::size_t body_limit = 1024 * 1024;
};

// A request being received on one stream.
class StreamRequest {
 public:
  StreamRequest(std::string protocol, std::string remote_address);

  // One decoded field; pseudo-fields (":method", ":path", ":authority")
  // fill the request line. Past a limit the request is marked 431 and the
  // rest is not kept.
  void add_field(std::string_view name, std::string_view value, const StreamRequestLimits& limits);
  void add_body(const std::uint8_t* data, std::size_t size, const StreamRequestLimits& limits);

  // Checks the request line and splits the target. 0 when the request can
  // go to a handler, otherwise the status the transport answers with.
  int complete();

  int rejection() const { return reject_status_; }
  Request& request() { return request_; }

 private:
  Request request_;
  std::size_t header_bytes_ = 0;
  std::size_t header_count_ = 0;
  int reject_status_ = 0;
};

// The reason counted for a rejected request ("header_too_large",
// "body_too_large", "malformed") and the JSON answer it gets.
std::string_view rejection_reason(int status);
Response rejection_response(int status);

// The response's fields as HTTP/2 and HTTP/3 send them: ":status" first,
// lower-case names, no connection-specific fields, content-length when known.
std::vector<std::pair<std::string, std::string>> response_fields(
    int status, const Headers& headers, std::optional<std::size_t> content_length);

// Bytes of an answer body waiting for DATA frames: an owned string or shared
// media bytes.
struct BodyPiece {
  explicit BodyPiece(std::string s) : owned(std::move(s)) {}
  explicit BodyPiece(core::SharedBytes b) : shared(std::move(b)) {}
  const std::uint8_t* data() const {
    return shared.empty() ? reinterpret_cast<const std::uint8_t*>(owned.data()) : shared.data();
  }
  std::size_t size() const { return shared.empty() ? owned.size() : shared.size(); }
  std::string owned;
  core::SharedBytes shared;
};

// Moves a complete answer's body (its string, then its shared pieces) to
// the end of `pieces`, leaving out empty ones.
void take_body(Response& response, std::deque<BodyPiece>& pieces);

}  // namespace mirror::http
