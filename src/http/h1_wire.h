// Bytes of HTTP/1.1 responses: status line, header fields, chunk framing.
// Kept apart from the connection code so that it can be tested and fuzzed alone.
#pragma once

#include "http/message.h"

#include <cstddef>
#include <optional>
#include <string>

namespace mirror::http {

// How the body that follows the head is delimited.
struct Framing {
  enum class Kind { kLength, kChunked, kNone } kind = Kind::kNone;
  std::size_t length = 0;

  static Framing content_length(std::size_t n) { return {Kind::kLength, n}; }
  static Framing chunked() { return {Kind::kChunked, 0}; }
  static Framing none() { return {Kind::kNone, 0}; }
};

// 1xx, 204 and 304 never carry a body (RFC 9110 §6.4.1).
bool status_has_no_body(int status);

// Status line, the caller's fields (any containing CR or LF are dropped: they
// would split the response), Date, Server, framing and Connection.
std::string serialize_head(int status, const Headers& headers, Framing framing, bool keep_alive);

// "1a2b\r\n" for a chunk of that many bytes.
std::string chunk_prefix(std::size_t size);

}  // namespace mirror::http
