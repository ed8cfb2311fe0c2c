// The answers the delivery port's playback routes share (live and DVR):
// media bytes with their caching, and JSON errors that no edge keeps.
// Any thread (an Exchange posts the answer to its connection).
#pragma once

#include "core/errors.h"
#include "core/shared_bytes.h"
#include "http/exchange.h"

#include <string>
#include <string_view>
#include <vector>

namespace mirror::api {

inline constexpr std::string_view kPlaylistType = "application/vnd.apple.mpegurl";
// Parts, segments and init segments never change once published, and their
// names are never reused (segment numbers start from the stream's creation
// time): any cache may keep them.
inline constexpr std::string_view kImmutable = "public, max-age=31536000, immutable";
// An error, above all a 404 for a part not produced yet, must not be kept
// by an edge: the object exists a part later (Varnish would otherwise keep a
// 404 for its default TTL, two minutes).
inline constexpr std::string_view kErrorCache = "no-store";

http::Response bytes_response(std::string_view content_type, std::string_view cache,
                              std::vector<core::SharedBytes> pieces);
// A JSON error (core::Error's body), never cached.
void respond_error(const http::ExchangePtr& ex, core::ErrorCode code, std::string message);
// 503 with Retry-After: 1.
void respond_unavailable(const http::ExchangePtr& ex, std::string message);

}  // namespace mirror::api
