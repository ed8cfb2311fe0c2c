// Transport-neutral HTTP messages. Handlers read a Request and answer through an
// Exchange (exchange.h); HTTP/1.1 today, HTTP/2 and HTTP/3 later, all produce
// and consume these types, so handlers never know which transport carries them.
#pragma once

#include "core/shared_bytes.h"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace mirror::http {

// Ordered header list with case-insensitive lookup. Small (tens of fields), so
// a vector beats a map.
class Headers {
 public:
  using Field = std::pair<std::string, std::string>;

  // First value of `name`, compared case-insensitively.
  std::optional<std::string_view> get(std::string_view name) const;
  bool has(std::string_view name) const { return get(name).has_value(); }
  // Replaces every field called `name` with one.
  void set(std::string_view name, std::string_view value);
  void add(std::string_view name, std::string_view value);
  void remove(std::string_view name);

  const std::vector<Field>& fields() const { return fields_; }
  std::size_t size() const { return fields_.size(); }

 private:
  std::vector<Field> fields_;
};

bool iequals(std::string_view a, std::string_view b);

struct Request {
  std::string method;  // upper case, as sent
  std::string target;  // raw request target
  std::string path;    // percent-decoded, normalised (target.h)
  std::string query;   // raw query string, without '?'
  Headers headers;
  std::string body;
  std::string remote_address;  // "ip:port"
  std::string protocol;        // "HTTP/1.1", "HTTP/2", "HTTP/3"
  bool secure = false;         // arrived over TLS (HTTPS or QUIC)
  std::chrono::steady_clock::time_point received_at = std::chrono::steady_clock::now();

  // Filled by the router from a pattern such as /api/v1/streams/{name}.
  std::unordered_map<std::string, std::string> path_params;

  std::string_view path_param(const std::string& name) const;
  // Percent-decoded value of the first `name` query parameter.
  std::optional<std::string> query_param(std::string_view name) const;
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;
  // Shared bytes sent after `body`, without a copy (media parts and segments
  // held by many viewers at once).
  std::vector<core::SharedBytes> shared_body;

  std::size_t body_size() const {
    std::size_t n = body.size();
    for (const auto& piece : shared_body) n += piece.size();
    return n;
  }

  Response() = default;
  Response(int s, std::string_view content_type, std::string b) : status(s), body(std::move(b)) {
    headers.set("Content-Type", content_type);
  }
};

// "OK", "Not Found", ... ("Unknown" for codes Mirror never sends).
std::string_view reason_phrase(int status);

// A JSON body with the right content type.
Response json_response(int status, std::string body);

}  // namespace mirror::http
