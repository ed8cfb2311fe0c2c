// Keyed signatures for values handed to clients and checked when they come
// back (session cookies, playback tokens): HMAC-SHA256, unpadded base64url
// text (RFC 4648 §5, safe in URLs and cookies), random keys, and a
// comparison whose time does not reveal where two values differ.
//
// Threads: stateless; call from any thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace mirror::http {

// HMAC-SHA256 of `message` under `key`, as 43 characters of base64url.
std::string sign(std::string_view key, std::string_view message);

// `count` random bytes from the system's generator, as base64url.
std::string random_token(std::size_t count);

std::string base64url_encode(std::span<const std::uint8_t> bytes);

// True when `a` and `b` are equal, in time that depends on their lengths only.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace mirror::http
