#include "http/stream_request.h"

#include "core/errors.h"
#include "http/target.h"

#include <cctype>

namespace mirror::http {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Fields HTTP/2 and HTTP/3 forbid (RFC 9113 §8.2.2, RFC 9114 §4.2).
bool connection_specific(std::string_view lowered) {
  return lowered == "connection" || lowered == "keep-alive" || lowered == "proxy-connection" ||
         lowered == "transfer-encoding" || lowered == "upgrade";
}

}  // namespace

StreamRequest::StreamRequest(std::string protocol, std::string remote_address) {
  request_.protocol = std::move(protocol);
  request_.remote_address = std::move(remote_address);
  request_.secure = true;  // HTTP/2 and HTTP/3 only ever run over TLS here
}

void StreamRequest::add_field(std::string_view name, std::string_view value,
                              const StreamRequestLimits& limits) {
  if (reject_status_ != 0) return;
  header_bytes_ += name.size() + value.size() + 32;
  ++header_count_;
  if (header_bytes_ > limits.header_limit || header_count_ > limits.max_header_count) {
    reject_status_ = 431;
    return;
  }
  if (name == ":method") {
    request_.method = std::string(value);
  } else if (name == ":path") {
    request_.target = std::string(value);
  } else if (name == ":authority") {
    request_.headers.add("host", value);
  } else if (!name.empty() && name.front() != ':') {
    request_.headers.add(name, value);
  }
}

void StreamRequest::add_body(const std::uint8_t* data, std::size_t size,
                             const StreamRequestLimits& limits) {
  if (reject_status_ != 0) return;
  if (request_.body.size() + size > limits.body_limit) {
    reject_status_ = 413;
    return;
  }
  request_.body.append(reinterpret_cast<const char*>(data), size);
}

int StreamRequest::complete() {
  if (reject_status_ != 0) return reject_status_;
  if (request_.method.empty() || request_.target.empty()) return reject_status_ = 400;
  auto target = parse_target(request_.target);
  if (!target) return reject_status_ = 400;
  request_.path = std::move(target->path);
  request_.query = std::move(target->query);
  return 0;
}

std::string_view rejection_reason(int status) {
  return status == 431 ? "header_too_large" : status == 413 ? "body_too_large" : "malformed";
}

Response rejection_response(int status) {
  const char* message = status == 431   ? "request header too large"
                        : status == 413 ? "request body too large"
                                        : "malformed request";
  return json_response(status,
                       core::Error(core::ErrorCode::kInvalidInput, message).to_json_string());
}

std::vector<std::pair<std::string, std::string>> response_fields(
    int status, const Headers& headers, std::optional<std::size_t> content_length) {
  std::vector<std::pair<std::string, std::string>> fields;
  fields.reserve(headers.size() + 2);
  fields.emplace_back(":status", std::to_string(status));
  for (const auto& [name, value] : headers.fields()) {
    std::string n = lower(name);
    if (connection_specific(n) || n == "content-length") continue;
    fields.emplace_back(std::move(n), value);
  }
  if (content_length) fields.emplace_back("content-length", std::to_string(*content_length));
  return fields;
}

void take_body(Response& response, std::deque<BodyPiece>& pieces) {
  if (!response.body.empty()) pieces.emplace_back(std::move(response.body));
  for (auto& piece : response.shared_body) {
    if (!piece.empty()) pieces.emplace_back(std::move(piece));
  }
}

}  // namespace mirror::http
