#include "http/h1_wire.h"

#include <fmt/format.h>

#include <chrono>
#include <ctime>

namespace mirror::http {
namespace {

bool has_crlf(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

// The Date field changes once a second; each thread formats it at most that often.
std::string_view http_date() {
  thread_local std::time_t cached_second = 0;
  thread_local char cached[40] = {};
  std::time_t now = std::time(nullptr);
  if (now != cached_second) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    std::strftime(cached, sizeof cached, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    cached_second = now;
  }
  return cached;
}

}  // namespace

bool status_has_no_body(int status) {
  return (status >= 100 && status < 200) || status == 204 || status == 304;
}

std::string serialize_head(int status, const Headers& headers, Framing framing, bool keep_alive) {
  std::string out;
  out.reserve(256 + headers.size() * 48);
  out += fmt::format("HTTP/1.1 {} {}\r\n", status, reason_phrase(status));
  for (const auto& [name, value] : headers.fields()) {
    if (has_crlf(name) || has_crlf(value) || name.empty()) continue;
    // Framing and connection management belong to this layer alone.
    if (iequals(name, "Content-Length") || iequals(name, "Transfer-Encoding") ||
        iequals(name, "Connection")) {
      continue;
    }
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  if (!headers.has("Date")) {
    out += "Date: ";
    out += http_date();
    out += "\r\n";
  }
  if (!headers.has("Server")) out += "Server: Mirror\r\n";
  if (!status_has_no_body(status)) {
    switch (framing.kind) {
      case Framing::Kind::kLength: out += fmt::format("Content-Length: {}\r\n", framing.length); break;
      case Framing::Kind::kChunked: out += "Transfer-Encoding: chunked\r\n"; break;
      case Framing::Kind::kNone: break;
    }
  }
  out += keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
  out += "\r\n";
  return out;
}

std::string chunk_prefix(std::size_t size) { return fmt::format("{:x}\r\n", size); }

}  // namespace mirror::http
