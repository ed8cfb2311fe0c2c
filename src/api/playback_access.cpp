#include "api/playback_access.h"

#include "core/errors.h"
#include "core/units.h"
#include "http/exchange.h"
#include "http/message.h"
#include "http/signing.h"
#include "ingest/stream_id.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <charconv>
#include <functional>
#include <optional>

namespace mirror::api {
namespace {

constexpr auto kDefaultTtl = std::chrono::hours{1};
constexpr auto kMaxTtl = std::chrono::hours{24 * 7};

// What a token for every stream is signed for: no stream name can be "*".
constexpr std::string_view kEveryStream = "*";

std::string signed_text(std::string_view stream, std::int64_t expiry) {
  return fmt::format("{}\n{}", stream, expiry);
}

// The stream name of a /streams/NAME/... path, or empty.
std::string_view stream_of(std::string_view path) {
  constexpr std::string_view kPrefix = "/streams/";
  if (!path.starts_with(kPrefix)) return {};
  path.remove_prefix(kPrefix.size());
  const auto slash = path.find('/');
  return slash == std::string_view::npos ? std::string_view{} : path.substr(0, slash);
}

}  // namespace

std::string mint_playback_token(std::string_view secret, std::string_view stream,
                                std::chrono::system_clock::time_point expires_at) {
  const auto expiry = std::chrono::duration_cast<std::chrono::seconds>(expires_at.time_since_epoch()).count();
  return fmt::format("{}.{}", expiry, http::sign(secret, signed_text(stream, expiry)));
}

std::string_view token_verdict_name(TokenVerdict verdict) {
  switch (verdict) {
    case TokenVerdict::kValid: return "valid";
    case TokenVerdict::kMissing: return "missing";
    case TokenVerdict::kMalformed: return "malformed";
    case TokenVerdict::kExpired: return "expired";
    case TokenVerdict::kWrong: return "wrong";
  }
  return "wrong";
}

TokenVerdict check_playback_token(std::string_view secret, std::string_view stream, std::string_view token,
                                  std::chrono::system_clock::time_point now) {
  if (token.empty()) return TokenVerdict::kMissing;
  const auto dot = token.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot > 12 || token.size() > 128) return TokenVerdict::kMalformed;
  std::int64_t expiry = 0;
  const auto digits = token.substr(0, dot);
  if (auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), expiry);
      ec != std::errc() || end != digits.data() + digits.size() || expiry < 0) {
    return TokenVerdict::kMalformed;
  }
  // The signature first: an expiry is only believed when it is signed. A
  // wall's token is signed for every stream.
  const auto signature = token.substr(dot + 1);
  if (!http::constant_time_equal(signature, http::sign(secret, signed_text(stream, expiry))) &&
      !http::constant_time_equal(signature, http::sign(secret, signed_text(kEveryStream, expiry)))) {
    return TokenVerdict::kWrong;
  }
  if (std::chrono::system_clock::time_point(std::chrono::seconds{expiry}) <= now) return TokenVerdict::kExpired;
  return TokenVerdict::kValid;
}

std::string add_query_to_uris(std::string_view playlist, std::string_view param) {
  std::string out;
  out.reserve(playlist.size() + playlist.size() / 8);
  auto append_uri = [&](std::string_view uri) {
    out += uri;
    out += uri.find('?') == std::string_view::npos ? '?' : '&';
    out += param;
  };
  while (!playlist.empty()) {
    const auto eol = playlist.find('\n');
    std::string_view line = playlist.substr(0, eol);
    const bool has_newline = eol != std::string_view::npos;
    playlist = has_newline ? playlist.substr(eol + 1) : std::string_view{};
    std::string_view cr;
    if (line.ends_with('\r')) {
      cr = line.substr(line.size() - 1);
      line.remove_suffix(1);
    }
    if (line.empty()) {
    } else if (line.front() != '#') {
      append_uri(line);
    } else {
      // Every URI="..." attribute of a tag.
      constexpr std::string_view kAttr = "URI=\"";
      std::size_t pos = 0;
      for (auto at = line.find(kAttr); at != std::string_view::npos; at = line.find(kAttr, pos)) {
        const auto start = at + kAttr.size();
        const auto close = line.find('"', start);
        if (close == std::string_view::npos) break;
        out += line.substr(pos, start - pos);
        append_uri(line.substr(start, close - start));
        pos = close;
      }
      out += line.substr(pos);
    }
    out += cr;
    if (has_newline) out += '\n';
  }
  return out;
}

http::Filter playback_access_filter(std::string secret, core::MetricsRegistry& metrics) {
  auto& denied = metrics.counter("mirror_playback_denied_total",
                                 "Playback requests refused for a missing, malformed, expired or wrong token",
                                 {"reason"});
  return [secret = std::move(secret), &denied](const http::ExchangePtr& ex) {
    if (secret.empty() || ex->request().method == "OPTIONS") return true;
    const auto stream = stream_of(ex->request().path);
    if (stream.empty()) return true;
    const auto token = ex->request().query_param("token").value_or("");
    const auto verdict = check_playback_token(secret, stream, token);
    if (verdict == TokenVerdict::kValid) return true;
    denied.with({std::string(token_verdict_name(verdict))}).inc();
    static constexpr std::string_view kWhy[] = {"", "this stream needs ?token= (a signed playback URL)",
                                                "the token is malformed", "the token has expired",
                                                "the token is not valid for this stream"};
    ex->set_route("playback_access");
    http::Response r = http::json_response(
        403, core::Error(core::ErrorCode::kForbidden, std::string(kWhy[static_cast<int>(verdict)])).to_json_string());
    r.headers.set("Cache-Control", "no-store");
    ex->respond(std::move(r));
    return false;
  };
}

namespace {

// The optional {"ttl":"2h"} body of a token request, or an error answered.
std::optional<std::chrono::nanoseconds> requested_ttl(const http::ExchangePtr& ex) {
  std::chrono::nanoseconds ttl = kDefaultTtl;
  const std::string& text = ex->request().body;
  if (text.size() > 4096) {
    ex->respond_error(core::Error(core::ErrorCode::kInvalidInput, "the body is larger than 4 KiB"));
    return std::nullopt;
  }
  if (text.empty()) return ttl;
  const auto body = nlohmann::json::parse(text, nullptr, false);
  if (!body.is_object()) {
    ex->respond_error(core::Error(core::ErrorCode::kInvalidInput, "the body must be a JSON object"));
    return std::nullopt;
  }
  if (body.contains("ttl")) {
    std::optional<std::chrono::nanoseconds> parsed;
    if (body["ttl"].is_string()) {
      if (auto d = core::parse_duration(body["ttl"].get<std::string>())) parsed = *d;
    }
    if (!parsed || *parsed < std::chrono::seconds{10} || *parsed > kMaxTtl) {
      ex->respond_error(
          core::Error(core::ErrorCode::kInvalidInput, "\"ttl\" must be a duration between 10s and 168h (\"2h\")"));
      return std::nullopt;
    }
    ttl = *parsed;
  }
  return ttl;
}

// Mints a token for `stream` (or every stream) and answers with it and
// `urls(token)`.
void answer_token(const http::ExchangePtr& ex, const std::string& secret, std::string_view stream,
                  const std::function<nlohmann::json(const std::string&)>& urls) {
  if (secret.empty()) {
    ex->respond_error(
        core::Error(core::ErrorCode::kNotFound, "playback is open: set server.playback_secret to sign playback URLs"));
    return;
  }
  const auto ttl = requested_ttl(ex);
  if (!ttl) return;
  const auto expires = std::chrono::time_point_cast<std::chrono::seconds>(
      std::chrono::system_clock::now() + std::chrono::duration_cast<std::chrono::seconds>(*ttl));
  const auto token = mint_playback_token(secret, stream, expires);
  nlohmann::json body = urls(token);
  body["token"] = token;
  body["expires_at_ms"] =
      std::chrono::duration_cast<std::chrono::milliseconds>(expires.time_since_epoch()).count();
  auto res = http::json_response(200, body.dump());
  res.headers.set("Cache-Control", "no-store");
  ex->respond(std::move(res));
}

}  // namespace

void register_token_route(http::Router& router, std::string secret) {
  router.post("/api/v1/streams/{name}/token", [secret](const http::ExchangePtr& ex) {
    const std::string name(ex->request().path_param("name"));
    if (!secret.empty() && !ingest::is_valid_stream_name(name)) {
      ex->respond_error(
          core::Error(core::ErrorCode::kInvalidInput, "stream name must be 1-64 characters of A-Z a-z 0-9 _ -"));
      return;
    }
    answer_token(ex, secret, name, [&](const std::string& token) {
      return nlohmann::json{{"name", name},
                            {"url", "/streams/" + name + "/index.m3u8?token=" + token},
                            {"multiview_url", "/streams/" + name + "/multiview.m3u8?token=" + token}};
    });
  });
  router.post("/api/v1/wall/token", [secret](const http::ExchangePtr& ex) {
    answer_token(ex, secret, kEveryStream,
                 [](const std::string& token) { return nlohmann::json{{"url", "/wall?token=" + token}}; });
  });
}

}  // namespace mirror::api
