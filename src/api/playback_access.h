// Signed playback URLs (server.playback_secret) on the delivery port.
//
// A token is "<expiry>.<signature>": the expiry in Unix seconds and an
// HMAC-SHA256 under the secret of the stream name and the expiry, so a token
// opens one stream until it expires and nothing else. When a secret is set,
// every /streams/NAME/... request (playlists, parts, segments, thumbnail)
// needs ?token= valid for NAME, or for every stream (signed for "*"); a missing, wrong-stream, forged or expired one gets 403
// JSON (never cached by an edge). The list /streams and the pages stay open.
// Playlists that Mirror serves carry the request's token into every URI
// they contain, so players need nothing special.
//
// The admin API mints tokens:
//   POST /api/v1/streams/{name}/token  {"ttl":"2h"} (optional; default 1h,
//        at most 7 days): {"name","token","expires_at_ms","url",
//        "multiview_url"}; 404 when no secret is configured.
//   POST /api/v1/wall/token  the same body: a token for every stream (a
//        wall's), {"token","expires_at_ms","url":"/wall?token=..."}.
//
// Threads: stateless filters and functions; any thread.
#pragma once

#include "core/metrics.h"
#include "http/pipeline.h"
#include "http/router.h"

#include <chrono>
#include <string>
#include <string_view>

namespace mirror::api {

std::string mint_playback_token(std::string_view secret, std::string_view stream,
                                std::chrono::system_clock::time_point expires_at);

enum class TokenVerdict { kValid, kMissing, kMalformed, kExpired, kWrong };
std::string_view token_verdict_name(TokenVerdict verdict);  // "valid", "missing", ...

TokenVerdict check_playback_token(std::string_view secret, std::string_view stream, std::string_view token,
                                  std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

// Appends `param` ("token=...") to every URI of an HLS playlist: URI lines
// and URI="..." attributes, after '&' when the URI has a query already.
std::string add_query_to_uris(std::string_view playlist, std::string_view param);

// Counts refusals in mirror_playback_denied_total{reason}.
http::Filter playback_access_filter(std::string secret, core::MetricsRegistry& metrics);

void register_token_route(http::Router& router, std::string secret);

}  // namespace mirror::api
